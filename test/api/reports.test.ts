import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { saveLog } from '../../src/api/reports.js';
import { makeStep } from '../reporters/summary-factory.js';

let dir: string;
beforeEach(async () => {
  dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'orchestrator-reports-')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('saveLog', () => {
  it('writes <outputDir>/<runId>/logs/<id>.log for an ordinary id', async () => {
    const file = await saveLog(makeStep({ id: 'build', stdoutTail: 'hello' }), path.join(dir, 'out'), 'run-1');
    expect(file).toBe(path.join(dir, 'out', 'run-1', 'logs', 'build.log'));
    expect(await readFile(file, 'utf8')).toContain('hello');
  });

  it('keeps ids and run ids that would leave the logs folder inside it', async () => {
    const out = path.join(dir, 'a', 'b', 'out');
    const logs = path.join(out, 'run-1', 'logs');
    for (const id of ['test (path=../../../../escaped)', '../../../../escaped', '..']) {
      const file = await saveLog(makeStep({ id }), out, 'run-1');
      expect(path.dirname(file)).toBe(logs);
      expect(existsSync(file)).toBe(true);
    }
    const other = await saveLog(makeStep({ id: 'x' }), out, '../../escaped-run');
    expect(path.dirname(path.dirname(path.dirname(other)))).toBe(out);
    expect(await readdir(path.join(dir, 'a'))).toEqual(['b']);
    expect(existsSync(path.join(dir, 'escaped.log'))).toBe(false);
  });
});
