import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeFailure } from '../core/failure.js';
import type { FunctionStep, ModuleStep } from '../core/spec.js';
import { FunctionExecutor } from './function-executor.js';
import { attemptWithoutProcess, type AttemptResult, type ExecutionContext, type StepExecutor } from './step-executor.js';
import { dynamicImport } from '../util/dynamic-import.js';

type Loaded = (...args: unknown[]) => unknown;

/**
 * Module function steps: in a child process by default (through the process executor), or
 * `inline` in this process, through the function executor, with the module imported once.
 */
export class ModuleExecutor implements StepExecutor<ModuleStep> {
  readonly #processes: StepExecutor<ModuleStep>;
  readonly #functions: FunctionExecutor;
  readonly #loaded = new Map<string, Promise<Loaded>>();
  /** Modules imported once: in memory from then on, whatever becomes of their files. */
  readonly #imported = new Set<string>();

  constructor(processes: StepExecutor<ModuleStep>, functions = new FunctionExecutor()) {
    this.#processes = processes;
    this.#functions = functions;
  }

  flush(runId?: string): Promise<string[]> {
    return this.#processes.flush?.(runId) ?? Promise.resolve([]);
  }

  async execute(step: ModuleStep, context: ExecutionContext): Promise<AttemptResult> {
    if (step.isolation !== 'inline') return this.#processes.execute(step, context);
    // A missing file fails as a missing script does, not as a function that threw (its import).
    // Once imported, the module is in memory (later steps use it, not the file): thousands of
    // steps calling one module do not stat it each time.
    if (!this.#imported.has(step.module) && !(await isFile(step.module))) {
      const message = describeFailure({ reason: 'script-missing', detail: `module ${step.module} does not exist` });
      return attemptWithoutProcess({ status: 'failed', reason: 'script-missing', message, command: [step.module], startedAt: Date.now() });
    }
    let fn: Loaded;
    try {
      fn = await this.#load(step.module, step.export);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      fn = () => {
        throw failure;
      };
    }
    const args = step.args;
    const inline: FunctionStep = { ...step, kind: 'function', fn: (ctx) => fn(...args, ctx) };
    return this.#functions.execute(inline, context);
  }

  #load(module: string, exportName: string): Promise<Loaded> {
    const key = `${module}#${exportName}`;
    let loaded = this.#loaded.get(key);
    if (!loaded) {
      loaded = importModule(module).then((mod) => {
        this.#imported.add(module);
        // Worded as the function runner of child-process module steps words it.
        if (!(exportName in mod)) {
          const names = Object.keys(mod).sort();
          const listed = names.length === 0 ? 'it has none' : `its exports: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''}`;
          throw new TypeError(`${module} has no ${exportName === 'default' ? 'default export' : `export "${exportName}"`} (${listed})`);
        }
        const fn = exportName === 'default' ? (mod.default ?? mod) : mod[exportName];
        if (typeof fn !== 'function') throw new TypeError(`export "${exportName}" of ${module} is not a function (it is ${fn === null ? 'null' : typeof fn})`);
        return fn as Loaded;
      });
      // A failed import is not remembered: the file may be fixed before the next attempt.
      loaded.catch(() => this.#loaded.delete(key));
      this.#loaded.set(key, loaded);
    }
    return loaded;
  }
}

async function importModule(module: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(module).href;
  if (/\.[cm]?ts$/.test(path.extname(module))) {
    const { tsImport } = await dynamicImport<typeof import('tsx/esm/api')>('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  }
  return await dynamicImport(url);
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (info) => info.isFile(),
    () => false,
  );
}
