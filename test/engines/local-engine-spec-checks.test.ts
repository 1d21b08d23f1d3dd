import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkflowSpec } from '../../src/core/spec.js';
import { LocalEngine } from '../../src/engines/local/local-engine.js';
import { functionStep, workflowSpec } from '../helpers/step-factory.js';

let engine: LocalEngine;
beforeEach(() => {
  engine = new LocalEngine();
});
afterEach(async () => {
  await engine.close();
});

/** A spec built by hand, as a JavaScript caller (or a JSON file) would: no type checks. */
function handBuilt(overrides: Record<string, unknown>): WorkflowSpec {
  return Object.assign(workflowSpec([functionStep('a', () => 1)]), overrides);
}

describe('LocalEngine.submit checks a hand-built spec', () => {
  it.each([
    [{ concurrency: 'x' }, /Expected `concurrency` of the workflow spec to be a whole number of 1 or more \(0 for the number of CPUs\), got `"x"` \(string\)/],
    [{ concurrency: -1 }, /`concurrency` of the workflow spec .* got `-1` \(number\)/],
    [{ concurrency: Number.NaN }, /`concurrency` of the workflow spec .* got `NaN` \(number\)/],
    [{ timeout: '1s' }, /Expected `timeout` of the workflow spec to be milliseconds, 0 or more \(0 for none\), got `"1s"` \(string\)/],
    [{ timeout: -5 }, /`timeout` of the workflow spec .* got `-5` \(number\)/],
    [{ failurePolicy: 'fail-fast' }, /Expected `failurePolicy` of the workflow spec to be 'no-new', 'continue' or 'kill', got `"fail-fast"` \(string\)/],
    [{ steps: { a: {} } }, /Expected `steps` of the workflow spec to be a list of steps, got `\{"a":\{\}\}` \(object\)/],
    [{ steps: [null] }, /Expected `steps\[0\]` of the workflow spec to be a step object, got `null` \(null\)/],
    [{ steps: [{ ...functionStep('a', () => 1), id: 7 }] }, /Expected `steps\[0\]\.id` of the workflow spec to be a non-empty string, got `7` \(number\)/],
    [{ steps: [{ ...functionStep('a', () => 1), needs: 'b' }] }, /Expected `needs` of step "a" to be a list of step ids, got `"b"` \(string\)/],
    [
      { steps: [functionStep('b', () => 1), { ...functionStep('a', () => 1), needs: [1] }] },
      /Expected `needs` of step "a" to be a list of step ids, got `1` \(number\) in it/,
    ],
  ])('refuses bad fields with a TypeError naming the field (%#)', (overrides, message) => {
    expect(() => engine.submit(handBuilt(overrides))).toThrow(TypeError);
    expect(() => engine.submit(handBuilt(overrides))).toThrow(message);
  });
});

describe('LocalEngine.submit keeps the defaults of a hand-built spec', () => {
  it('concurrency 0 means the number of CPUs, and a timeout in fractions of a millisecond is taken', async () => {
    const summary = await engine.submit(handBuilt({ concurrency: 0, timeout: 60_000.5 })).result;
    expect(summary.status).toBe('succeeded');
  });
});
