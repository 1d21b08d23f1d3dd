import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `content` to `<dir>/<fileName>` and returns that path. The file is written under a
 * temporary name and renamed, so a reader (a CI step, the dashboard) never sees half a report.
 */
export async function writeReportFile(dir: string, fileName: string, content: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = path.join(dir, fileName);
  const temporary = path.join(dir, `.${fileName}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(temporary, content, 'utf8');
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return target;
}
