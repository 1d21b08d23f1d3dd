import { EXIT_CODES } from '../../bridges/exit-code.js';
import { folderToWorkflow } from '../../folder/folder-workflow.js';
import type { CliIo, RunFlags } from '../types.js';
import { planJson, renderPlan } from '../plan-view.js';
import { useColor } from '../colors.js';
import { assertFolder, settingsFromFlags } from './run.js';

export async function listCommand(folderArg: string, flags: RunFlags, io: CliIo): Promise<number> {
  const folder = await assertFolder(folderArg, io);
  if (!folder) return EXIT_CODES.usage;
  const plan = await folderToWorkflow(folder, settingsFromFlags(flags));
  if (flags.json) io.stdout.write(`${JSON.stringify(planJson(plan), null, 2)}\n`);
  else io.stdout.write(renderPlan(plan, useColor(io.stdout, io.env, flags.color)));
  return EXIT_CODES.ok;
}
