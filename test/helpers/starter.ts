import { afterAll, beforeAll } from 'vitest';

/** The two ways a step's process starts (src/execution/start-process.ts). */
export const STARTERS = ['native', 'child_process'] as const;
type Starter = (typeof STARTERS)[number];

/**
 * Chooses the starter (child_process is ORCHESTRATOR_NATIVE_SPAWN=0) and returns a function that
 * puts the variable back as it was.
 */
export function chooseStarter(starter: Starter): () => void {
  const saved = process.env.ORCHESTRATOR_NATIVE_SPAWN;
  if (starter === 'child_process') process.env.ORCHESTRATOR_NATIVE_SPAWN = '0';
  else delete process.env.ORCHESTRATOR_NATIVE_SPAWN;
  return () => {
    if (saved === undefined) delete process.env.ORCHESTRATOR_NATIVE_SPAWN;
    else process.env.ORCHESTRATOR_NATIVE_SPAWN = saved;
  };
}

/**
 * Makes the tests of the enclosing `describe` start processes through `starter`: the native
 * starter (the default where it is built) or child_process.
 */
export function useStarter(starter: Starter): void {
  let restore: (() => void) | undefined;
  beforeAll(() => {
    restore = chooseStarter(starter);
  });
  afterAll(() => restore?.());
}
