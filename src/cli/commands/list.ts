import { EXIT_CODES } from '../../bridges/exit-code.js';
import type { CliIo, RunFlags } from '../types.js';
import { resolveTarget } from '../resolve-target.js';
import { checkSubdirs } from '../check-subdirs.js';
import { printPlan } from './run.js';

/** `orchestrator list`: what `run` would do, for a folder of scripts or a workflow file (`run --dry-run`). */
export async function listCommand(targetArg: string, flags: RunFlags, io: CliIo): Promise<number> {
  const target = await resolveTarget(targetArg, io);
  if (!target) return EXIT_CODES.usage;
  if (target.kind === 'folder' && !(await checkSubdirs(target.path, flags.subdirs, io))) return EXIT_CODES.usage;
  await printPlan(target, flags, io);
  return EXIT_CODES.ok;
}
