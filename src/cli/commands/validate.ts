import { colorsFor } from '../colors.js';
import path from 'node:path';
import { EXIT_CODES } from '../../bridges/exit-code.js';
import { formatDiagnostic } from '../../config/format-diagnostic.js';
import type { CliIo } from '../types.js';
import type { Diagnostic } from '../../config/types.js';
import { resolveTarget } from '../resolve-target.js';

export async function validateCommand(
  folderArg: string,
  flags: { projectRoot?: string; json?: boolean },
  io: CliIo,
): Promise<number> {
  const target = await resolveTarget(folderArg, io);
  if (!target) return EXIT_CODES.usage;
  const folder = target.path;
  const options = flags.projectRoot ? { projectRoot: path.resolve(flags.projectRoot) } : {};
  let diagnostics: Diagnostic[];
  if (target.kind === 'file') {
    // Not index.js: that loads zod and the yaml parser, which only files with problems need.
    const { validateWorkflowFile } = await import('../../workflow-file/load-workflow-file.js');
    diagnostics = await validateWorkflowFile(folder, options);
  } else {
    const { validateConfig } = await import('../../config/validate-config.js');
    diagnostics = await validateConfig(folder, options);
  }
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (flags.json) {
    io.stdout.write(`${JSON.stringify({ valid: errors.length === 0, diagnostics }, null, 2)}\n`);
  } else if (diagnostics.length === 0) {
    io.stdout.write(`${colorsFor(io.stdout, io).green('ok')}: ${target.kind === 'file' ? folder : `the config of ${folder}`} is valid\n`);
  } else {
    for (const d of diagnostics) io.stderr.write(`${formatDiagnostic(d)}\n`);
    io.stderr.write(`${errors.length} error(s), ${diagnostics.length - errors.length} warning(s)\n`);
  }
  return errors.length > 0 ? EXIT_CODES.usage : EXIT_CODES.ok;
}
