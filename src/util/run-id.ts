import { randomBytes } from 'node:crypto';

/**
 * A run id that sorts by start time and does not collide: UTC time to the millisecond plus
 * 32 random bits, e.g. `20261127-093412-123-a1b2c3d4`.
 */
export function newRunId(now: Date = new Date()): string {
  const iso = now.toISOString(); // 2026-11-27T09:34:12.123Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${iso.slice(20, 23)}`;
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}
