import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { newRunId } from '../util/run-id.js';

/**
 * Creates `<outputDir>/<runId>` and returns both. The folder is created exclusively, so two runs
 * started in the same millisecond can never share one: the loser draws a new id.
 */
export async function createRunDir(outputDir: string, runId?: string): Promise<{ runId: string; runDir: string }> {
  await mkdir(outputDir, { recursive: true });
  for (let attempt = 0; ; attempt += 1) {
    const id = attempt === 0 && runId ? runId : newRunId();
    const runDir = path.join(outputDir, id);
    try {
      await mkdir(runDir);
      return { runId: id, runDir };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 20) throw error;
    }
  }
}
