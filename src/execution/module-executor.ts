import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FunctionStep, ModuleStep } from '../core/spec.js';
import { FunctionExecutor } from './function-executor.js';
import type { AttemptResult, ExecutionContext, StepExecutor } from './step-executor.js';
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

  constructor(processes: StepExecutor<ModuleStep>, functions = new FunctionExecutor()) {
    this.#processes = processes;
    this.#functions = functions;
  }

  flush(): Promise<string[]> {
    return this.#processes.flush?.() ?? Promise.resolve([]);
  }

  async execute(step: ModuleStep, context: ExecutionContext): Promise<AttemptResult> {
    if (step.isolation !== 'inline') return this.#processes.execute(step, context);
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
        const fn = exportName === 'default' ? (mod.default ?? mod) : mod[exportName];
        if (typeof fn !== 'function') throw new TypeError(`export "${exportName}" of ${module} is not a function`);
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
