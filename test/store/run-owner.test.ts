import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readProc } from '../../src/execution/proc-tree.js';
import { SqliteRunStore, StoreError } from '../../src/store/index.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';
import { killChild, startChild, waitForLine, type Child } from './helpers/child.js';
import { runEvents, runInfo } from './helpers/events.js';

/** The pid of a process that has exited (and been reaped): an owner that is gone. */
function deadPid(): number {
  const pid = spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();
  return Number(pid);
}

const ownStartTime = readProc(process.pid)?.startTime ?? null;

describe('run owners', () => {
  let dir: string;
  const stores: SqliteRunStore[] = [];
  const children: Child[] = [];
  function open(options: { busyTimeoutMs?: number } = {}): SqliteRunStore {
    const store = new SqliteRunStore({ stateDir: dir, ...options, onError: () => undefined });
    stores.push(store);
    return store;
  }
  beforeEach(async () => {
    dir = await makeTmpDir('orch-owner-');
  });
  afterEach(async () => {
    for (const child of children.splice(0)) killChild(child);
    for (const store of stores.splice(0)) {
      try {
        store.close();
      } catch {
        // a store a test left with a failed write
      }
    }
    await removeTmpDir(dir);
  });

  it('makes the process that records a run the owner when nothing called beginRun', async () => {
    const store = open();
    for (const event of runEvents('bare', [{ id: 'a', status: 'succeeded' }]).slice(0, 2)) store.recordEvent(event);
    await store.flush();
    expect(store.getRun('bare')).toMatchObject({ status: 'running', pid: process.pid, host: hostname(), pidStartTime: ownStartTime });
  });

  it('makes the recording process the owner of a resumed run whose old owner is gone, and keeps a live one from beginRun', async () => {
    const store = open();
    const gone = deadPid();
    store.beginRun(runInfo('old', { pid: gone, pidStartTime: 1 }));
    expect(store.markInterrupted('old', 'gone')).toBe(true);
    // A library resume: the engine's run-started, recorded by a listener, without beginRun.
    store.recordEvent(runEvents('old', [{ id: 'a', status: 'succeeded' }])[0]!);
    await store.flush();
    expect(store.getRun('old')).toMatchObject({ status: 'running', pid: process.pid, pidStartTime: ownStartTime });

    // beginRun's own context (this process, its own start time) is kept when the events arrive.
    store.beginRun(runInfo('cli', { pidStartTime: 42 }));
    store.recordEvent(runEvents('cli', [{ id: 'a', status: 'succeeded' }])[0]!);
    await store.flush();
    expect(store.getRun('cli')).toMatchObject({ pid: process.pid, pidStartTime: 42 });
  });

  it('replays the end of a run that could not be committed: the run reads back as succeeded, not interrupted', () => {
    const store = open({ busyTimeoutMs: 20 });
    store.beginRun(runInfo('r', { pid: deadPid() }));
    const lock = new Database(path.join(dir, 'state.db'), { timeout: 20 });
    try {
      lock.exec('BEGIN IMMEDIATE');
      for (const event of runEvents('r', [{ id: 'a', status: 'succeeded' }, { id: 'b', status: 'succeeded' }])) store.recordEvent(event);
      expect(store.stats.queued, 'the run-finished write failed: everything is still queued').toBeGreaterThan(0);
      expect(() => store.close()).toThrow(StoreError);
    } finally {
      lock.exec('ROLLBACK');
      lock.close();
    }
    const next = open();
    expect(next.getRun('r')?.status, 'nothing of the run was committed').toBe('running');
    expect(next.markInterrupted('r', 'the orchestrator is gone')).toBe(false);
    expect(next.getRun('r')).toMatchObject({ status: 'succeeded', counts: { total: 2, succeeded: 2 }, reason: null });
    expect(next.getRun('r')?.finishedAt).not.toBeNull();
    expect(existsSync(path.join(dir, 'journal', 'r.jsonl'))).toBe(false);
  });

  it('claims a run for one process only: a second claim learns who has it; a gone owner can be taken over', async () => {
    const store = open();
    for (const event of runEvents('r', [{ id: 'a', status: 'failed' }])) store.recordEvent(event);
    const other = open();
    expect(store.claimRun('r')).toEqual({ claimed: true });
    expect(store.getRun('r')).toMatchObject({ status: 'running', pid: process.pid, host: hostname(), finishedAt: null });
    expect(other.claimRun('r')).toEqual({ claimed: false, pid: process.pid, pidStartTime: ownStartTime, host: hostname() });

    // An owner that is gone is taken over (its running attempts become interrupted).
    const gone = { pid: deadPid(), pidStartTime: 1, host: hostname() };
    for (const event of runEvents('crashed', [{ id: 'a', status: 'succeeded' }]).slice(0, 2)) store.recordEvent(event);
    await store.flush();
    // As if the process that recorded it so far were that one.
    store.beginRun(runInfo('crashed', { pid: gone.pid, pidStartTime: gone.pidStartTime }));
    expect(other.claimRun('crashed')).toEqual({ claimed: true });
    expect(other.getSteps('crashed').map((s) => s.status)).toEqual(['interrupted']);
    expect(() => other.claimRun('nope')).toThrow(TypeError);
  });

  it('gives a run claimed by two processes at once to exactly one of them', async () => {
    const store = open();
    for (const event of runEvents('r', [{ id: 'a', status: 'failed' }])) store.recordEvent(event);
    store.close();
    const pair = [startChild([dir, 'r', 'claim']), startChild([dir, 'r', 'claim'])];
    children.push(...pair);
    await Promise.all(pair.map((child) => waitForLine(child, 'ready')));
    for (const child of pair) child.process.stdin.write('go\n');
    const claims = await Promise.all(pair.map(async (child) => JSON.parse(await waitForLine(child, /^\{/)) as { claimed: boolean; pid?: number }));
    for (const child of pair) child.process.stdin.write('exit\n');
    expect(await Promise.all(pair.map((child) => child.exit))).toEqual([0, 0]);

    expect(claims.filter((c) => c.claimed), JSON.stringify(claims)).toHaveLength(1);
    const winner = pair[claims.findIndex((c) => c.claimed)]!;
    expect(claims.find((c) => !c.claimed)?.pid, 'the loser is told who has the run').toBe(winner.process.pid);
  });
});
