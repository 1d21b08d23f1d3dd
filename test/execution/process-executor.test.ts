import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InterpreterResolver } from '../../src/execution/interpreter.js';
import { ProcessExecutor } from '../../src/execution/process-executor.js';
import type { ExecutionContext } from '../../src/execution/step-executor.js';
import { commandStep } from '../helpers/step-factory.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-executor-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function context(logPath: string, attempt: number): ExecutionContext {
  return {
    runId: 'r',
    attempt,
    signal: new AbortController().signal,
    onAbort: () => () => undefined,
    abortCause: undefined,
    baseEnv: process.env,
    logPath,
    resolver: new InterpreterResolver({ projectRoot: dir }),
    scratchDir: path.join(dir, 'scratch'),
    needs: {},
  };
}

describe('ProcessExecutor logs', () => {
  // Small logs are appended synchronously; after one slow append (here: any, with a 0 ms limit)
  // the rest go through the thread pool. Both ways, every attempt lands whole and in order.
  it.each([
    ['synchronous appends', 60_000],
    ['thread-pool appends after the first', 0],
  ])('%s: one section per attempt, in order, complete once flush() resolves', async (_name, slowLogWriteMs) => {
    const executor = new ProcessExecutor({ slowLogWriteMs });
    const logPath = path.join(dir, 'logs', 'x.log');
    const step = commandStep('echo "out $ORCHESTRATOR_ATTEMPT"; echo "err $ORCHESTRATOR_ATTEMPT" >&2', { id: 'x', cwd: dir });
    for (let attempt = 1; attempt <= 4; attempt++) {
      const result = await executor.execute(step, context(logPath, attempt));
      expect(result.status).toBe('succeeded');
    }
    expect(await executor.flush()).toEqual([]);
    const log = await readFile(logPath, 'utf8');
    const positions = [1, 2, 3, 4].map((n) => log.indexOf(`x · attempt ${n}\n`));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    for (const n of [1, 2, 3, 4]) {
      const section = log.slice(positions[n - 1], positions[n] ?? undefined);
      expect(section).toContain(`STDOUT (6 bytes)\n${'='.repeat(60)}\nout ${n}\n`);
      expect(section).toContain(`err ${n}\n`);
    }
  });

  it('reports a log that cannot be written, and the step still succeeds', async () => {
    const executor = new ProcessExecutor();
    const logPath = path.join(dir, 'logs', 'x.log');
    await mkdir(logPath, { recursive: true }); // a folder where the log file should be
    const result = await executor.execute(commandStep('true', { id: 'x', cwd: dir }), context(logPath, 1));
    expect(result.status).toBe('succeeded');
    const problems = await executor.flush();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${logPath}: .*EISDIR`));
  });
});
