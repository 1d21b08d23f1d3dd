import { describe, expect, it } from 'vitest';
import { EXIT_CODES, exitCodeFor } from '../../src/bridges/exit-code.js';
import { makeStep, makeSummary, mixedSummary } from '../reporters/summary-factory.js';

describe('exitCodeFor', () => {
  it('is 0 when every step succeeded or was skipped', () => {
    const summary = makeSummary([
      makeStep({ id: 'a.sh' }),
      makeStep({ id: 'b.sh', status: 'skipped', reason: 'skipped-by-config', exitCode: null }),
    ]);
    expect(exitCodeFor(summary)).toBe(0);
  });

  it('is 1 when a step failed or timed out', () => {
    expect(exitCodeFor(mixedSummary())).toBe(1);
    const timedOut = makeSummary([makeStep({ id: 'a.sh', status: 'timed-out', reason: 'timed-out', timedOut: true })]);
    expect(exitCodeFor(timedOut)).toBe(1);
  });

  it('is 0 when the only failures are of steps with continue_on_error, and 1 when another step failed too', () => {
    const optional = makeStep({ id: 'optional.sh', status: 'failed', reason: 'exit-non-zero', exitCode: 5, continuedOnError: true });
    const slow = makeStep({ id: 'slow.sh', status: 'timed-out', reason: 'timed-out', timedOut: true, continuedOnError: true });
    expect(exitCodeFor(makeSummary([optional, slow, makeStep({ id: 'next.sh' })], { status: 'succeeded' }))).toBe(0);
    const bad = makeStep({ id: 'bad.sh', status: 'failed', reason: 'exit-non-zero', exitCode: 1 });
    expect(exitCodeFor(makeSummary([optional, bad]))).toBe(1);
  });

  it('is 1 when the run was cancelled by its own timeout', () => {
    const summary = makeSummary([makeStep({ id: 'a.sh', status: 'cancelled', reason: 'cancelled' })], {
      status: 'cancelled',
      cancelReason: 'run timeout of 1m00s reached',
    });
    expect(exitCodeFor(summary)).toBe(1);
  });

  it('is 130 after SIGINT and 143 after SIGTERM, whatever the steps did', () => {
    expect(exitCodeFor(mixedSummary(), 'SIGINT')).toBe(130);
    expect(exitCodeFor(makeSummary([makeStep({ id: 'a.sh' })]), 'SIGTERM')).toBe(143);
    expect(EXIT_CODES.usage).toBe(2);
  });
});
