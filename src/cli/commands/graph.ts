import path from 'node:path';
import { EXIT_CODES } from '../../bridges/exit-code.js';
import { folderToWorkflow } from '../../folder/folder-workflow.js';
import { renderGraph, type GraphFormat } from '../../reporters/graph.js';
import type { CliIo } from '../types.js';
import { resolveTarget } from '../resolve-target.js';
import { formatDiagnostic } from '../../config/format-diagnostic.js';

/** `orchestrator graph workflow.yaml --format mermaid|dot|json`: order, levels, critical path. */
export async function graphCommand(
  targetArg: string,
  flags: { format?: GraphFormat; projectRoot?: string },
  io: CliIo,
): Promise<number> {
  const target = await resolveTarget(targetArg, io);
  if (!target) return EXIT_CODES.usage;
  let steps;
  if (target.kind === 'file') {
    // Not index.js, which loads zod and the yaml parser even for files that need neither.
    const { loadWorkflowFileWithWarnings } = await import('../../workflow-file/load-workflow-file.js');
    const loaded = await loadWorkflowFileWithWarnings(target.path, flags.projectRoot ? { projectRoot: path.resolve(io.cwd, flags.projectRoot) } : {});
    // As `validate` prints them; they never change the exit code.
    for (const warning of loaded.warnings) io.stderr.write(`${formatDiagnostic(warning)}\n`);
    steps = loaded.spec.steps;
  } else {
    steps = (await folderToWorkflow(target.path, flags.projectRoot ? { projectRoot: path.resolve(io.cwd, flags.projectRoot) } : {})).spec.steps;
  }
  const text = renderGraph(steps, flags.format ?? 'mermaid');
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return EXIT_CODES.ok;
}
