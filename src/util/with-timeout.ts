import { setLongTimeout, type LongTimeout } from './long-timeout.js';

/** What `promise` resolves with, or undefined when it rejects or `ms` pass first. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: LongTimeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setLongTimeout(() => resolve(undefined), ms);
  });
  const result = await Promise.race([promise.catch(() => undefined), timeout]);
  timer?.clear();
  return result;
}
