import { describe, expect, it } from 'vitest';
import type { StepContext } from '../../src/core/spec.js';
import { Deferred } from '../../src/util/deferred.js';
import {
  NonRetryableError,
  RunError,
  Workflow,
  chain,
  condition,
  fanOutFanIn,
  getStepResult,
  moduleFunc,
  parallel,
  parallelWith,
  pythonFunc,
  retry,
  script,
  shell,
  step,
  stepValues,
  timeout,
  uniqueStepIds,
  workflow,
} from '../../src/dsl/index.js';

describe('Workflow', () => {
  it('runs a diamond in dependency order, the join seeing both branches', async () => {
    const order: string[] = [];
    const cStarted = new Deferred<void>();
    const summary = await new Workflow('diamond', { concurrency: 4 })
      .step('a', () => {
        order.push('a');
        return 1;
      })
      .step(
        'b',
        async (ctx) => {
          // b only finishes once c has started: both branches run at the same time.
          await cStarted.promise;
          order.push('b');
          return (ctx.needs.a?.value as number) + 10;
        },
        { needs: 'a' },
      )
      .step(
        'c',
        (ctx) => {
          cStarted.resolve();
          order.push('c');
          return (ctx.needs.a?.value as number) + 100;
        },
        { needs: 'a' },
      )
      .step(
        'd',
        (ctx) => {
          order.push('d');
          return [ctx.needs.b?.value, ctx.needs.c?.value];
        },
        { needs: ['b', 'c'] },
      )
      .run();
    expect(summary.status).toBe('succeeded');
    expect(order[0]).toBe('a');
    expect(order[3]).toBe('d');
    expect(order.slice(1, 3).sort()).toEqual(['b', 'c']);
    expect(getStepResult(summary, 'd')?.value).toEqual([11, 101]);
    expect(stepValues(summary)).toEqual({ a: 1, b: 11, c: 101, d: [11, 101] });
  });

  it('gives sync and async functions the same one context', async () => {
    const seen: StepContext[] = [];
    const summary = await new Workflow('contexts', { env: { SHARED: 'yes' } })
      .step('sync', (ctx) => {
        seen.push(ctx);
        ctx.setOutput('color', 'blue');
        ctx.log('hello from sync');
        return 'sync';
      })
      .step(
        'async',
        async (ctx) => {
          seen.push(ctx);
          await Promise.resolve();
          return `${String(ctx.needs.sync?.value)}+${ctx.needs.sync?.outputs.color ?? ''}`;
        },
        { needs: 'sync', env: { OWN: '1' } },
      )
      .run();
    expect(summary.status).toBe('succeeded');
    expect(getStepResult(summary, 'async')?.value).toBe('sync+blue');
    expect(getStepResult(summary, 'sync')?.stdoutTail).toContain('hello from sync');
    for (const ctx of seen) {
      expect(ctx.signal).toBeInstanceOf(AbortSignal);
      expect(ctx.attempt).toBe(1);
      expect(ctx.env.SHARED).toBe('yes');
    }
    expect(seen[1]?.env.OWN).toBe('1');
  });

  it('retries a function that fails twice, succeeding on attempt 3', async () => {
    let calls = 0;
    const attempts: number[] = [];
    const flaky = (ctx: StepContext): string => {
      calls += 1;
      attempts.push(ctx.attempt);
      if (calls < 3) throw new Error(`failure ${calls}`);
      return 'finally';
    };
    const summary = await new Workflow('retry').step('flaky', retry(flaky, { maxAttempts: 3, initialDelay: 1 })).run();
    const result = getStepResult(summary, 'flaky');
    expect(result?.status).toBe('succeeded');
    expect(result?.attempts).toBe(3);
    expect(result?.value).toBe('finally');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('stops at once when a function throws NonRetryableError', async () => {
    let calls = 0;
    const summary = await new Workflow('no-retry')
      .step(
        'fatal',
        retry(
          () => {
            calls += 1;
            throw new NonRetryableError('bad input');
          },
          { maxAttempts: 5, initialDelay: 1 },
        ),
      )
      .run();
    const result = getStepResult(summary, 'fatal');
    expect(result?.status).toBe('failed');
    expect(result?.attempts).toBe(1);
    expect(result?.message).toContain('bad input');
    expect(calls).toBe(1);
  });

  it('retry option as a number of attempts, and retryOn deciding per error', async () => {
    let calls = 0;
    const summary = await new Workflow('retry-on')
      .step(
        'picky',
        () => {
          calls += 1;
          throw new Error(calls === 1 ? 'transient' : 'permanent');
        },
        { retry: { maxAttempts: 5, initialDelay: 1, retryOn: (f) => String(f.error).includes('transient') } },
      )
      .run();
    expect(getStepResult(summary, 'picky')?.attempts).toBe(2);
    expect(calls).toBe(2);
  });

  it('timeout(fn, 50) aborts ctx.signal and marks the step timed-out', async () => {
    const aborted = new Deferred<unknown>();
    const started = Date.now();
    const summary = await new Workflow('timeout')
      .step(
        'slow',
        timeout(
          (ctx) =>
            new Promise((resolve) => {
              ctx.signal.addEventListener('abort', () => {
                aborted.resolve(ctx.signal.reason);
                resolve('too late');
              });
            }),
          50,
        ),
      )
      .run();
    const elapsed = Date.now() - started;
    const result = getStepResult(summary, 'slow');
    expect(result?.status).toBe('timed-out');
    expect(result?.timedOut).toBe(true);
    expect(await aborted.promise).toBe('timeout');
    expect(elapsed, 'expected the run to end between 50 and 5000 ms').toBeGreaterThanOrEqual(45);
    expect(elapsed, 'expected the run to end between 50 and 5000 ms').toBeLessThan(5000);
    expect(summary.status).toBe('timed-out');
  });

  it('runOrThrow rejects with RunError carrying the summary', async () => {
    const wf = new Workflow('fails').step('ok', () => 1).step('bad', () => {
      throw new Error('broken');
    });
    const error = await wf.runOrThrow().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunError);
    const runError = error as RunError;
    expect(runError.summary.status).toBe('failed');
    expect(runError.summary.steps).toHaveLength(2);
    expect(runError.failed.map((s) => s.id)).toEqual(['bad']);
    expect(runError.message).toContain('broken');
    await expect(new Workflow('fine').step('ok', () => 1).runOrThrow()).resolves.toMatchObject({ status: 'succeeded' });
  });

  it('never rejects for step failures: every step ends final', async () => {
    const summary = await new Workflow('policy')
      .step('bad', () => {
        throw new Error('no');
      })
      .step('after', () => 1, { needs: 'bad' })
      .step('later', () => 2, { needs: 'after' })
      .run();
    expect(summary.status).toBe('failed');
    expect(summary.steps.map((s) => s.status)).toEqual(['failed', 'skipped', 'skipped']);
    expect(summary.counts.total).toBe(3);
  });

  it('runs an `always: true` step after a failure, and `onFailure` only then', async () => {
    const summary = await new Workflow('cleanup')
      .step('build', () => {
        throw new Error('compile error');
      })
      .step('test', () => 'tested', { needs: 'build' })
      .step('cleanup', (ctx) => ctx.needs.build?.status, { needs: 'build', always: true })
      .step('notify', () => 'notified', { needs: 'build', onFailure: true })
      .run();
    expect(getStepResult(summary, 'test')?.status).toBe('skipped');
    expect(getStepResult(summary, 'cleanup')?.status).toBe('succeeded');
    expect(getStepResult(summary, 'cleanup')?.value).toBe('failed');
    expect(getStepResult(summary, 'notify')?.value).toBe('notified');

    const fine = await new Workflow('fine')
      .step('build', () => 1)
      .step('notify', () => 'notified', { needs: 'build', onFailure: true })
      .run();
    expect(getStepResult(fine, 'notify')?.status).toBe('skipped');
    expect(fine.status).toBe('succeeded');
  });

  it('skips a step whose `if` is false and its dependents, without deadlock', async () => {
    const summary = await new Workflow('gated')
      .step('gate', () => 'never', { if: "env.DEPLOY == 'yes'" })
      .step('after-gate', () => 'never', { needs: 'gate' })
      .step('unrelated', () => 'ran')
      .run();
    expect(getStepResult(summary, 'gate')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
    expect(getStepResult(summary, 'after-gate')?.status).toBe('skipped');
    expect(getStepResult(summary, 'unrelated')?.value).toBe('ran');
    expect(summary.status).toBe('succeeded');
  });

  it('condition(predicate) sees the dependencies and skips when false', async () => {
    const summary = await new Workflow('conditions')
      .step('measure', () => 42)
      .step('big', condition((ctx) => (ctx.needs.measure?.value as number) > 100, () => 'big'), { needs: 'measure' })
      .step('small', condition((ctx) => (ctx.needs.measure?.value as number) <= 100)(() => 'small'), { needs: 'measure' })
      .step('after-big', () => 1, { needs: 'big' })
      .run();
    expect(getStepResult(summary, 'big')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
    expect(getStepResult(summary, 'after-big')?.status).toBe('skipped');
    expect(getStepResult(summary, 'small')?.value).toBe('small');
  });

  it('nested conditions must all hold: condition(a, condition(b, step)) runs only when a and b are true', async () => {
    const yes = (): boolean => true;
    const no = (): boolean => false;
    const summary = await new Workflow('nested-conditions')
      .step('outer-false', condition(no, condition(yes, () => 'ran')))
      .step('inner-false', condition(yes, condition(no, () => 'ran')))
      .step('both-true', condition(yes, condition(() => Promise.resolve(true), () => 'ran')))
      .run();
    expect(getStepResult(summary, 'outer-false')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
    expect(getStepResult(summary, 'inner-false')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
    expect(getStepResult(summary, 'both-true')?.value).toBe('ran');
  });

  it('toSpec lists every problem in one TypeError', () => {
    const wf = new Workflow('broken')
      .step('a', () => 1, { needs: 'b' })
      .step('b', () => 1, { needs: 'a' })
      .step('a', () => 1)
      .step('c', () => 1, { needs: 'bb' });
    let error: unknown;
    try {
      wf.toSpec();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    const message = (error as TypeError).message;
    expect(message).toContain('Workflow "broken" is invalid');
    expect(message).toContain('duplicate step id "a"');
    expect(message).toContain('step "c" needs unknown step "bb" (did you mean "b"?)');
    expect(message).toContain('dependency cycle: a -> b -> a');
    expect(wf.validate()).toHaveLength(3);
    return expect(wf.run()).rejects.toBeInstanceOf(TypeError);
  });

  it('validate() reports a concurrency group with no limit and an invalid `if` as the workflow file loader does, and run() refuses such a workflow before anything runs', async () => {
    let ran = 0;
    const wf = new Workflow('g', { groupConcurrency: { gpu: 1 } })
      .step('a', () => (ran += 1), { concurrencyGroup: 'gpuu' })
      .step('b', () => (ran += 1), { if: 'github.ref == 1' })
      .step('c', () => (ran += 1), { concurrencyGroup: 'frontend' })
      .step('ok', () => (ran += 1), { concurrencyGroup: 'gpu', if: "env.X == 'y'" });
    expect(wf.validate()).toEqual([
      'step "a": unknown concurrency group "gpuu" (did you mean "gpu"?)',
      'step "b": `if`: invalid expression `github.ref == 1`: unknown context `github`; available: steps, needs, env, matrix, workflow, run, inputs',
      'step "c": unknown concurrency group "frontend"; list its limit under `groupConcurrency`',
    ]);
    expect(() => wf.toSpec()).toThrow(/Workflow "g" is invalid:\n {2}- step "a": unknown concurrency group "gpuu"/);
    await expect(wf.run()).rejects.toThrow(TypeError);
    expect(ran, 'no step may run').toBe(0);
  });

  it('validate() refuses step ids that differ only by case, as the workflow file loader does', () => {
    const wf = new Workflow('case').step('build', () => 1).step('Build', () => 2).step('other', () => 3);
    expect(wf.validate()).toEqual([
      'step "Build" differs from step "build" only by case: step ids must differ other than by case, because expressions read them ignoring case (`steps.build` would name both)',
    ]);
    expect(() => wf.toSpec()).toThrow(TypeError);
  });

  it('validate() checks the steps an `if` reads, and finds problems of sub-workflows too', () => {
    const inner = new Workflow('in').step('x', () => 1, { if: 'success() &&' });
    const wf = new Workflow('refs')
      .step('build', () => 1)
      .step('lint', () => 1)
      .step('deploy', () => 1, { needs: 'build', if: "steps.biuld.outputs.v == '1' || needs.lint.result == 'success'" })
      .step('sub', inner)
      // Fine: a need it has, the steps context, a status function.
      .step('notify', () => 1, { needs: ['deploy'], if: "always() && needs.deploy.result == 'failure' && steps.build.outputs.v != ''" });
    const problems = wf.validate();
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^step "sub": Sub-workflow of step "sub": Workflow "in" is invalid:\n {2}- step "x": `if`: invalid expression `success\(\) &&`: /);
    expect(problems[1]).toBe('step "deploy": `if`: `steps.biuld` names no step (did you mean "build"?)');
    expect(problems[2]).toBe('step "deploy": `if`: `needs.lint`: step "deploy" does not need "lint"; add it to `needs`');
  });

  it('rejects bad options at once, naming the option and the value', () => {
    expect(() => new Workflow('x').step('a', () => 1, { timeout: -1 })).toThrow(
      'Expected the `timeout` option of step "a" to be a non-negative integer, got `-1` (number)',
    );
    expect(() => new Workflow('x').step('a', () => 1, { dependencies: ['b'] } as never)).toThrow('use `needs`');
    expect(() => new Workflow('x').step('a', () => 1, { always: true, if: 'success()' })).toThrow('at most one of');
    expect(() => new Workflow('x').step('a', 42 as never)).toThrow('Expected the action of step "a" to be a function');
    expect(() => new Workflow('x', { failurePolicy: 'stop' as never })).toThrow("'no-new', 'continue' or 'kill'");
  });

  it('expands a matrix; dependents wait for every combination', async () => {
    const summary = await new Workflow('matrix')
      .step('test', (ctx) => `${String(ctx.matrix.os)}-${String(ctx.matrix.node)}`, { matrix: { os: ['linux', 'mac'], node: [20, 22] } })
      .step('report', (ctx) => Object.keys(ctx.needs).sort(), { needs: 'test' })
      .run();
    expect(summary.counts.total).toBe(5);
    expect(getStepResult(summary, 'test (os=linux, node=22)')?.value).toBe('linux-22');
    expect(getStepResult(summary, 'report')?.value).toHaveLength(4);
  });

  it('runs a nested Workflow as one step', async () => {
    const inner = new Workflow('inner').step('x', () => 1).step('y', () => 2, { needs: 'x' });
    const summary = await new Workflow('outer').step('prepare', () => 0).step('sub', inner, { needs: 'prepare' }).run();
    expect(getStepResult(summary, 'sub')?.status).toBe('succeeded');
    expect(getStepResult(summary, 'sub')?.value).toMatchObject({ status: 'succeeded' });
  });

  it('a nested Workflow whose step fails fails with sub-workflow-failed, naming that step and what it did', async () => {
    const inner = new Workflow('in').step('x', shell('exit 9'));
    const summary = await new Workflow('o').step('sub', inner).step('after', () => 1, { needs: 'sub' }).run();
    expect(getStepResult(summary, 'sub')).toMatchObject({
      status: 'failed',
      reason: 'sub-workflow-failed',
      message: 'a step of its sub-workflow failed: x exited with code 9',
    });
    expect(getStepResult(summary, 'sub')?.value).toMatchObject({ status: 'failed', counts: { total: 1, failed: 1 } });
    // Its dependents are the ones skipped because a dependency failed.
    expect(getStepResult(summary, 'after')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
    expect(summary.status).toBe('failed');
  });

  it('addTask is the Python add_task twin: dependencies and retryPolicy', async () => {
    let calls = 0;
    const summary = await new Workflow('tasks')
      .addTask('first', () => 'one')
      .addTask(
        'second',
        (ctx) => {
          calls += 1;
          if (calls === 1) throw new Error('once');
          return `${String(ctx.needs.first?.value)}-two`;
        },
        { dependencies: ['first'], retryPolicy: { maxAttempts: 2, initialDelay: 1 } },
      )
      .run();
    expect(getStepResult(summary, 'second')).toMatchObject({ value: 'one-two', attempts: 2 });
  });

  it('cancel() stops a run in progress: running steps see the abort', async () => {
    const started = new Deferred<void>();
    const wf = new Workflow('cancellable').step(
      'waits',
      (ctx) =>
        new Promise((resolve) => {
          started.resolve();
          ctx.signal.addEventListener('abort', () => resolve('stopped'));
        }),
    );
    const running = wf.run();
    await started.promise;
    wf.cancel('user asked');
    const summary = await running;
    expect(summary.status).toBe('cancelled');
    expect(summary.cancelReason).toBe('user asked');
    expect(getStepResult(summary, 'waits')?.status).toBe('cancelled');
  });

  it('reports progress: started and finished per step, with counts', async () => {
    const phases: string[] = [];
    await chain(
      () => 1,
      () => 2,
    ).run({ onProgress: (u) => phases.push(`${u.stepId}:${u.phase}:${u.completed}/${u.total}`) });
    expect(phases).toEqual(['step-1:started:0/2', 'step-1:finished:1/2', 'step-2:started:1/2', 'step-2:finished:2/2']);
  });

  it('workflow() keeps step ids and needs typed', async () => {
    const wf = workflow('typed')
      .step('a', () => 1)
      .step('b', () => 2, { needs: 'a' });
    expect(wf.stepIds).toEqual(['a', 'b']);
    expect((await wf.run()).status).toBe('succeeded');
  });
});

describe('chain, parallel, fanOutFanIn', () => {
  it('chain passes results: step 2 reads ctx.needs["step-1"].value', async () => {
    const summary = await chain(
      () => 2,
      (ctx) => (ctx.needs['step-1']?.value as number) * 10,
      async (ctx) => {
        await Promise.resolve();
        return (ctx.needs['step-2']?.value as number) + 1;
      },
    ).run();
    expect(summary.name).toBe('chain');
    expect(summary.steps.map((s) => s.id)).toEqual(['step-1', 'step-2', 'step-3']);
    expect(getStepResult(summary, 'step-3')?.value).toBe(21);
  });

  it('stops a chain at the first failure: later steps are skipped', async () => {
    const summary = await chain(
      () => 1,
      () => {
        throw new Error('halt');
      },
      () => 3,
    ).run();
    expect(summary.steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'skipped']);
  });

  it('gives anonymous and same-named functions unique ids', async () => {
    function fetch(): string {
      return 'a';
    }
    const fetchAgain = function fetch(): string {
      return 'b';
    };
    const wf = parallel(
      () => 1,
      () => 2,
      fetch,
      fetchAgain,
      step('step-2', () => 'named'),
    );
    expect(wf.stepIds).toEqual(['step-1', 'step-2-2', 'fetch', 'fetch-2', 'step-2']);
    expect(uniqueStepIds([() => 1, () => 2])).toEqual(['step-1', 'step-2']);
    // Process steps are named by what they run, as the Python chain_scripts named scripts.
    expect(uniqueStepIds([script('etl/load.sh'), script('other/load.sh'), pythonFunc('stats:mean'), moduleFunc('lib.mjs', 'build'), shell('true')])).toEqual([
      'load.sh',
      'load.sh-2',
      'stats:mean',
      'build',
      'step-5',
    ]);
    const summary = await wf.run();
    expect(summary.counts.succeeded).toBe(5);
    expect(getStepResult(summary, 'step-2')?.value).toBe('named');
  });

  it('runs parallel steps at the same time', async () => {
    const first = new Deferred<void>();
    const second = new Deferred<void>();
    const summary = await parallelWith(
      { concurrency: 2 },
      async () => {
        first.resolve();
        await second.promise;
        return 'a';
      },
      async () => {
        second.resolve();
        await first.promise;
        return 'b';
      },
    ).run();
    expect(summary.status).toBe('succeeded');
  });

  it('fanOutFanIn: the final step sees every middle value', async () => {
    const summary = await fanOutFanIn(
      () => [1, 2, 3],
      [
        (ctx) => (ctx.needs.initial?.value as number[]).map((n) => n * 2),
        (ctx) => (ctx.needs.initial?.value as number[]).map((n) => n * 3),
        function sum(ctx) {
          return (ctx.needs.initial?.value as number[]).reduce((a, b) => a + b, 0);
        },
      ],
      (ctx) => Object.fromEntries(Object.entries(ctx.needs).map(([id, need]) => [id, need.value])),
    ).run();
    expect(summary.steps.map((s) => s.id)).toEqual(['initial', 'step-1', 'step-2', 'sum', 'final']);
    expect(getStepResult(summary, 'final')?.value).toEqual({ 'step-1': [2, 4, 6], 'step-2': [3, 6, 9], sum: 6 });
  });
});
