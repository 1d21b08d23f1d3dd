import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { saveLog } from '../../src/api/reports.js';
import { runSpec } from '../../src/api/run-spec.js';
import { commandStep, workflowSpec } from '../helpers/step-factory.js';
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

describe('runSpec reports', () => {
  it('a report that cannot be written is an error in the result, never a lost run: the others are written', async () => {
    const runDir = path.join(dir, 'run');
    // rename() cannot put summary.json in place of a folder: the JSON report fails, as on a full disk.
    await mkdir(path.join(runDir, 'summary.json'), { recursive: true });
    const result = await runSpec(workflowSpec([commandStep('echo hi', { id: 'a' })]), {
      outputDir: dir,
      resume: { runId: 'run-1', runDir, previous: {} },
    });
    expect(result.summary.status).toBe('succeeded');
    expect(result.summary.steps[0]).toMatchObject({ id: 'a', status: 'succeeded', stdoutTail: 'hi\n' });
    expect(result.reportErrors).toHaveLength(1);
    expect(result.reportErrors[0]).toMatch(new RegExp(`^could not write the json report in ${runDir}: `));
    expect(result.reports.map((file) => path.basename(file)).sort()).toEqual(['junit.xml', 'summary.md']);
    expect(await readdir(runDir)).toEqual(expect.arrayContaining(['junit.xml', 'summary.md']));
  });
});
