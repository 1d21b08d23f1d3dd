import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildFolderWorkflow, type FolderRunSettings } from '../folder/folder-workflow.js';
import { extractDescription, renderScriptDocumentation } from '../reporters/script-docs.js';
import type { ScriptDocEntry } from '../reporters/script-docs.js';
import { runScripts } from './run-scripts.js';

export interface ScriptDocumentationOptions extends FolderRunSettings {
  /**
   * Also run each script (not skipped by config) with `--help` and include its output. Off by
   * default: a script that does not handle `--help` runs for real (a deploy script deploys).
   * `concurrency` sets how many run at once.
   * @default false
   */
  runHelp?: boolean;
  /** With `runHelp`: milliseconds each `--help` may take. @default 5000 */
  helpTimeout?: number;
  title?: string;
}

/**
 * Writes Markdown documentation of a folder's scripts: each script's header docstring or comment
 * (and, with `runHelp`, its `--help` output), grouped by folder, with a contents list. Without
 * `runHelp` nothing is run; scripts skipped by config are never run. Returns the Markdown; writes
 * it to `outputFile` when given.
 * camelCase twin of the Python `generate_script_documentation(scripts_dir, output_file)`.
 * @see docs/reports.md
 */
export async function generateScriptDocumentation(
  scriptsDir: string,
  outputFile?: string,
  options: ScriptDocumentationOptions = {},
): Promise<string> {
  const plan = await buildFolderWorkflow(scriptsDir, options);
  const helpById = new Map<string, { help?: string; helpError?: string }>();
  if (options.runHelp === true) {
    const runnable = plan.scripts.filter((_, i) => !plan.spec.steps[i]?.skip);
    const summary = await runScripts(runnable, {
      args: ['--help'],
      timeout: options.helpTimeout ?? 5000,
      killGrace: 500,
      projectRoot: plan.config.projectRoot,
      concurrency: plan.spec.concurrency,
    });
    for (const step of summary.steps) {
      const text = (step.stdoutTail || step.stderrTail).trimEnd();
      if (step.status === 'succeeded') helpById.set(step.id, text ? { help: text } : {});
      else helpById.set(step.id, { helpError: `--help ${step.message ?? step.status}` });
    }
  }
  const entries: ScriptDocEntry[] = await Promise.all(
    plan.scripts.map(async (script) => {
      const source = await readFile(script.path, 'utf8').catch(() => '');
      const description = extractDescription(source, script.kind);
      const step = plan.spec.steps.find((s) => s.id === script.relativePath);
      return {
        relativePath: script.relativePath,
        group: script.group,
        kind: script.kind,
        ...(description ? { description } : {}),
        ...(step?.skip ? { helpError: `skipped by config: ${step.skip.reason}` } : {}),
        ...helpById.get(script.relativePath),
      };
    }),
  );
  const markdown = renderScriptDocumentation(entries, {
    title: options.title ?? `Scripts in ${path.basename(path.resolve(scriptsDir))}`,
  });
  if (outputFile) await writeFile(outputFile, markdown);
  return markdown;
}
