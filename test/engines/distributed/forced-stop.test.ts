import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DistributedEngine } from '../../../src/engines/distributed/index.js';
import { isProcessAlive } from '../../helpers/processes.js';
import type { RedisServer } from '../../helpers/redis-server.js';
import { distributedRig, until } from './helpers/redis-per-test.js';
import { commandStep, workflowSpec } from '../../helpers/step-factory.js';

let server: RedisServer;
let dir: string;
const cleanups: (() => Promise<void>)[] = [];

const { engine, worker } = distributedRig((s, d) => {
  server = s;
  dir = d;
}, cleanups);
const waitFor = until;

function redis(...args: string[]): string {
  return execFileSync('redis-cli', ['-p', String(server.port), ...args], { encoding: 'utf8' }).trim();
}

/** A step that ignores SIGTERM (its children too) and writes its pid; only SIGKILL ends it. */
const STUBBORN = `trap '' TERM; echo $$ > pid; while :; do sleep 0.05; done`;

async function stepPid(): Promise<number> {
  await waitFor(() => existsSync(path.join(dir, 'pid')) && readFileSyncSafe(path.join(dir, 'pid')) !== '');
  return Number((await readFile(path.join(dir, 'pid'), 'utf8')).trim());
}

function readFileSyncSafe(file: string): string {
  try {
    return execFileSync('cat', [file], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

describe('distributed engine: forced stops and lost coordinators', () => {
  it('a second cancel kills the step tree on the worker at once (SIGKILL), not after its kill grace', async () => {
    await worker();
    const e = await engine();
    const handle = e.submit(workflowSpec([commandStep(STUBBORN, { id: 'stubborn', cwd: dir, killGrace: 60_000 })]), { projectRoot: dir });
    const pid = await stepPid();
    handle.cancel('once');
    handle.cancel('twice');
    await waitFor(() => !isProcessAlive(pid), 5000);
    const summary = await handle.result;
    expect(summary.steps[0]?.status).toBe('cancelled');
  });

  it('the run timeout after a cancel kills the cleanup step the cancel spared at once, not after its kill grace', async () => {
    await worker();
    const e = await engine();
    const cleanup = commandStep(STUBBORN, { id: 'cleanup', if: 'always()', cwd: dir, killGrace: 60_000, timeout: 0 });
    const handle = e.submit(workflowSpec([cleanup], { timeout: 3000 }), { projectRoot: dir });
    const pid = await stepPid();
    handle.cancel('once');
    // The cancel spares it (`always()`): it goes on until the run timeout forces the stop.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(isProcessAlive(pid)).toBe(true);
    await waitFor(() => !isProcessAlive(pid), 6000);
    const summary = await handle.result;
    expect(summary.steps[0]?.status).toBe('cancelled');
  });

  it('halt() on the run kills its step tree on the worker at once', async () => {
    await worker();
    const e = await engine();
    const handle = e.submit(workflowSpec([commandStep(STUBBORN, { id: 'stubborn', cwd: dir, killGrace: 60_000 })]), { projectRoot: dir });
    const pid = await stepPid();
    (handle as unknown as { halt(reason: string): void }).halt('halted');
    await waitFor(() => !isProcessAlive(pid), 5000);
    expect((await handle.result).steps[0]?.status).toBe('cancelled');
  });

  it('closing the engine kills what its runs hold on workers before it returns', async () => {
    await worker();
    const e = await DistributedEngine.connect({ redis: server.url, reconcileInterval: 300 });
    e.submit(workflowSpec([commandStep(STUBBORN, { id: 'stubborn', cwd: dir, killGrace: 60_000 })]), { projectRoot: dir });
    const pid = await stepPid();
    const started = Date.now();
    await e.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    await waitFor(() => !isProcessAlive(pid), 1000);
  });

  it('a worker that loses its job (Redis emptied under it) kills the running step at once', async () => {
    await worker({ lockDuration: 1000 });
    const e = await engine();
    void e.submit(workflowSpec([commandStep(STUBBORN, { id: 'stubborn', cwd: dir, killGrace: 60_000, timeout: 0 })]), { projectRoot: dir }).result;
    const pid = await stepPid();
    // As a restart without persistence does: the job and its lock are gone.
    redis('flushall');
    // (The coordinator finds the job gone and runs the step again: the two never run together.)
    await waitFor(() => !isProcessAlive(pid), 8000);
  });

  it('a worker does not run the queued jobs of a coordinator killed with SIGKILL', async () => {
    const main = fileURLToPath(new URL('./helpers/coordinator-main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), main, server.url, dir, '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => Promise.resolve(void child.kill('SIGKILL')));
    await waitFor(() => redis('llen', 'orch:steps:wait') === '3', 15_000);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // Its heartbeat runs out.
    await waitFor(() => redis('keys', 'orch:orchestrator:alive:*') === '', 15_000);
    await worker();
    await waitFor(() => redis('zcard', 'orch:steps:completed') === '3', 10_000);
    expect((await readdir(dir)).filter((n) => n.startsWith('ran-'))).toEqual([]);
  });
});
