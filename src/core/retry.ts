/** How a failed step is tried again. All times are milliseconds. */
export interface RetryPolicy {
  /** Total attempts, the first included. 1 means no retry. @default 1 */
  maxAttempts: number;
  /** Delay before the second attempt. @default 1000 */
  initialDelay: number;
  /** Upper bound of any delay. @default 60000 */
  maxDelay: number;
  /** Growth factor between delays. @default 2 */
  factor: number;
  /** `none`: exact delays; `full`: uniform in [0, d]; `equal`: d/2 + uniform in [0, d/2]. @default 'none' */
  jitter: 'none' | 'full' | 'equal';
  /** Exit codes worth retrying. Empty means every failure that is not a cancel is retried. @default [] */
  retryOnExitCodes: number[];
  /** Decides per failure (function steps get the thrown error). Not serialisable. */
  retryOn?: (failure: RetryFailure) => boolean;
}

export interface RetryFailure {
  attempt: number;
  exitCode: number | null;
  reason: string;
  /** What a function step threw. */
  error?: unknown;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 1,
  initialDelay: 1000,
  maxDelay: 60_000,
  factor: 2,
  jitter: 'none',
  retryOnExitCodes: [],
};

/**
 * The delay before attempt `nextAttempt` (2 for the first retry): initialDelay·factor^(n-2),
 * capped at maxDelay, then jittered. `random` is injectable so tests are exact.
 */
export function retryDelay(
  policy: RetryPolicy,
  nextAttempt: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, nextAttempt - 2);
  const base = Math.min(policy.initialDelay * policy.factor ** exponent, policy.maxDelay);
  switch (policy.jitter) {
    case 'none':
      return base;
    case 'full':
      return random() * base;
    case 'equal':
      return base / 2 + (random() * base) / 2;
  }
}
