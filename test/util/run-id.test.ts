import { describe, expect, it } from 'vitest';
import { newRunId } from '../../src/util/run-id.js';

describe('newRunId', () => {
  it('sorts by start time, to the millisecond', () => {
    const times = [
      new Date('2026-01-02T03:04:05.006Z'),
      new Date('2026-01-02T03:04:05.010Z'),
      new Date('2026-01-02T03:04:06.000Z'),
      new Date('2026-11-27T00:00:00.000Z'),
    ];
    const ids = times.map((t) => newRunId(t));
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^20260102-030405-006-[0-9a-f]{8}$/);
  });

  it('gives different ids for the same millisecond', () => {
    const now = new Date();
    const ids = new Set(Array.from({ length: 200 }, () => newRunId(now)));
    expect(ids.size).toBe(200);
  });
});
