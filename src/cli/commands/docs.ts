import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateScriptDocumentation } from '../../api/script-documentation.js';
import { EXIT_CODES } from '../../bridges/exit-code.js';
import type { CliIo, RunFlags } from '../types.js';
import { checkSubdirs } from '../check-subdirs.js';
import { assertFolder, settingsFromFlags } from './run.js';

export async function docsCommand(
  folderArg: string,
  flags: RunFlags & { output?: string; helpTimeout?: number; runHelp?: boolean },
  io: CliIo,
): Promise<number> {
  const folder = await assertFolder(folderArg, io);
  if (!folder || !(await checkSubdirs(folder, flags.subdirs, io))) return EXIT_CODES.usage;
  const markdown = await generateScriptDocumentation(folder, undefined, {
    ...settingsFromFlags(flags),
    // Opt-in: a script that does not know --help just runs, and nothing runs code it was not asked to.
    runHelp: flags.runHelp === true,
    ...(flags.helpTimeout !== undefined ? { helpTimeout: flags.helpTimeout } : {}),
  });
  if (flags.output) {
    const file = path.resolve(io.cwd, flags.output);
    await writeFile(file, markdown);
    io.stderr.write(`Wrote ${path.relative(io.cwd, file) || file}\n`);
  } else {
    io.stdout.write(markdown);
  }
  return EXIT_CODES.ok;
}
