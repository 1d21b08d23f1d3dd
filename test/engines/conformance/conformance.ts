/**
 * One set of workflow behaviour tests that every engine must pass. Only process steps (command,
 * script, module, python, sub-workflow): the distributed engine cannot ship in-process functions.
 * Steps are ordered by signals (files a step waits for, or the test writes from an event), never
 * by sleeping.
 */
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent, RunEventOf, RunEventType } from '../../../src/core/events.js';
import { OUTPUT_LIMITS } from '../../../src/core/outputs.js';
import type { RunSummary, StepResult } from '../../../src/core/result.js';
import type { CommandStep, ModuleStep, PythonStep, ScriptStep, StepSpec, SubWorkflowStep, WorkflowSpec } from '../../../src/core/spec.js';
import type { Engine, RunHandle, SubmitOptions } from '../../../src/engines/engine.js';
import { loadWorkflowFile } from '../../../src/workflow-file/index.js';
import { isProcessAlive, livePidsWithEnv, readPidFile, waitFor } from '../../helpers/processes.js';
import { commandStep, retryPolicy, scriptStep, workflowSpec } from '../../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../../helpers/tmp-dir.js';

/** Absolute path of `test/fixtures/conformance/`. */
export const CONFORMANCE_FIXTURES = fileURLToPath(new URL('../../fixtures/conformance/', import.meta.url));

export interface ConformanceTarget {
  engine: Engine;
  teardown(): Promise<void>;
}

export interface ConformanceOptions {
  /**
   * An environment variable every step process must see, set by whatever runs it (a worker's id
   * for remote engines): proves steps really run there and not in the test process.
   */
  stepEnv?: string;
}

const fx = (name: string): string => path.join(CONFORMANCE_FIXTURES, name);
const WAIT_FOR_FILE = fx('wait-for-file.sh');
const PY_FUNCTIONS = fx('pyfns');
/** Paths travel through `sh -c`: quote them. */
const q = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** A `/bin/sh -c` step run from the conformance fixtures folder. */
function sh(id: string, command: string, overrides: Partial<CommandStep> = {}): CommandStep {
  return commandStep(command, { cwd: CONFORMANCE_FIXTURES, ...overrides, id });
}

/** Common step fields without the command step's own. */
function base(id: string, overrides: Partial<CommandStep> = {}): Omit<CommandStep, 'kind' | 'command'> {
  const { kind: _kind, command: _command, ...common } = sh(id, 'true', overrides);
  return common;
}

function moduleStep(id: string, exportName: string, args: unknown[], overrides: Partial<CommandStep> = {}): ModuleStep {
  return { ...base(id, overrides), kind: 'module', module: fx('fns.mjs'), export: exportName, args };
}

function pythonStep(id: string, target: string, args: unknown[], kwargs: Record<string, unknown> = {}): PythonStep {
  return { ...base(id), kind: 'python', target, args, kwargs, pythonPath: [PY_FUNCTIONS] };
}

function subWorkflowStep(id: string, workflow: WorkflowSpec, overrides: Partial<CommandStep> = {}): SubWorkflowStep {
  return { ...base(id, overrides), kind: 'workflow', workflow };
}

function byId(summary: RunSummary, id: string): StepResult {
  const step = summary.steps.find((s) => s.id === id);
  if (!step) throw new Error(`no step ${id} in ${summary.steps.map((s) => s.id).join(', ')}`);
  return step;
}

function ofType<T extends RunEventType>(events: RunEvent[], type: T): RunEventOf<T>[] {
  return events.filter((e): e is RunEventOf<T> => e.type === type);
}

function starts(events: RunEvent[]): string[] {
  return ofType(events, 'step-started').map((e) => e.stepId);
}

/** Index of the first event matching `type` and `stepId`, failing the test when there is none. */
function indexOf(events: RunEvent[], type: 'step-started' | 'step-finished', stepId: string): number {
  const index = events.findIndex((e) => e.type === type && e.stepId === stepId);
  if (index < 0) throw new Error(`no ${type} event for ${stepId}`);
  return index;
}

/** Resolves once `pid` is gone (killing is asynchronous); rejects after `timeoutMs`. */
async function expectDead(pid: number, timeoutMs = 3000): Promise<void> {
  await waitFor(`process ${pid} to exit`, () => (isProcessAlive(pid) ? undefined : true), timeoutMs);
  expect(isProcessAlive(pid)).toBe(false);
}

/**
 * No process of the run is left: none carries its `ORCHESTRATOR_RUN_ID` (every step process and
 * its children inherit it, on a worker too). Polls, since killing is asynchronous.
 */
async function expectNoProcessesOf(runId: string, timeoutMs = 3000): Promise<void> {
  await waitFor(`the processes of run ${runId} to exit`, () => (livePidsWithEnv('ORCHESTRATOR_RUN_ID', runId).length === 0 ? true : undefined), timeoutMs).catch(() => undefined);
  expect(livePidsWithEnv('ORCHESTRATOR_RUN_ID', runId), `processes of run ${runId} still alive`).toEqual([]);
}

/**
 * The pid a step wrote to `file`, or undefined when it was killed before it could write it (a
 * short timeout on a loaded machine); the run-wide check above still covers that case.
 */
function writtenPid(file: string): Promise<number | undefined> {
  return readPidFile(file, 500).catch(() => undefined);
}

/** A step that starts `sleep 5` in the background, writes its pid to `pidFile`, and waits for it. */
function sleeper(id: string, pidFile: string, overrides: Partial<CommandStep> = {}): CommandStep {
  return sh(id, `sleep 5 & echo $! > ${q(pidFile)}; wait`, { killGrace: 200, ...overrides });
}

export function defineConformance(name: string, setup: () => Promise<ConformanceTarget>, options: ConformanceOptions = {}): void {
  describe(`engine conformance: ${name}`, () => {
    let target: ConformanceTarget | undefined;
    let dir: string;

    beforeAll(async () => {
      target = await setup();
    });
    afterAll(async () => {
      await target?.teardown();
      target = undefined;
    });
    beforeEach(async () => {
      dir = await makeTmpDir('orch-conformance-');
    });
    afterEach(async () => {
      await removeTmpDir(dir);
    });

    const engine = (): Engine => {
      if (!target) throw new Error(`the ${name} engine did not start`);
      return target.engine;
    };

    /** Submits with `projectRoot: '/'` (paths ship relative to it) and records every event. */
    function submit(spec: WorkflowSpec, options: SubmitOptions = {}): { handle: RunHandle; events: RunEvent[] } {
      const events: RunEvent[] = [];
      const onEvent = options.onEvent;
      const handle = engine().submit(spec, {
        projectRoot: '/',
        ...options,
        onEvent: (event) => {
          events.push(event);
          onEvent?.(event);
        },
      });
      return { handle, events };
    }

    async function run(spec: WorkflowSpec, options: SubmitOptions = {}): Promise<{ summary: RunSummary; events: RunEvent[] }> {
      const { handle, events } = submit(spec, options);
      const summary = await handle.result;
      return { summary, events };
    }

    const file = (name: string): string => path.join(dir, name);
    const lines = async (name: string): Promise<string[]> => (await readFile(file(name), 'utf8')).split('\n').filter(Boolean);

    const { stepEnv } = options;
    it.skipIf(stepEnv === undefined)(`0. steps run where the engine runs them (each sees $${stepEnv ?? '-'})`, async () => {
      const name = stepEnv as string;
      const { summary } = await run(
        workflowSpec([sh('cmd', `echo "where=$${name}" >> "$ORCHESTRATOR_OUTPUT"`)]),
      );
      expect(process.env[name], `the test process itself must not have $${name}`).toBeUndefined();
      expect(byId(summary, 'cmd').outputs.where).toMatch(/\S/);
    });

    describe('order, outputs and skipping', () => {
      it('1. runs a chain in dependency order and passes outputs along', async () => {
        const { summary, events } = await run(
          workflowSpec(
            [
              sh('c', 'echo "n=$((ORCHESTRATOR_OUTPUT_B_N * 10))" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['b'] }),
              sh('a', 'echo n=1 >> "$ORCHESTRATOR_OUTPUT"'),
              sh('b', 'echo "n=$(( ${{ steps.a.outputs.n }} + 1 ))" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['a'] }),
            ],
            { concurrency: 4 },
          ),
        );
        expect(starts(events)).toEqual(['a', 'b', 'c']);
        expect(byId(summary, 'a').outputs).toEqual({ n: '1' });
        expect(byId(summary, 'b').outputs).toEqual({ n: '2' });
        expect(byId(summary, 'c').outputs).toEqual({ n: '20' });
        expect(summary.status).toBe('succeeded');
        expect(summary.counts).toMatchObject({ total: 3, succeeded: 3 });
      });

      it('2. runs a diamond: the join waits for both branches and sees both outputs', async () => {
        const { summary, events } = await run(
          workflowSpec(
            [
              sh('top', 'echo v=x >> "$ORCHESTRATOR_OUTPUT"'),
              sh('left', 'echo "v=${{ steps.top.outputs.v }}L" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['top'] }),
              sh('right', 'echo "v=${ORCHESTRATOR_OUTPUT_TOP_V}R" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['top'] }),
              sh('join', 'echo "v=$ORCHESTRATOR_OUTPUT_LEFT_V+${{ steps.right.outputs.v }}" >> "$ORCHESTRATOR_OUTPUT"', {
                needs: ['left', 'right'],
              }),
            ],
            { concurrency: 4 },
          ),
        );
        const order = starts(events);
        expect(order[0]).toBe('top');
        expect(order.slice(1, 3).sort()).toEqual(['left', 'right']);
        expect(order[3]).toBe('join');
        expect(indexOf(events, 'step-started', 'join')).toBeGreaterThan(indexOf(events, 'step-finished', 'left'));
        expect(indexOf(events, 'step-started', 'join')).toBeGreaterThan(indexOf(events, 'step-finished', 'right'));
        expect(byId(summary, 'join').outputs).toEqual({ v: 'xL+xR' });
        expect(summary.status).toBe('succeeded');
      });

      it('3. starts a step as soon as its own needs are done, not when a whole wave is', async () => {
        // slow waits for a signal that after-fast sends; with waves, after-fast would wait for slow.
        const signal = file('signal');
        const order = file('order');
        const { summary } = await run(
          workflowSpec(
            [
              sh('slow', `sh ${q(WAIT_FOR_FILE)} ${q(signal)} 10 && echo slow >> ${q(order)}`),
              sh('fast', `echo fast >> ${q(order)}`),
              sh('after-fast', `echo after-fast >> ${q(order)} && touch ${q(signal)}`, { needs: ['fast'] }),
            ],
            { concurrency: 4 },
          ),
        );
        expect(byId(summary, 'slow').status).toBe('succeeded');
        expect(await lines('order')).toEqual(['fast', 'after-fast', 'slow']);
        expect(summary.status).toBe('succeeded');
      });

      it('4. with continue, a failed step skips its dependents transitively with a reason and the counts add up', async () => {
        const { summary } = await run(
          workflowSpec(
            [
              sh('a', 'echo broken >&2; exit 3'),
              sh('b', `touch ${q(file('b-ran'))}`, { needs: ['a'] }),
              sh('c', `touch ${q(file('c-ran'))}`, { needs: ['b'] }),
              sh('other', 'exit 0'),
            ],
            { failurePolicy: 'continue' },
          ),
        );
        expect(byId(summary, 'a')).toMatchObject({ status: 'failed', reason: 'exit-non-zero', exitCode: 3 });
        expect(byId(summary, 'a').stderrTail).toContain('broken');
        expect(byId(summary, 'b')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
        expect(byId(summary, 'b').message).toContain('a failed');
        expect(byId(summary, 'c')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
        expect(byId(summary, 'other').status).toBe('succeeded');
        expect(summary.counts).toMatchObject({ total: 4, succeeded: 1, failed: 1, skipped: 2, pending: 0, running: 0 });
        expect(summary.status).toBe('failed');
        expect(existsSync(file('b-ran')) || existsSync(file('c-ran'))).toBe(false);
      });

      it("5. a step skipped by a false `if` skips its dependents, and the run finishes", async () => {
        const { summary } = await run(
          workflowSpec([
            sh('gate', `touch ${q(file('gate-ran'))}`, { if: "env.DEPLOY == 'yes'", env: { DEPLOY: 'no' } }),
            sh('deploy', `touch ${q(file('deploy-ran'))}`, { needs: ['gate'] }),
            sh('verify', `touch ${q(file('verify-ran'))}`, { needs: ['deploy'] }),
          ]),
        );
        expect(byId(summary, 'gate')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
        expect(byId(summary, 'deploy')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
        expect(byId(summary, 'verify')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
        expect(summary.counts).toMatchObject({ total: 3, skipped: 3, pending: 0, running: 0 });
        expect(summary.status).toBe('succeeded');
        expect(await readdir(dir)).toEqual([]);
      });

      it('6a. always() and failure() steps run after a failure, success() ones do not', async () => {
        const { summary } = await run(
          workflowSpec(
            [
              sh('build', 'exit 3'),
              sh('deploy', `touch ${q(file('deployed'))}`, { needs: ['build'], if: 'success()' }),
              sh('cleanup', 'echo done=cleaned >> "$ORCHESTRATOR_OUTPUT"', { needs: ['build'], if: 'always()' }),
              sh('alert', 'echo "status=${{ needs.build.status }}" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['build'], if: 'failure()' }),
            ],
            { failurePolicy: 'no-new' },
          ),
        );
        expect(byId(summary, 'build').status).toBe('failed');
        expect(byId(summary, 'deploy')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
        expect(existsSync(file('deployed'))).toBe(false);
        expect(byId(summary, 'cleanup')).toMatchObject({ status: 'succeeded', outputs: { done: 'cleaned' } });
        expect(byId(summary, 'alert')).toMatchObject({ status: 'succeeded', outputs: { status: 'failed' } });
        expect(summary.status).toBe('failed');
      });

      it('6c. with failure policy kill, the running sibling is killed and always()/failure() steps still run', async () => {
        const pidFile = file('sibling.pid');
        const { summary } = await run(
          workflowSpec(
            [
              sleeper('sibling', pidFile),
              sh('build', `while [ ! -s ${q(pidFile)} ]; do sleep 0.02; done; exit 3`),
              sh('cleanup', 'echo done=cleaned >> "$ORCHESTRATOR_OUTPUT"', { needs: ['build'], if: 'always()' }),
              sh('alert', 'echo "status=${{ needs.build.status }}" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['build'], if: 'failure()' }),
              sh('deploy', 'true', { needs: ['build'] }),
            ],
            { failurePolicy: 'kill', concurrency: 4 },
          ),
        );
        expect(byId(summary, 'build').status).toBe('failed');
        expect(byId(summary, 'sibling')).toMatchObject({ status: 'cancelled', reason: 'fail-fast' });
        const pid = await writtenPid(pidFile);
        expect(pid !== undefined && isProcessAlive(pid)).toBe(false);
        expect(byId(summary, 'cleanup')).toMatchObject({ status: 'succeeded', outputs: { done: 'cleaned' } });
        expect(byId(summary, 'alert')).toMatchObject({ status: 'succeeded', outputs: { status: 'failed' } });
        expect(byId(summary, 'deploy')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
        expect(summary.status).toBe('failed');
      });

      it('6b. a failure() step is skipped when everything succeeded', async () => {
        const { summary } = await run(
          workflowSpec([sh('build', 'exit 0'), sh('alert', `touch ${q(file('alerted'))}`, { needs: ['build'], if: 'failure()' })]),
        );
        expect(byId(summary, 'build').status).toBe('succeeded');
        expect(byId(summary, 'alert')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
        expect(existsSync(file('alerted'))).toBe(false);
        expect(summary.status).toBe('succeeded');
      });

      it('7. continueOnError lets dependents run and keeps the run green', async () => {
        const { summary } = await run(
          workflowSpec(
            [sh('lint', 'exit 1', { continueOnError: true }), sh('test', 'echo ok=yes >> "$ORCHESTRATOR_OUTPUT"', { needs: ['lint'] })],
            { failurePolicy: 'no-new' },
          ),
        );
        expect(byId(summary, 'lint')).toMatchObject({ status: 'failed', continuedOnError: true, exitCode: 1 });
        expect(byId(summary, 'test')).toMatchObject({ status: 'succeeded', outputs: { ok: 'yes' } });
        expect(summary.status).toBe('succeeded');
      });

      it('8. no-new lets running steps finish and cancels steps that had not started', async () => {
        // `long` is released by the test once `bad` has failed, so it cannot free its slot first.
        const release = file('release');
        const { summary } = await run(
          workflowSpec(
            [
              sh('long', `sh ${q(WAIT_FOR_FILE)} ${q(release)} 10 && echo finished=yes >> "$ORCHESTRATOR_OUTPUT"`),
              sh('bad', 'exit 1'),
              sh('later', `touch ${q(file('later-ran'))}`, { needs: ['bad'] }),
              sh('queued', `touch ${q(file('queued-ran'))}`),
            ],
            { concurrency: 2, failurePolicy: 'no-new' },
          ),
          {
            onEvent: (event) => {
              if (event.type === 'step-finished' && event.stepId === 'bad') writeFileSync(release, '');
            },
          },
        );
        expect(byId(summary, 'bad')).toMatchObject({ status: 'failed', reason: 'exit-non-zero' });
        expect(byId(summary, 'long')).toMatchObject({ status: 'succeeded', outputs: { finished: 'yes' } });
        expect(byId(summary, 'queued')).toMatchObject({ status: 'cancelled', reason: 'fail-fast' });
        expect(byId(summary, 'later')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
        expect(existsSync(file('queued-ran')) || existsSync(file('later-ran'))).toBe(false);
        expect(summary.status).toBe('failed');
      });
    });

    describe('timeouts and cancellation act mid-flight', () => {
      it('9. a 0.2 s workflow timeout over two 5 s shell steps ends fast, both timed out, no process left', async () => {
        const pidA = file('a.pid');
        const pidB = file('b.pid');
        const started = Date.now();
        const { summary } = await run(workflowSpec([sleeper('a', pidA), sleeper('b', pidB)], { timeout: 200, concurrency: 2 }));
        const elapsed = Date.now() - started;
        expect(elapsed, `expected the run to end within 1500 ms, took ${elapsed} ms`).toBeLessThan(1500);
        expect(byId(summary, 'a')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
        expect(byId(summary, 'b')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
        expect(summary.status).toBe('timed-out');
        for (const pidFile of [pidA, pidB]) {
          const pid = await writtenPid(pidFile);
          if (pid !== undefined) await expectDead(pid);
        }
        await expectNoProcessesOf(summary.runId);
      });

      it('10. cancelling through the signal kills running steps and cancels the rest', async () => {
        const pidFile = file('a.pid');
        const controller = new AbortController();
        const { handle } = submit(
          workflowSpec(
            [sleeper('a', pidFile), sh('queued', `touch ${q(file('queued-ran'))}`), sh('b', `touch ${q(file('b-ran'))}`, { needs: ['a'] })],
            { concurrency: 1 },
          ),
          { signal: controller.signal },
        );
        const pid = await readPidFile(pidFile);
        const started = Date.now();
        controller.abort('user asked');
        const summary = await handle.result;
        const elapsed = Date.now() - started;
        expect(elapsed, `expected the run to end within 1500 ms of the abort, took ${elapsed} ms`).toBeLessThan(1500);
        expect(byId(summary, 'a')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
        expect(byId(summary, 'queued')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
        expect(byId(summary, 'b')).toMatchObject({ status: 'cancelled', reason: 'cancelled', startedAt: null });
        expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'user asked' });
        await expectDead(pid);
        await expectNoProcessesOf(summary.runId);
        expect(existsSync(file('queued-ran')) || existsSync(file('b-ran'))).toBe(false);
      });

      it('31. after a cancel, the steps below a killed step end cancelled all the way down, not skipped; a cleanup step below them runs', async () => {
        const pidFile = file('a.pid');
        const { handle } = submit(
          workflowSpec(
            [
              sleeper('a', pidFile),
              sh('b', `touch ${q(file('b-ran'))}`, { needs: ['a'] }),
              sh('c', `touch ${q(file('c-ran'))}`, { needs: ['b'] }),
              // Queued behind `a` (one slot): cancelled without starting, and so is its dependent.
              sh('indep', `touch ${q(file('indep-ran'))}`),
              sh('after-indep', `touch ${q(file('after-indep-ran'))}`, { needs: ['indep'] }),
              sh('cleanup', 'echo "c=${{ needs.c.result }}" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['c'], if: 'always()' }),
            ],
            { concurrency: 1 },
          ),
        );
        const pid = await readPidFile(pidFile);
        handle.cancel('user stop');
        const summary = await handle.result;
        await expectDead(pid);
        expect(byId(summary, 'a')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
        for (const id of ['b', 'c', 'indep', 'after-indep']) {
          expect(byId(summary, id), id).toMatchObject({ status: 'cancelled', reason: 'cancelled', message: 'cancelled: user stop', startedAt: null });
        }
        expect(byId(summary, 'cleanup')).toMatchObject({ status: 'succeeded', outputs: { c: 'cancelled' } });
        for (const id of ['b', 'c', 'indep', 'after-indep']) expect(existsSync(file(`${id}-ran`)), `${id} ran`).toBe(false);
        expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'user stop' });
        expect(summary.counts).toMatchObject({ total: 6, cancelled: 5, succeeded: 1, skipped: 0 });
        await expectNoProcessesOf(summary.runId);
      });

      it('32. after the run timeout, the steps below the timed-out step end cancelled; a failure() step below them runs', async () => {
        const pidFile = file('a.pid');
        const { summary } = await run(
          workflowSpec(
            [
              sleeper('a', pidFile),
              sh('b', `touch ${q(file('b-ran'))}`, { needs: ['a'] }),
              sh('c', `touch ${q(file('c-ran'))}`, { needs: ['b'] }),
              sh('onfailure', 'echo "c=${{ needs.c.result }}" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['c'], if: 'failure()' }),
            ],
            { timeout: 300 },
          ),
        );
        expect(byId(summary, 'a')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
        for (const id of ['b', 'c']) {
          const step = byId(summary, id);
          expect(step, id).toMatchObject({ status: 'cancelled', reason: 'cancelled', startedAt: null });
          expect(step.message, id).toContain("the run's timeout");
        }
        // `a` timed out, and that counts as a failure above `c`.
        expect(byId(summary, 'onfailure')).toMatchObject({ status: 'succeeded', outputs: { c: 'cancelled' } });
        expect(existsSync(file('b-ran')) || existsSync(file('c-ran'))).toBe(false);
        expect(summary.status).toBe('timed-out');
        expect(summary.counts).toMatchObject({ total: 4, 'timed-out': 1, cancelled: 2, succeeded: 1, skipped: 0 });
        const pid = await writtenPid(pidFile);
        if (pid !== undefined) await expectDead(pid);
        await expectNoProcessesOf(summary.runId);
      });

      it('12. a step timeout kills the step and marks it timed out', async () => {
        const pidFile = file('t.pid');
        const started = Date.now();
        const { summary } = await run(workflowSpec([sleeper('t', pidFile, { timeout: 300 })]));
        const elapsed = Date.now() - started;
        expect(byId(summary, 't')).toMatchObject({ status: 'timed-out', reason: 'timed-out', timedOut: true });
        expect(summary.status).toBe('timed-out');
        expect(elapsed, `a 300 ms timeout took ${elapsed} ms to end the run`).toBeLessThan(3000);
        const pid = await writtenPid(pidFile);
        if (pid !== undefined) await expectDead(pid);
        await expectNoProcessesOf(summary.runId);
      });
    });

    describe('retries', () => {
      it('11a. a script that fails until attempt 3 succeeds on attempt 3, announcing each retry', async () => {
        const step: ScriptStep = scriptStep(fx('fail-until.sh'), {
          id: 'flaky',
          args: ['3'],
          cwd: CONFORMANCE_FIXTURES,
          retry: retryPolicy({ maxAttempts: 5, initialDelay: 10, factor: 2 }),
        });
        const { summary, events } = await run(workflowSpec([step]));
        expect(byId(summary, 'flaky')).toMatchObject({ status: 'succeeded', attempts: 3, outputs: { attempt: '3' } });
        const retrying = ofType(events, 'step-retrying');
        expect(retrying.map((e) => [e.stepId, e.attempt, e.delayMs, e.reason])).toEqual([
          ['flaky', 1, 10, 'exit-non-zero'],
          ['flaky', 2, 20, 'exit-non-zero'],
        ]);
        expect(ofType(events, 'step-started').map((e) => e.attempt)).toEqual([1, 2, 3]);
      });

      it('11b. retryOnExitCodes retries listed codes and stops at a code not in the list', async () => {
        const { summary, events } = await run(
          workflowSpec([
            sh('picky', 'if [ "$ORCHESTRATOR_ATTEMPT" -lt 2 ]; then exit 75; fi; exit 3', {
              retry: retryPolicy({ maxAttempts: 5, initialDelay: 10, retryOnExitCodes: [75] }),
            }),
          ]),
        );
        expect(byId(summary, 'picky')).toMatchObject({ status: 'failed', attempts: 2, exitCode: 3, reason: 'exit-non-zero' });
        expect(ofType(events, 'step-retrying').map((e) => e.attempt)).toEqual([1]);
      });
    });

    describe('outputs between steps', () => {
      it("13. outputs written by a Python step reach a shell step's condition and environment", async () => {
        const { summary } = await run(
          workflowSpec([
            scriptStep(fx('write-outputs.py'), { id: 'extract', cwd: CONFORMANCE_FIXTURES }),
            sh(
              'load',
              'echo "rows=$ORCHESTRATOR_OUTPUT_EXTRACT_ROWS region=${{ steps.extract.outputs.region }} env=$REGION"; printf "%s" "$ORCHESTRATOR_OUTPUT_EXTRACT_NOTES"',
              { needs: ['extract'], if: "steps.extract.outputs.rows > 40 && steps.extract.outputs.region == 'eu-west'", env: { REGION: '${{ steps.extract.outputs.region }}' } },
            ),
            sh('skip-small', `touch ${q(file('small'))}`, { needs: ['extract'], if: 'steps.extract.outputs.rows < 10' }),
          ]),
        );
        expect(byId(summary, 'extract')).toMatchObject({ status: 'succeeded', outputs: { rows: '42', region: 'eu-west', notes: 'line one\nline two' } });
        const load = byId(summary, 'load');
        expect(load.status).toBe('succeeded');
        expect(load.stdoutTail).toContain('rows=42 region=eu-west env=eu-west');
        expect(load.stdoutTail).toContain('line one\nline two');
        expect(byId(summary, 'skip-small')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
        expect(existsSync(file('small'))).toBe(false);
      });

      it('14. an output file over the limit fails the step with output-limit', async () => {
        const bytes = OUTPUT_LIMITS.fileBytes + 4096;
        const { summary } = await run(
          workflowSpec([
            sh('huge', `head -c ${bytes} /dev/zero | tr '\\0' a | sed 's/^/big=/' > "$ORCHESTRATOR_OUTPUT"`),
            sh('after', `touch ${q(file('after-ran'))}`, { needs: ['huge'] }),
          ]),
        );
        expect(byId(summary, 'huge')).toMatchObject({ status: 'failed', reason: 'output-limit', outputs: {} });
        expect(byId(summary, 'after')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
        expect(existsSync(file('after-ran'))).toBe(false);
      });

      it('15. a value over the inline limit reaches the dependent as a file with the same content', async () => {
        const expected = `${Array.from({ length: 20_000 }, (_, i) => i + 1).join(',')},`;
        expect(Buffer.byteLength(expected)).toBeGreaterThan(OUTPUT_LIMITS.inlineEnvBytes);
        const sha = createHash('sha256').update(expected).digest('hex');
        const { summary } = await run(
          workflowSpec([
            sh('make', `printf 'blob=%s\\n' "$(seq 1 20000 | tr '\\n' ',')" >> "$ORCHESTRATOR_OUTPUT"`),
            sh(
              'use',
              [
                'f="$ORCHESTRATOR_OUTPUT_MAKE_BLOB_FILE"',
                'test -n "$f" || { echo "no _FILE variable" >&2; exit 7; }',
                'test -z "${ORCHESTRATOR_OUTPUT_MAKE_BLOB+set}" || { echo "inline variable set too" >&2; exit 8; }',
                'echo "size=$(wc -c < "$f" | tr -d " ")" >> "$ORCHESTRATOR_OUTPUT"',
                'echo "sha=$(sha256sum < "$f" | cut -d" " -f1)" >> "$ORCHESTRATOR_OUTPUT"',
              ].join('\n'),
              { needs: ['make'] },
            ),
          ]),
        );
        expect(byId(summary, 'make').outputs.blob).toBe(expected);
        expect(byId(summary, 'use')).toMatchObject({
          status: 'succeeded',
          outputs: { size: String(Buffer.byteLength(expected)), sha },
        });
      });
    });

    describe('step kinds', () => {
      it('16a. a module step returns a JSON value', async () => {
        const items = [
          { label: 'a', n: 2 },
          { label: 'b', n: 5 },
        ];
        const { summary } = await run(workflowSpec([moduleStep('sum', 'summarize', [items])]));
        expect(byId(summary, 'sum')).toMatchObject({ status: 'succeeded', kind: 'module' });
        expect(byId(summary, 'sum').value).toEqual({ count: 2, total: 7, labels: ['A', 'B'], nested: { ok: true, none: null } });
      });

      it('16b. a throwing module fails with function-threw, a slow one is killed by its timeout', async () => {
        const pidFile = file('slow.pid');
        const { summary } = await run(
          workflowSpec([moduleStep('boom', 'boom', []), moduleStep('slow', 'slow', [pidFile, 10_000], { timeout: 1000, killGrace: 200 })]),
        );
        expect(byId(summary, 'boom')).toMatchObject({ status: 'failed', reason: 'function-threw' });
        expect(byId(summary, 'boom').message).toContain('RangeError: boom from conformance module');
        expect(byId(summary, 'slow')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
        expect(byId(summary, 'slow').value).toBeUndefined();
        const pid = await writtenPid(pidFile);
        if (pid !== undefined) await expectDead(pid);
        await expectNoProcessesOf(summary.runId);
      });

      it('17. a python function step takes JSON args and kwargs and returns its value', async () => {
        const { summary } = await run(
          workflowSpec([
            pythonStep('combine', 'conformance_calc.ops:combine', [[1, 2, 3]], { scale: 10, label: 'tens' }),
            pythonStep('bad', 'conformance_calc.ops:fail', ['nope']),
          ]),
        );
        expect(byId(summary, 'combine')).toMatchObject({ status: 'succeeded', kind: 'python' });
        expect(byId(summary, 'combine').value).toEqual({ label: 'tens', total: 60, items: [10, 20, 30] });
        expect(byId(summary, 'bad')).toMatchObject({ status: 'failed', reason: 'function-threw' });
        expect(byId(summary, 'bad').message).toContain('ValueError: nope');
      });

      it('18. a sub-workflow step runs its inner steps and succeeds', async () => {
        const inner = workflowSpec(
          [sh('x', 'echo v=inner >> "$ORCHESTRATOR_OUTPUT"'), sh('y', `echo "$ORCHESTRATOR_OUTPUT_X_V" > ${q(file('y-saw'))}`, { needs: ['x'] })],
          { name: 'inner' },
        );
        const { summary } = await run(
          workflowSpec([subWorkflowStep('sub', inner), sh('after', 'echo "got=$ORCHESTRATOR_OUTPUT_SUB_X_V" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['sub'] })]),
        );
        expect(byId(summary, 'sub')).toMatchObject({ status: 'succeeded', kind: 'workflow' });
        expect(byId(summary, 'sub').value).toMatchObject({ status: 'succeeded', counts: { total: 2, succeeded: 2 } });
        expect(await lines('y-saw')).toEqual(['inner']);
        expect(byId(summary, 'after')).toMatchObject({ status: 'succeeded', outputs: { got: 'inner' } });
        expect(summary.status).toBe('succeeded');
      });

      it('18b. a sub-workflow step whose inner steps fail fails with sub-workflow-failed, naming them and what they did', async () => {
        const inner = workflowSpec(
          [sh('x', 'exit 9'), sh('y', 'echo broken >&2; exit 4'), sh('z', 'true', { needs: ['x'] })],
          { name: 'inner', failurePolicy: 'continue' },
        );
        const { summary } = await run(workflowSpec([subWorkflowStep('sub', inner), sh('after', `touch ${q(file('after-ran'))}`, { needs: ['sub'] })]));
        const sub = byId(summary, 'sub');
        expect(sub).toMatchObject({ status: 'failed', reason: 'sub-workflow-failed', kind: 'workflow' });
        expect(sub.message).toBe('a step of its sub-workflow failed: x exited with code 9; y exited with code 4');
        expect(sub.value).toMatchObject({ status: 'failed', counts: { total: 3, failed: 2, skipped: 1 } });
        expect(byId(summary, 'after')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
        expect(existsSync(file('after-ran'))).toBe(false);
        expect(summary.status).toBe('failed');
      });
    });

    describe('concurrency and logs', () => {
      it('19. a concurrency group limit holds while other steps use the remaining slots', async () => {
        const probe = (id: string, group?: string): CommandStep =>
          sh(id, `sh ${q(fx('group-probe.sh'))} ${q(dir)} ${id} 0.3`, group ? { concurrencyGroup: group } : {});
        const groupSteps = ['db1', 'db2', 'db3', 'db4', 'db5'].map((id) => probe(id, 'db'));
        const { summary } = await run(
          workflowSpec([...groupSteps, sh('other', 'exit 0')], { concurrency: 5, groupConcurrency: { db: 2 } }),
        );
        expect(summary.status).toBe('succeeded');
        // Only db steps write probe files, so each count is the number of db steps running at once.
        const seen = await Promise.all(groupSteps.map(async (s) => Number((await readFile(file(`seen.${s.id}`), 'utf8')).trim())));
        expect(Math.max(...seen), `db steps running at once: ${seen.join(', ')}`).toBeLessThanOrEqual(2);
        expect(Math.min(...seen)).toBeGreaterThanOrEqual(1);
      });

      it('20. with runDir set, <runDir>/logs/<stepId>.log holds the step output; emitOutput streams it as events', async () => {
        const runDir = file('run');
        const { summary, events } = await run(workflowSpec([sh('say', 'echo hello-log; echo to-stderr >&2')]), { runDir, emitOutput: true });
        const logPath = path.join(runDir, 'logs', 'say.log');
        expect(byId(summary, 'say').logPath).toBe(logPath);
        const log = await readFile(logPath, 'utf8');
        expect(log).toContain('hello-log');
        expect(log).toContain('to-stderr');
        const output = ofType(events, 'step-output');
        const text = (stream: string): string => Buffer.concat(output.filter((e) => e.stream === stream).map((e) => e.chunk)).toString();
        expect(text('stdout')).toBe('hello-log\n');
        expect(text('stderr')).toBe('to-stderr\n');
        for (const event of output) {
          expect(event.stepId).toBe('say');
          expect(events.indexOf(event)).toBeGreaterThan(indexOf(events, 'step-started', 'say'));
          expect(events.indexOf(event)).toBeLessThan(indexOf(events, 'step-finished', 'say'));
        }
      });
    });

    describe('resume, matrix and events', () => {
      it('21. resuming with earlier results does not rerun succeeded steps; dependents read their old outputs', async () => {
        const marker = file('a-ran');
        const steps: StepSpec[] = [
          sh('a', `touch ${q(marker)}; echo tag=fresh >> "$ORCHESTRATOR_OUTPUT"`),
          sh('b', 'echo "tag=$ORCHESTRATOR_OUTPUT_A_TAG template=${{ steps.a.outputs.tag }}"', { needs: ['a'] }),
        ];
        const first = await run(workflowSpec(steps));
        expect(existsSync(marker)).toBe(true);
        expect(byId(first.summary, 'b').stdoutTail.trim()).toBe('tag=fresh template=fresh');
        await rm(marker);
        const previous = { a: { ...byId(first.summary, 'a'), outputs: { tag: 'from-before' }, attempts: 2 } };
        const { summary, events } = await run(workflowSpec(steps), { previous });
        expect(existsSync(marker)).toBe(false);
        expect(byId(summary, 'a')).toMatchObject({ status: 'succeeded', attempts: 2, outputs: { tag: 'from-before' } });
        expect(byId(summary, 'b').stdoutTail.trim()).toBe('tag=from-before template=from-before');
        expect(starts(events)).toEqual(['b']);
      });

      it('22. a matrix step from a workflow file expands, and its dependent waits for every combination', async () => {
        const seen = file('seen');
        const workflowFile = file('matrix.yaml');
        await writeFile(
          workflowFile,
          [
            'name: matrix',
            'concurrency: 4',
            'steps:',
            '  - id: test',
            `    run: echo "\${{ matrix.os }}-\${{ matrix.n }}" >> ${q(seen)}`,
            '    matrix:',
            '      os: [linux, mac]',
            '      n: [1, 2]',
            '      exclude:',
            '        - { os: mac, n: 1 }',
            '  - id: collect',
            '    needs: test',
            `    run: echo "count=$(wc -l < ${q(seen)} | tr -d ' ')" >> "$ORCHESTRATOR_OUTPUT"`,
            '',
          ].join('\n'),
        );
        const spec = await loadWorkflowFile(workflowFile, { projectRoot: dir });
        const ids = ['test (os=linux, n=1)', 'test (os=linux, n=2)', 'test (os=mac, n=2)'];
        expect(spec.steps.map((s) => s.id)).toEqual([...ids, 'collect']);
        const { summary, events } = await run(spec);
        expect(summary.status).toBe('succeeded');
        for (const id of ids) {
          expect(byId(summary, id)).toMatchObject({ status: 'succeeded' });
          expect(indexOf(events, 'step-started', 'collect')).toBeGreaterThan(indexOf(events, 'step-finished', id));
        }
        expect(byId(summary, 'test (os=mac, n=2)').matrix).toEqual({ os: 'mac', n: 2 });
        expect((await lines('seen')).sort()).toEqual(['linux-1', 'linux-2', 'mac-2']);
        expect(byId(summary, 'collect')).toMatchObject({ status: 'succeeded', outputs: { count: '3' }, needs: ids });
      });

      it('23. every run emits run-started first, run-finished last and one step-finished per step', async () => {
        const { handle, events } = submit(
          workflowSpec(
            [
              sh('ok', 'echo fine'),
              sh('flaky', 'exit 2', { retry: retryPolicy({ maxAttempts: 2, initialDelay: 10 }) }),
              sh('after-flaky', 'exit 0', { needs: ['flaky'] }),
              sh('never', 'exit 0', { if: "env.NOPE == 'yes'" }),
              sh('cleanup', 'exit 0', { needs: ['flaky'], if: 'always()' }),
              scriptStep(fx('fail-until.sh'), { id: 'script', args: ['1'], cwd: CONFORMANCE_FIXTURES }),
            ],
            { concurrency: 2 },
          ),
        );
        const iterated: RunEvent[] = [];
        const reading = (async () => {
          for await (const event of handle.events) iterated.push(event);
        })();
        const summary = await handle.result;
        await reading;
        const types = events.map((e) => e.type);
        expect(types[0]).toBe('run-started');
        expect(types.at(-1)).toBe('run-finished');
        expect(types.filter((t) => t === 'run-started')).toHaveLength(1);
        expect(types.filter((t) => t === 'run-finished')).toHaveLength(1);
        expect(events.every((e) => e.runId === handle.id)).toBe(true);
        expect(iterated.map((e) => e.type)).toEqual(types);

        const ids = ['ok', 'flaky', 'after-flaky', 'never', 'cleanup', 'script'];
        const announced = ofType(events, 'run-started')[0];
        expect(announced?.steps.map((s) => s.id)).toEqual(ids);
        const finished = ofType(events, 'step-finished');
        expect(finished.map((e) => e.stepId).sort()).toEqual([...ids].sort());
        for (const event of finished) expect(event.result).toEqual(byId(summary, event.stepId));
        for (const event of ofType(events, 'step-started')) {
          expect(events.indexOf(event)).toBeLessThan(indexOf(events, 'step-finished', event.stepId));
          // What was run, as the result reports it (interpreter resolved, absolute script path).
          expect(event.command, `step-started command of ${event.stepId}`).toEqual(byId(summary, event.stepId).command);
        }
        expect(starts(events).sort()).toEqual(['cleanup', 'flaky', 'flaky', 'ok', 'script']);
        expect(ofType(events, 'run-finished')[0]?.summary).toEqual(summary);
        expect(summary.counts).toMatchObject({ total: 6, succeeded: 3, failed: 1, skipped: 2 });
        expect(byId(summary, 'cleanup').status).toBe('succeeded');
      });
    });

    describe('cleanup steps when the run is cancelled or times out (GitHub Actions semantics)', () => {
      it('28. after a cancel, always() and cancelled() steps run once their needs are done; failure() and plain dependents do not', async () => {
        const pidFile = file('a.pid');
        const controller = new AbortController();
        const { handle } = submit(
          workflowSpec(
            [
              sleeper('a', pidFile),
              sh('oncancel', 'echo "cancelled=${{ cancelled() }}" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['a'], if: 'cancelled()' }),
              sh('always', 'echo "a=${{ needs.a.result }}" >> "$ORCHESTRATOR_OUTPUT"', { needs: ['a'], if: 'always()' }),
              sh('onfailure', `touch ${q(file('onfailure-ran'))}`, { needs: ['a'], if: 'failure()' }),
              sh('plain', `touch ${q(file('plain-ran'))}`, { needs: ['always'] }),
            ],
            { concurrency: 4 },
          ),
          { signal: controller.signal },
        );
        const pid = await readPidFile(pidFile);
        controller.abort('user asked');
        const summary = await handle.result;
        await expectDead(pid);
        expect(byId(summary, 'a')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
        expect(byId(summary, 'oncancel')).toMatchObject({ status: 'succeeded', outputs: { cancelled: 'true' } });
        expect(byId(summary, 'always')).toMatchObject({ status: 'succeeded', outputs: { a: 'cancelled' } });
        expect(byId(summary, 'onfailure')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
        expect(byId(summary, 'plain')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
        expect(existsSync(file('onfailure-ran')) || existsSync(file('plain-ran'))).toBe(false);
        expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'user asked' });
        expect(summary.counts).toMatchObject({ total: 5, succeeded: 2, cancelled: 2, skipped: 1 });
        await expectNoProcessesOf(summary.runId);
      });

      it('29. after the run timeout, cleanup steps run past the deadline, each bounded by its own step timeout', async () => {
        const pidFile = file('a.pid');
        const { summary } = await run(
          workflowSpec(
            [
              sleeper('a', pidFile),
              sh('oncancel', 'echo ran=yes >> "$ORCHESTRATOR_OUTPUT"', { needs: ['a'], if: 'cancelled()' }),
              sh('bounded', 'exec sleep 5', { needs: ['a'], if: 'always()', timeout: 300, killGrace: 200 }),
            ],
            { timeout: 300, concurrency: 4 },
          ),
        );
        expect(byId(summary, 'a')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
        expect(byId(summary, 'oncancel')).toMatchObject({ status: 'succeeded', outputs: { ran: 'yes' } });
        const bounded = byId(summary, 'bounded');
        expect(bounded).toMatchObject({ status: 'timed-out', reason: 'timed-out', timedOut: true });
        expect(bounded.message, "ended by its own timeout, not the run's").toMatch(/^timed out after/);
        expect(summary.status).toBe('timed-out');
        const pid = await writtenPid(pidFile);
        if (pid !== undefined) await expectDead(pid);
        await expectNoProcessesOf(summary.runId);
      });

      it('30. cancelling again ends the cleanup steps the first cancel let run', async () => {
        const pidFile = file('a.pid');
        const cleanupPid = file('cleanup.pid');
        const { handle } = submit(
          workflowSpec(
            [
              sleeper('a', pidFile),
              sleeper('cleanup', cleanupPid, { needs: ['a'], if: 'always()' }),
              sh('late', `touch ${q(file('late-ran'))}`, { needs: ['cleanup'], if: 'always()' }),
            ],
            { concurrency: 4 },
          ),
        );
        await readPidFile(pidFile);
        handle.cancel('first');
        const pid = await readPidFile(cleanupPid);
        handle.cancel('second');
        const summary = await handle.result;
        await expectDead(pid);
        expect(byId(summary, 'cleanup')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
        expect(byId(summary, 'late')).toMatchObject({ status: 'cancelled', reason: 'cancelled', startedAt: null });
        expect(existsSync(file('late-ran'))).toBe(false);
        expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'first' });
        await expectNoProcessesOf(summary.runId);
      });

      it('33. a cleanup step already running when the first cancel comes keeps running; the second cancel ends it', async () => {
        const otherPid = file('other.pid');
        const cleanupPid = file('cleanup.pid');
        const { handle } = submit(
          workflowSpec(
            [
              sh('a', 'true'),
              sleeper('cleanup', cleanupPid, { needs: ['a'], if: 'always()' }),
              sh('plain', `sleep 5 & echo $! > ${q(otherPid)}; wait`, { killGrace: 200 }),
            ],
            { concurrency: 4 },
          ),
        );
        const cleanup = await readPidFile(cleanupPid);
        const other = await readPidFile(otherPid);
        handle.cancel('first');
        // The cancel has reached the running steps once the plain one is gone; the cleanup step,
        // whose `always()` still holds, is not among them.
        await expectDead(other);
        expect(isProcessAlive(cleanup)).toBe(true);
        handle.cancel('second');
        const summary = await handle.result;
        await expectDead(cleanup);
        expect(byId(summary, 'plain')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
        expect(byId(summary, 'cleanup')).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
        expect(summary).toMatchObject({ status: 'cancelled', cancelReason: 'first' });
        await expectNoProcessesOf(summary.runId);
      });
    });

    describe('regressions', () => {
      it('24. a resumed step shares a large output as a file, as on the first run', async () => {
        const spec = workflowSpec([
          sh('make', `printf 'blob=%s\\n' "$(head -c 200000 /dev/zero | tr '\\0' b)" >> "$ORCHESTRATOR_OUTPUT"`),
          sh('use', 'wc -c < "$ORCHESTRATOR_OUTPUT_MAKE_BLOB_FILE"', { needs: ['make'] }),
        ]);
        const first = (await run(spec)).summary;
        expect(byId(first, 'use').stdoutTail.trim()).toBe('200000');
        const resumed = (await run(spec, { previous: { make: byId(first, 'make') } })).summary;
        expect(byId(resumed, 'use')).toMatchObject({ status: 'succeeded' });
        expect(byId(resumed, 'use').stdoutTail.trim()).toBe('200000');
      });

      it('25. a sub-workflow cut short by its own timeout or the run\'s is timed out', async () => {
        const inner: WorkflowSpec = workflowSpec([sh('slow', 'exec sleep 5')]);
        const sub = (overrides: Partial<SubWorkflowStep> = {}): SubWorkflowStep => ({ ...base('sub'), kind: 'workflow', workflow: inner, timeout: 0, ...overrides });
        const own = (await run(workflowSpec([sub({ timeout: 300 })]))).summary;
        expect(byId(own, 'sub')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
        const whole = (await run(workflowSpec([sub()], { timeout: 300 }))).summary;
        expect(byId(whole, 'sub')).toMatchObject({ status: 'timed-out', reason: 'timed-out' });
        expect(whole.status).toBe('timed-out');
      });

      it('26. steps whose ids differ only in unsafe characters keep their own outputs', async () => {
        const step = (id: string, mine: string, other: string): CommandStep =>
          sh(id, `echo "who=${id}" >> "$ORCHESTRATOR_OUTPUT"; touch ${q(file(mine))}; while [ ! -e ${q(file(other))} ]; do sleep 0.01; done`, { timeout: 10_000 });
        const { summary } = await run(workflowSpec([step('lib/x.sh', 'one', 'two'), step('lib_x.sh', 'two', 'one')], { concurrency: 2 }));
        expect(byId(summary, 'lib/x.sh').outputs).toEqual({ who: 'lib/x.sh' });
        expect(byId(summary, 'lib_x.sh').outputs).toEqual({ who: 'lib_x.sh' });
      });

      it('27. with output streamed, step-started names the command the result reports', async () => {
        const { summary, events } = await run(workflowSpec([scriptStep(fx('fail-until.sh'), { id: 'script', args: ['1'], cwd: CONFORMANCE_FIXTURES })]), {
          runDir: file('run'),
          emitOutput: true,
        });
        const started = ofType(events, 'step-started');
        expect(started).toHaveLength(1);
        expect(started[0]?.command).toEqual(byId(summary, 'script').command);
      });
    });
  });
}
