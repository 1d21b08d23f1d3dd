import type { RetryPolicy } from '../core/retry.js';
import type { ConditionContext } from '../core/spec.js';
import { toDescriptor, type StepAction, type StepDescriptor } from './step-descriptor.js';
import { DSL_RETRY_ATTEMPTS, expectNonEmptyString, expectNonNegativeInteger, toRetryPolicy, validateStepOptions, type StepOptions } from './step-options.js';

/**
 * A named step descriptor: `chain()`, `parallel()` and `Workflow.step(descriptor)` use `name` as
 * its id. Twin of the Python `@step(name, timeout, retry)` decorator, which only set metadata.
 *
 * @example
 * chain(step('fetch', fetchAll), step('parse', (ctx) => parse(ctx.needs.fetch?.value)))
 */
export function step(name: string, action: StepAction, options: StepOptions = {}): StepDescriptor {
  expectNonEmptyString(name, 'the step name');
  validateStepOptions(options, `step "${name}"`);
  return toDescriptor(action, `the action of step "${name}"`).with(options).named(name);
}

/** Options of {@link retry}: a retry policy, every field optional. */
export type RetryOptions = Partial<RetryPolicy>;

/**
 * The action with a retry policy. The engine runs the attempts: between them it waits
 * `initialDelay · factor^(n-2)` ms (capped at `maxDelay`, then jittered), and a function that throws
 * `NonRetryableError` stops at once. A number is `maxAttempts`.
 *
 * Defaults (Python `retry(action, max_attempts=3, delay=1.0, backoff=2.0)`): `maxAttempts` 3,
 * `initialDelay` 1000, `factor` 2, `maxDelay` 60000, `jitter` 'none', every failure retried.
 */
export function retry(action: StepAction, options: RetryOptions | number = {}): StepDescriptor {
  // Checked here, so that a mistake is named as the argument given to retry(), not as an option
  // of whatever step the action is.
  toRetryPolicy(options, typeof options === 'number' ? 'the number of attempts given to retry()' : 'the options given to retry()');
  const policy = typeof options === 'number' ? { maxAttempts: options } : { maxAttempts: DSL_RETRY_ATTEMPTS, ...options };
  return toDescriptor(action, 'the action given to retry()').with({ retry: policy });
}

/**
 * The action with a timeout in milliseconds. A process step's tree is killed (SIGTERM, SIGKILL
 * after the grace period); a function step's `ctx.signal` aborts and the step ends `timed-out` at
 * once (the function should stop when the signal fires: in-process code cannot be killed).
 */
export function timeout(action: StepAction, ms: number): StepDescriptor {
  expectNonNegativeInteger(ms, 'the timeout given to timeout()');
  return toDescriptor(action, 'the action given to timeout()').with({ timeout: ms });
}

/** A step predicate over the dependencies' results. */
export type StepPredicate = (context: ConditionContext) => boolean | Promise<boolean>;

/**
 * Sets a step's in-process condition: when it returns false the step is `skipped` (reason
 * `condition-false`) and so are the steps that need it. `condition(predicate)` returns a modifier to
 * apply to an action; `condition(predicate, action)` applies it at once.
 *
 * @example
 * wf.step('deploy', condition((ctx) => ctx.needs.test?.value === 'green', deploy), { needs: 'test' })
 */
export function condition(predicate: StepPredicate): (action: StepAction) => StepDescriptor;
export function condition(predicate: StepPredicate, action: StepAction): StepDescriptor;
export function condition(
  predicate: StepPredicate,
  action?: StepAction,
): StepDescriptor | ((action: StepAction) => StepDescriptor) {
  if (typeof predicate !== 'function') {
    throw new TypeError(`Expected the predicate given to condition() to be a function, got \`${String(predicate)}\` (${typeof predicate})`);
  }
  const apply = (target: StepAction): StepDescriptor =>
    toDescriptor(target, 'the action given to condition()').with({ condition: predicate });
  return action === undefined ? apply : apply(action);
}
