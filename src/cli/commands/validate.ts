import { colorsFor } from '../colors.js';
import path from 'node:path';
import { EXIT_CODES } from '../../bridges/exit-code.js';
import { formatDiagnostic } from '../../config/format-diagnostic.js';
import type { CliIo } from '../types.js';
import type { Diagnostic } from '../../config/types.js';
import { resolveTarget } from '../resolve-target.js';
import { checkSubdirs } from '../check-subdirs.js';

export async function validateCommand(
  folderArg: string,
  flags: { projectRoot?: string; json?: boolean; maxDepth?: number; subdirs?: string[]; filter?: string[]; exclude?: string[] },
  io: CliIo,
): Promise<number> {
  const target = await resolveTarget(folderArg, io);
  if (!target) return EXIT_CODES.usage;
  if (target.kind === 'folder' && !(await checkSubdirs(target.path, flags.subdirs, io))) return EXIT_CODES.usage;
  const folder = target.path;
  const options = flags.projectRoot ? { projectRoot: path.resolve(flags.projectRoot) } : {};
  let diagnostics: Diagnostic[];
  // Unset for a workflow file: the config files read for a folder, to say which were checked.
  let configFiles: string[] | undefined;
  let projectRoot = '';
  if (target.kind === 'file') {
    // Not index.js: that loads zod and the yaml parser, which only files with problems need.
    const { validateWorkflowFile } = await import('../../workflow-file/load-workflow-file.js');
    diagnostics = await validateWorkflowFile(folder, options);
  } else {
    // The same walk as a run with the same flags: config files in the subfolders it would search are
    // checked too, and those that apply to no script it would keep are judged as the run judges them.
    const { scanFolder } = await import('../../folder/scan-folder.js');
    const scan = await scanFolder(folder, {
      ...options,
      ...(flags.maxDepth !== undefined ? { maxDepth: flags.maxDepth } : {}),
      ...(flags.subdirs ? { subdirs: flags.subdirs } : {}),
      ...(flags.filter ? { include: flags.filter } : {}),
      ...(flags.exclude ? { exclude: flags.exclude } : {}),
    });
    diagnostics = scan.diagnostics;
    projectRoot = scan.projectRoot;
    configFiles = [...new Set([...scan.files.map((f) => f.path), ...diagnostics.map((d) => d.file)])];
  }
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const shown = (file: string): string => {
    const relative = path.relative(io.cwd, file);
    return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
  };
  if (flags.json) {
    io.stdout.write(`${JSON.stringify({ valid: errors.length === 0, ...(configFiles ? { files: configFiles } : {}), diagnostics }, null, 2)}\n`);
  } else if (configFiles?.length === 0) {
    // Not "ok ... is valid": a config file that was meant to be read but was not (misnamed, or
    // above the project root) would pass for a checked one.
    io.stdout.write(`no config files found for ${folder} (in it, the subfolders a run searches, or its parents up to ${projectRoot})\n`);
  } else if (diagnostics.length === 0) {
    const which = configFiles ? ` (${configFiles.length} file${configFiles.length === 1 ? '' : 's'}: ${configFiles.map(shown).join(', ')})` : '';
    io.stdout.write(`${colorsFor(io.stdout, io).green('ok')}: ${target.kind === 'file' ? folder : `the config of ${folder}`} is valid${which}\n`);
  } else {
    for (const d of diagnostics) io.stderr.write(`${formatDiagnostic(d)}\n`);
    io.stderr.write(`${errors.length} error(s), ${diagnostics.length - errors.length} warning(s)\n`);
  }
  return errors.length > 0 ? EXIT_CODES.usage : EXIT_CODES.ok;
}
