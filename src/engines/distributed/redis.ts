/** Opening Redis connections for BullMQ: one place for URLs, TLS, timeouts and clear errors. */
import type { Redis, RedisOptions } from 'ioredis';
import { formatDuration } from '../../core/duration.js';
import { dynamicImport } from '../../util/dynamic-import.js';
import { setLongTimeout, type LongTimeout } from '../../util/long-timeout.js';

export type { Redis };

/** The URL with its password hidden, for messages and the run record. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

export interface ConnectOptions {
  /** How long to wait for the first connection before giving up. @default 5000 */
  connectTimeout?: number;
  /** Name shown in `CLIENT LIST`. */
  name?: string;
}

/**
 * Connects to `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS), ready for BullMQ
 * (blocking commands wait through reconnects). Rejects with a clear message when Redis cannot be
 * reached within the timeout.
 */
export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<Redis> {
  if (!/^rediss?:\/\//.test(url)) {
    throw new Error(`Expected a Redis URL like redis://127.0.0.1:6379 or rediss://host:6380, got "${redactRedisUrl(url)}"`);
  }
  const { Redis: RedisClient } = await dynamicImport<typeof import('ioredis')>('ioredis');
  const timeout = options.connectTimeout ?? 5000;
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    // Commands issued in the same tick share one write: many small steps make many small commands.
    enableAutoPipelining: true,
    enableReadyCheck: true,
    connectTimeout: Math.min(timeout, 10_000),
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...(options.name ? { connectionName: options.name } : {}),
  };
  if (url.startsWith('rediss://')) redisOptions.tls = {};
  const client = new RedisClient(url, redisOptions);
  let lastError: Error | undefined;
  let errors = 0;
  let giveUp: ((error: Error) => void) | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
    errors += 1;
    // A refused connection or bad credentials will not fix themselves in a few more tries.
    if (errors >= 3 || /WRONGPASS|NOAUTH|invalid password|ENOTFOUND|certificate|SSL|TLS/i.test(error.message)) giveUp?.(error);
  });
  let timer: LongTimeout | undefined;
  const started = Date.now();
  try {
    await Promise.race([
      client.connect().catch(() => new Promise((resolve) => client.once('ready', resolve))),
      new Promise((_, reject) => {
        giveUp = reject;
        timer = setLongTimeout(() => reject(new Error('timeout')), timeout);
      }),
    ]);
    await client.ping();
  } catch (error) {
    client.disconnect();
    const why = lastError?.message ?? (error instanceof Error ? error.message : String(error));
    // The time it took, not the timeout: a refused connection gives up long before the timeout.
    const waited = formatDuration(Date.now() - started);
    const gaveUp = errors > 0 && Date.now() - started < timeout ? `gave up after ${errors} failed ${errors === 1 ? 'attempt' : 'attempts'} in ${waited}` : `waited ${waited}`;
    throw new Error(`Redis at ${redactRedisUrl(url)} is unreachable (${gaveUp}): ${why}`);
  } finally {
    timer?.clear();
  }
  return client;
}
