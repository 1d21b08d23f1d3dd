/** What `promise` resolves with, or undefined when it rejects or `ms` pass first. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  const result = await Promise.race([promise.catch(() => undefined), timeout]);
  clearTimeout(timer);
  return result;
}
