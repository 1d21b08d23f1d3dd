import { afterAll, beforeAll } from 'vitest';

/** The two ways a step's process starts (src/execution/start-process.ts). */
export const STARTERS = ['native', 'child_process'] as const;

/**
 * Makes the tests of the enclosing `describe` start processes through `starter`: the native
 * starter (the default where it is built) or child_process (ORCHESTRATOR_NATIVE_SPAWN=0).
 */
export function useStarter(starter: (typeof STARTERS)[number]): void {
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env.ORCHESTRATOR_NATIVE_SPAWN;
    if (starter === 'child_process') process.env.ORCHESTRATOR_NATIVE_SPAWN = '0';
    else delete process.env.ORCHESTRATOR_NATIVE_SPAWN;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.ORCHESTRATOR_NATIVE_SPAWN;
    else process.env.ORCHESTRATOR_NATIVE_SPAWN = saved;
  });
}
