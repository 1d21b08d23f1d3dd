import { describe, expect, it } from 'vitest';
import { Gate } from '../../../src/engines/distributed/step-worker.js';

describe('worker gate', () => {
  it('a released slot goes to the waiter: a caller arriving before the waiter resumes waits too', async () => {
    const gate = new Gate(1);
    const releaseFirst = await gate.acquire();
    const second = gate.acquire();
    releaseFirst();
    // Same tick as the release, before the waiter has resumed.
    let thirdIn = false;
    const third = gate.acquire().then((release) => {
      thirdIn = true;
      return release;
    });
    const releaseSecond = await second;
    expect(gate.active).toBe(1);
    expect(thirdIn).toBe(false);
    releaseSecond();
    const releaseThird = await third;
    expect(gate.active).toBe(1);
    releaseThird();
    releaseThird();
    expect(gate.active).toBe(0);
  });

  it('never holds more than its limit, whatever the order of acquires and releases', async () => {
    const gate = new Gate(3);
    let holding = 0;
    let most = 0;
    const holders: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      holders.push(
        gate.acquire().then(async (release) => {
          holding += 1;
          most = Math.max(most, holding, gate.active);
          // Hold for a few turns of the microtask queue (a different number each).
          for (let k = 0; k < i % 5; k++) await Promise.resolve();
          holding -= 1;
          release();
        }),
      );
      // Callers also arrive right after releases.
      if (i % 7 === 0) await Promise.resolve();
    }
    await Promise.all(holders);
    expect(most).toBeLessThanOrEqual(3);
    expect(gate.active).toBe(0);
  });
});
