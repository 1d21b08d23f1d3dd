/**
 * The coordinator's side of the distributed engine: puts step attempts on BullMQ queues, hears
 * their results, relays cancels, and never waits forever (lost jobs are found by reconciling, and
 * a Redis that stays away fails the waiting steps with a clear reason).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job, Queue } from 'bullmq';
import type { ProcessStep } from '../../execution/process-executor.js';
import { StreamCapture } from '../../execution/output-capture.js';
import { appendLogSection } from '../../execution/log-file.js';
import { attemptWithoutProcess, type AttemptResult, type ExecutionContext, type StepExecutor } from '../../execution/step-executor.js';
import type { FailureReason } from '../../core/status.js';
import { withTimeout } from '../../util/with-timeout.js';
import { setLongTimeout } from '../../util/long-timeout.js';
import { connectRedis, redactRedisUrl, type Redis } from './redis.js';
import {
  channels,
  DELIVERED,
  decodeOutput,
  jobIdFor,
  keys,
  packSize,
  PROTOCOL_VERSION,
  queueFor,
  sealJob,
  toWire,
  type BatchData,
  type CancelMessage,
  type JobData,
  type StepJob,
  type WireAttempt,
} from './protocol.js';
import { dynamicImport } from '../../util/dynamic-import.js';

export interface CoordinatorOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  redis: string;
  /** Queue for steps without `runsOn.queue`. @default 'steps' */
  queue?: string;
  /** BullMQ key prefix. @default 'orch' */
  prefix?: string;
  /** Shared secret: every job is signed with it (workers with the same secret refuse others). */
  secret?: string;
  /** Milliseconds Redis may stay unreachable before waiting steps fail. @default 15000 */
  redisTimeout?: number;
  /** How often jobs without news are looked up in Redis. @default 2000 */
  reconcileInterval?: number;
  /** @default 5000 */
  connectTimeout?: number;
  /** The coordinator's git commit, sent with each job. */
  commit?: string;
  /**
   * Told once per queue when a step has waited `noWorkerNoticeAfter` ms in it and no worker
   * serves that queue (a typo in `--queue` or `runs_on`, or no worker started yet).
   */
  onNotice?: (message: string) => void;
  /** @default 5000 (`NO_WORKER_NOTICE_MS`) */
  noWorkerNoticeAfter?: number;
}

/** How long a step waits in a queue no worker serves before `onNotice` says so. */
export const NO_WORKER_NOTICE_MS = 5000;

interface Pending {
  jobId: string;
  /** The BullMQ job it travels in, when it was packed with others. */
  pack?: Pack;
  queue: string;
  runId: string;
  since: number;
  /**
   * Where its job is: not handed over yet (`new`), in `#batches` (`batched`), being added to
   * Redis (`adding`, until `added` settles), or in Redis (`queued`). Only a queued job can be
   * missing from Redis.
   */
  stage: 'new' | 'batched' | 'adding' | 'queued';
  added?: Promise<void>;
  settled: boolean;
  started: boolean;
  context: ExecutionContext;
  step: ProcessStep;
  resolve: (attempt: WireAttempt | Synthetic) => void;
  stdout?: StreamCapture;
  stderr?: StreamCapture;
}

/** A result the coordinator made up because the worker's never came. */
interface Synthetic {
  synthetic: true;
  status: 'failed' | 'cancelled';
  reason: FailureReason;
  message: string;
  nonRetryable?: boolean;
  /** Its job was never taken by a worker: the attempt never began. */
  notTaken?: boolean;
}

/** A BullMQ job that carries several inline functions. */
interface Pack {
  id: string;
  queue: string;
  members: string[];
  /** Members whose cancel was asked for. */
  cancelled: number;
  /** Taking the pack out of its queue, once every member is cancelled: whether it was. */
  removal?: Promise<boolean>;
}

/** A step attempt waiting to be added to its queue. */
interface Outgoing {
  jobId: string;
  data: JobData;
  name: string;
  /** An inline function: may share a BullMQ job with others ready at the same time. */
  packable: boolean;
}

const ADD_CHUNK = 200;
const JOB_RETENTION = { age: 24 * 3600, count: 10_000 };
const STALLED = 'job stalled more than allowable limit';
/** How long a cancelled packed step stays marked in Redis for workers that had not heard the cancel. */
const CANCEL_RECORD_SECONDS = JOB_RETENTION.age;
/** The heartbeat key's TTL: a worker drops the queued jobs of a coordinator silent this long. */
const HEARTBEAT_TTL_MS = 5000;
/** How long a forced stop waits for the workers to report the killed steps. */
const KILL_WAIT_MS = 2000;

export class Coordinator {
  readonly #options: Required<Pick<CoordinatorOptions, 'queue' | 'prefix' | 'redisTimeout' | 'reconcileInterval'>> & CoordinatorOptions;
  readonly #conn: Redis;
  readonly #sub: Redis;
  readonly #bullmq: typeof import('bullmq');
  readonly #queues = new Map<string, Queue>();
  readonly #pending = new Map<string, Pending>();
  readonly #batches = new Map<string, Outgoing[]>();
  readonly #runChannels = new Map<string, { count: number; ready: Promise<unknown> }>();
  #flushScheduled = false;
  /** Queues looked up for workers: `seen` had one, `noticed` had none and was told. */
  readonly #workerCheck = new Map<string, 'checking' | 'seen' | 'noticed'>();
  #downSince: number | undefined;
  #timer: NodeJS.Timeout;
  #closed = false;
  /** This coordinator's id: its heartbeat key, and carried by its jobs. */
  readonly #id = randomBytes(8).toString('hex');

  private constructor(options: CoordinatorOptions, conn: Redis, sub: Redis, bullmq: typeof import('bullmq')) {
    this.#options = { queue: 'steps', prefix: 'orch', redisTimeout: 15_000, reconcileInterval: 2000, ...options };
    this.#conn = conn;
    this.#sub = sub;
    this.#bullmq = bullmq;
    conn.on('close', () => {
      this.#downSince ??= Date.now();
    });
    conn.on('ready', () => {
      if (this.#downSince === undefined) return;
      this.#downSince = undefined;
      void this.#beat();
      // Redis is back: whatever we wait for may have vanished with it (no persistence).
      void this.#reconcile(Infinity);
    });
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#onOutput(message));
    this.#timer = setInterval(() => this.#tick(), Math.min(this.#options.reconcileInterval, 1000));
    this.#timer.unref();
  }

  static async connect(options: CoordinatorOptions): Promise<Coordinator> {
    const connectTimeout = options.connectTimeout ?? 5000;
    const conn = await connectRedis(options.redis, { connectTimeout, name: 'orchestrator-coordinator' });
    let sub: Redis;
    try {
      sub = await connectRedis(options.redis, { connectTimeout, name: 'orchestrator-coordinator-sub' });
    } catch (error) {
      conn.disconnect();
      throw error;
    }
    const bullmq = await dynamicImport<typeof import('bullmq')>('bullmq');
    const coordinator = new Coordinator(options, conn, sub, bullmq);
    // In place before any job is: a worker drops jobs whose coordinator has no heartbeat.
    await coordinator.#beat();
    return coordinator;
  }

  /** Refreshes the heartbeat key (a worker does not start the jobs of a coordinator without one). */
  #beat(): Promise<void> {
    return this.#conn
      .set(keys.alive(this.#options.prefix, this.#id), '1', 'PX', HEARTBEAT_TTL_MS)
      .then(() => undefined)
      .catch(() => undefined);
  }

  get redisUrl(): string {
    return redactRedisUrl(this.#options.redis);
  }

  /** An executor for every process kind; paths are shipped relative to `root`. */
  executor(root: string): StepExecutor<ProcessStep> {
    const submission = randomBytes(4).toString('hex');
    return {
      execute: (step, context) => this.#execute(step, context, root, submission),
      // A forced stop of the run: the workers SIGKILL its step trees at once.
      kill: (runId, reason) => void this.killRun(runId, reason).catch(() => undefined),
    };
  }

  /** Asks every worker to kill what it runs for `runId` (a crashed coordinator's leftovers). */
  async cancelRun(runId: string, cause = 'cancelled'): Promise<void> {
    const message: CancelMessage = { runId, cause, before: Date.now() };
    await this.#conn.publish(channels.cancel(this.#options.prefix), JSON.stringify(message));
  }

  /**
   * A forced stop of a run (a second cancel, `halt`, closing): every worker kills the run's step
   * trees at once (SIGKILL to their groups, no grace) and starts none of its jobs any more. Waits
   * (up to `waitMs`) for the workers to report the steps they held.
   */
  async killRun(runId: string, cause = 'cancelled', waitMs = KILL_WAIT_MS): Promise<void> {
    await this.killRuns([runId], cause, waitMs);
  }

  async killRuns(runIds: Iterable<string>, cause = 'cancelled', waitMs = KILL_WAIT_MS): Promise<void> {
    const runs = new Set(runIds);
    if (runs.size === 0) return;
    const channel = channels.cancel(this.#options.prefix);
    const sent = await withTimeout(
      Promise.all([...runs].map((runId) => this.#conn.publish(channel, JSON.stringify({ runId, cause, kill: true } satisfies CancelMessage)))),
      waitMs,
    );
    if (sent === undefined) return; // Redis is away: no worker can hear it.
    const deadline = Date.now() + waitMs;
    const held = (): boolean => {
      for (const p of this.#pending.values()) if (!p.settled && runs.has(p.runId) && p.stage === 'queued') return true;
      return false;
    };
    while (held() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** A forced stop of every run with steps on workers (see `killRun`). */
  async killAll(cause: string): Promise<void> {
    if (this.#downSince !== undefined) return;
    const runs = new Set<string>();
    for (const pending of this.#pending.values()) if (!pending.settled && pending.stage === 'queued') runs.add(pending.runId);
    await this.killRuns(runs, cause);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    // A forced stop reaches the steps on workers before we stop listening for them.
    await this.killAll('cancelled: engine closed');
    for (const pending of this.#pending.values()) {
      this.#settle(pending, { synthetic: true, status: 'cancelled', reason: 'cancelled', message: 'engine closed' });
    }
    // With Redis away, BullMQ's close would wait for a reconnect that may never come.
    await withTimeout(Promise.allSettled([...this.#queues.values()].map((queue) => queue.close())), 3000);
    await withTimeout(this.#conn.del(keys.alive(this.#options.prefix, this.#id)), 1000).catch(() => undefined);
    this.#sub.disconnect();
    await withTimeout(this.#conn.quit(), 1000);
    this.#conn.disconnect();
  }

  #queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new this.#bullmq.Queue(name, { connection: this.#conn, prefix: this.#options.prefix });
      queue.on('error', () => undefined);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  async #execute(step: ProcessStep, context: ExecutionContext, root: string, submission: string): Promise<AttemptResult> {
    const startedAt = Date.now();
    if (this.#downSince !== undefined && Date.now() - this.#downSince > this.#options.redisTimeout) {
      return toAttempt(step, this.#unavailable(), startedAt);
    }
    const jobId = jobIdFor(context.runId, step.id, context.attempt, submission);
    const relay = context.logPath !== undefined || context.onOutput !== undefined;
    const job: StepJob = {
      v: PROTOCOL_VERSION,
      runId: context.runId,
      stepId: step.id,
      attempt: context.attempt,
      step: toWire(step, root),
      relay,
      issuedAt: startedAt,
      coordinator: this.#id,
      ...(this.#options.commit ? { commit: this.#options.commit } : {}),
    };
    const packable = step.kind === 'module' && step.isolation === 'inline';
    if (packable) job.id = jobId;
    const files = hasSpilledOutputs(step) ? await spilledOutputs(step) : undefined;
    if (files) job.files = files;
    const queue = queueFor(this.#options.queue, step);
    const outcome = new Promise<WireAttempt | Synthetic>((resolve) => {
      const pending: Pending = { jobId, queue, runId: context.runId, since: startedAt, stage: 'new', settled: false, started: false, context, step, resolve };
      if (relay) {
        const spill = context.logPath ? `${context.logPath}.${context.attempt}.relay` : undefined;
        pending.stdout = new StreamCapture({ tailBytes: 1, memoryBytes: 1 << 20, ...(spill ? { spillPath: `${spill}.out` } : {}) });
        pending.stderr = new StreamCapture({ tailBytes: 1, memoryBytes: 1 << 20, ...(spill ? { spillPath: `${spill}.err` } : {}) });
      }
      this.#pending.set(jobId, pending);
    });
    // Results, start notices and output come on the run's channel: listen before the job exists.
    await this.#watchRun(context.runId);
    const stopWatching = context.onAbort((cause) => void this.#cancel(jobId, String(cause)));
    try {
      const waiting = this.#pending.get(jobId);
      if (waiting?.settled === false) {
        waiting.stage = 'batched';
        this.#enqueue(queue, { jobId, name: step.id, data: sealJob(job, this.#options.secret), packable });
      }
      const result = await outcome;
      const pending = this.#pending.get(jobId);
      this.#pending.delete(jobId);
      const attempt = toAttempt(step, result, startedAt);
      if (pending && !pending.started && attempt.notStarted !== true) this.#markStarted(pending, attempt.command);
      if (attempt.notStarted === true) await Promise.all([pending?.stdout?.discard(), pending?.stderr?.discard()]);
      else if (context.logPath && pending?.stdout && pending.stderr) {
        await this.#writeLog(context, step, attempt, result, pending.stdout, pending.stderr);
      }
      return attempt;
    } finally {
      stopWatching();
      this.#pending.delete(jobId);
      this.#unwatchRun(context.runId);
    }
  }

  #markStarted(pending: Pending, command?: string[]): void {
    pending.started = true;
    pending.context.onSpawn?.(-1, command ?? displayCommand(pending.step));
  }

  #enqueue(queue: string, item: Outgoing): void {
    let batch = this.#batches.get(queue);
    if (!batch) {
      batch = [];
      this.#batches.set(queue, batch);
    }
    batch.push(item);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Steps that become ready together go in one round trip.
    setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    const batches = [...this.#batches];
    this.#batches.clear();
    await Promise.all(batches.map(([name, items]) => this.#add(name, items)));
  }

  /**
   * Adds jobs in chunks, one after the other: Redis starts on the first chunk (and workers on its
   * jobs) while the next one is being built, instead of after all of them. Inline functions ready
   * together are packed several to a job (`packSize`).
   */
  async #add(name: string, items: Outgoing[]): Promise<void> {
    const queue = this.#queue(name);
    const jobs = this.#pack(name, items);
    // Every step is `adding` from now until its chunk is in Redis: a later chunk's jobs are not
    // in Redis yet, and reconciling must not take them for vanished ones (nor a cancel for gone).
    const chunks: { jobs: typeof jobs; done: () => void }[] = [];
    for (let i = 0; i < jobs.length; i += ADD_CHUNK) {
      let done!: () => void;
      const added = new Promise<void>((resolve) => (done = resolve));
      const chunk = jobs.slice(i, i + ADD_CHUNK);
      for (const job of chunk) {
        for (const member of job.members) {
          const pending = this.#pending.get(member);
          if (pending) {
            pending.stage = 'adding';
            pending.added = added;
          }
        }
      }
      chunks.push({ jobs: chunk, done });
    }
    for (const { jobs: chunk, done } of chunks) {
      try {
        await queue.addBulk(
          chunk.map((job) => ({
            name: job.name,
            data: job.data,
            opts: { jobId: job.jobId, removeOnComplete: JOB_RETENTION, removeOnFail: JOB_RETENTION },
          })),
        );
      } catch (error) {
        for (const job of chunk) {
          for (const member of job.members) {
            const pending = this.#pending.get(member);
            if (pending) {
              this.#settle(pending, {
                synthetic: true,
                status: 'failed',
                reason: 'queue-unavailable',
                message: `could not enqueue on ${this.redisUrl}: ${error instanceof Error ? error.message : String(error)}`,
                nonRetryable: true,
              });
            }
          }
        }
      }
      for (const job of chunk) {
        for (const member of job.members) {
          const pending = this.#pending.get(member);
          if (pending?.stage === 'adding') pending.stage = 'queued';
        }
      }
      done();
    }
  }

  /** The BullMQ jobs for `items`: one per step, or one per pack of inline functions. */
  #pack(queue: string, items: Outgoing[]): { jobId: string; name: string; data: JobData | BatchData; members: string[] }[] {
    const packable = items.filter((item) => item.packable);
    const size = packSize(packable.length);
    const jobs: { jobId: string; name: string; data: JobData | BatchData; members: string[] }[] = items
      .filter((item) => size === 1 || !item.packable)
      .map((item) => ({ jobId: item.jobId, name: item.name, data: item.data, members: [item.jobId] }));
    if (size === 1) return jobs;
    for (let i = 0; i < packable.length; i += size) {
      const pack = packable.slice(i, i + size);
      const first = pack[0] as Outgoing;
      const jobId = `${first.jobId}+${pack.length}`;
      const members = pack.map((item) => item.jobId);
      const shared: Pack = { id: jobId, queue, members, cancelled: 0 };
      for (const item of pack) {
        const pending = this.#pending.get(item.jobId);
        if (pending) pending.pack = shared;
      }
      jobs.push({ jobId, name: `${first.name} +${pack.length - 1}`, data: { batch: pack.map((item) => item.data) }, members });
    }
    return jobs;
  }

  /**
   * Cancels one step attempt. A job still in Redis's queue is taken out (a pack once all its
   * members are cancelled), and only when that fails (a worker holds it) is the cancel published:
   * a worker subscribes before it takes any job, so the one holding it hears it. A packed step
   * whose pack must stay (others in it still run) is also marked in Redis, for a worker that takes
   * the pack later without having heard the cancel.
   */
  async #cancel(jobId: string, cause: string): Promise<void> {
    const pending = this.#pending.get(jobId);
    if (!pending || pending.settled) return;
    const notTaken = `${cause} before a worker took it`;
    if (pending.stage === 'new' || pending.stage === 'batched') {
      // Not sent yet: drop it from the batch (if it is there), and it never will be.
      const batch = this.#batches.get(pending.queue);
      const index = batch?.findIndex((item) => item.jobId === jobId) ?? -1;
      if (batch && index >= 0) batch.splice(index, 1);
      this.#settle(pending, { synthetic: true, status: 'cancelled', reason: 'cancelled', message: notTaken, notTaken: true });
      return;
    }
    // Counted at once, so that members cancelled together see their whole pack cancelled.
    const pack = pending.pack;
    if (pack) pack.cancelled += 1;
    try {
      // A job being added is not in Redis yet: removing it now would remove nothing.
      if (pending.stage === 'adding') await pending.added;
      if (pending.settled) return;
      const prefix = this.#options.prefix;
      if (pack) {
        if (pack.cancelled >= pack.members.length) {
          pack.removal ??= this.#queue(pack.queue)
            .remove(pack.id)
            .then((removed) => removed === 1);
          if (await pack.removal) {
            for (const member of pack.members) {
              const other = this.#pending.get(member);
              if (other) this.#settle(other, { synthetic: true, status: 'cancelled', reason: 'cancelled', message: notTaken, notTaken: true });
            }
            return;
          }
        } else {
          await this.#conn.set(keys.cancelled(prefix, jobId), cause, 'EX', CANCEL_RECORD_SECONDS);
        }
      } else if ((await this.#queue(pending.queue).remove(jobId)) === 1) {
        this.#settle(pending, { synthetic: true, status: 'cancelled', reason: 'cancelled', message: notTaken, notTaken: true });
        return;
      }
      if (pending.settled) return;
      const message: CancelMessage = { jobId, runId: pending.runId, cause };
      await this.#conn.publish(channels.cancel(prefix), JSON.stringify(message));
    } catch {
      // Redis trouble: the watchdog below still ends the wait.
    }
    if (pending.settled) return;
    // The worker kills the tree and reports; if it never does, stop waiting after the grace.
    setLongTimeout(() => {
      if (!pending.settled) {
        this.#settle(pending, { synthetic: true, status: 'cancelled', reason: 'cancelled', message: `${cause}; the worker did not confirm the kill` });
      }
    }, pending.step.killGrace + 10_000).unref();
  }

  #settle(pending: Pending, result: WireAttempt | Synthetic): void {
    if (pending.settled) return;
    pending.settled = true;
    pending.resolve(result);
  }

  /** Listens on the run's channel; every caller waits until the subscription is in place. */
  #watchRun(runId: string): Promise<unknown> {
    let watch = this.#runChannels.get(runId);
    if (!watch) {
      watch = { count: 0, ready: this.#sub.subscribe(channels.output(this.#options.prefix, runId)) };
      this.#runChannels.set(runId, watch);
    }
    watch.count += 1;
    return watch.ready;
  }

  #unwatchRun(runId: string): void {
    const watch = this.#runChannels.get(runId);
    if (!watch) return;
    watch.count -= 1;
    if (watch.count > 0) return;
    this.#runChannels.delete(runId);
    void this.#sub.unsubscribe(channels.output(this.#options.prefix, runId)).catch(() => undefined);
  }

  #onOutput(message: Buffer): void {
    const decoded = decodeOutput(message);
    if (!decoded) return;
    if (decoded.header.t === 'R') {
      // Results that finished together on a worker: `[[jobId, result], …]`.
      let results: [string, WireAttempt][];
      try {
        results = JSON.parse(decoded.body.toString()) as [string, WireAttempt][];
      } catch {
        return; // Mangled: reconciling reads the ones BullMQ kept.
      }
      for (const [jobId, result] of results) {
        const pending = this.#pending.get(jobId);
        if (pending) this.#settle(pending, result);
      }
      return;
    }
    const pending = this.#pending.get(decoded.header.j);
    if (!pending) return;
    const { header, body } = decoded;
    if (header.t === 's') {
      if (!pending.started) {
        pending.started = true;
        pending.context.onSpawn?.(header.pid ?? -1, header.command ?? displayCommand(pending.step));
      }
    } else if (header.t === 'r') {
      try {
        this.#settle(pending, JSON.parse(body.toString()) as WireAttempt);
      } catch {
        // A mangled result: reconciling reads the one BullMQ kept.
      }
    } else {
      if (!pending.started) this.#markStarted(pending);
      const stream = header.t === 'o' ? 'stdout' : 'stderr';
      (stream === 'stdout' ? pending.stdout : pending.stderr)?.push(body);
      pending.context.onOutput?.(stream, body);
    }
  }

  #unavailable(): Synthetic {
    return {
      synthetic: true,
      status: 'failed',
      reason: 'queue-unavailable',
      message: `Redis at ${this.redisUrl} has been unreachable for more than ${this.#options.redisTimeout / 1000} s`,
      nonRetryable: true,
    };
  }

  #lastReconcile = 0;
  #tick(): void {
    const now = Date.now();
    if (this.#downSince !== undefined && now - this.#downSince > this.#options.redisTimeout) {
      for (const pending of this.#pending.values()) this.#settle(pending, this.#unavailable());
      return;
    }
    if (this.#downSince === undefined) void this.#beat();
    if (this.#downSince === undefined && now - this.#lastReconcile >= this.#options.reconcileInterval) {
      this.#lastReconcile = now;
      void this.#reconcile(this.#options.reconcileInterval);
    }
    if (this.#downSince === undefined && this.#options.onNotice !== undefined) this.#noticeUnserved(now);
  }

  /**
   * Steps waiting longer than `noWorkerNoticeAfter` in a queue no worker has been seen on: said
   * once per queue (the wait goes on: a worker may start later). BullMQ's `getWorkers` lists the
   * connections of workers that serve the queue now.
   */
  #noticeUnserved(now: number): void {
    const after = this.#options.noWorkerNoticeAfter ?? NO_WORKER_NOTICE_MS;
    for (const pending of this.#pending.values()) {
      if (pending.settled || pending.started || pending.stage !== 'queued' || now - pending.since < after) continue;
      if (this.#workerCheck.has(pending.queue)) continue;
      const name = pending.queue;
      this.#workerCheck.set(name, 'checking');
      void this.#queue(name)
        .getWorkers()
        .then((workers) => {
          if (workers.length > 0 || pending.started) {
            this.#workerCheck.set(name, 'seen');
            return;
          }
          this.#workerCheck.set(name, 'noticed');
          const runsOn = pending.step.runsOn;
          const base = runsOn?.queue ?? this.#options.queue;
          const tags = [...new Set(runsOn?.tags ?? [])].sort();
          const start = `orchestrator worker${base === 'steps' ? '' : ` --queue ${base}`}${tags.length > 0 ? ` --tags ${tags.join(',')}` : ''} ...`;
          const where = tags.length > 0 ? `on queue "${base}" with tags ${tags.join(', ')}` : `on queue "${base}"`;
          this.#options.onNotice?.(`step ${pending.step.id} is waiting for a worker ${where} (no worker serves it yet; start one with: ${start})`);
        })
        .catch(() => this.#workerCheck.delete(name));
    }
  }

  /** Looks up jobs we have heard nothing about for `olderThan` ms: finished, failed, or gone. */
  async #reconcile(olderThan: number): Promise<void> {
    const now = Date.now();
    const stale = [...this.#pending.values()]
      // Only jobs in Redis: one still batched or being added (a later chunk) has not vanished.
      .filter((p) => !p.settled && p.stage === 'queued' && (olderThan === Infinity || now - p.since >= olderThan))
      .slice(0, 200);
    for (const pending of stale) {
      try {
        const queue = this.#queue(pending.queue);
        const job: Job | undefined = await this.#bullmq.Job.fromId(queue, pending.pack?.id ?? pending.jobId);
        if (pending.settled) continue;
        if (!job) {
          this.#settle(pending, {
            synthetic: true,
            status: 'failed',
            reason: 'worker-lost',
            message: 'its job vanished from Redis (was Redis restarted without persistence?)',
          });
        } else if (job.finishedOn && job.failedReason) {
          this.#settle(pending, failedToSynthetic(job.failedReason));
        } else if (job.finishedOn) {
          let value: unknown = job.returnvalue;
          if (pending.pack !== undefined) {
            // A pack returns `{ [jobId]: result }`.
            const results = (typeof value === 'string' ? JSON.parse(value) : value) as Record<string, unknown> | null;
            value = results?.[pending.jobId];
            if (value === undefined) {
              this.#settle(pending, { synthetic: true, status: 'failed', reason: 'worker-lost', message: 'its result is missing from its pack' });
              continue;
            }
          }
          if (value === DELIVERED) {
            // Heard by a subscriber, yet not by us (a reconnect between): the result is gone.
            this.#settle(pending, { synthetic: true, status: 'failed', reason: 'worker-lost', message: 'its result was lost on the way back' });
          } else {
            this.#settle(pending, (typeof value === 'string' ? JSON.parse(value) : value) as WireAttempt);
          }
        }
      } catch {
        // Redis is away; the watchdog handles it.
      }
    }
  }

  async #writeLog(
    context: ExecutionContext,
    step: ProcessStep,
    attempt: AttemptResult,
    result: WireAttempt | Synthetic,
    stdout: StreamCapture,
    stderr: StreamCapture,
  ): Promise<void> {
    const worker = 'synthetic' in result ? undefined : result.worker;
    try {
      await appendLogSection(
        context.logPath as string,
        {
          title: `${step.id} · attempt ${context.attempt}${worker ? ` · worker ${worker.id} (full log there: ${worker.logPath ?? '-'})` : ''}`,
          command: attempt.command,
          cwd: step.cwd,
          startedAt: attempt.startedAt,
          finishedAt: attempt.finishedAt,
          status: attempt.status,
          message: attempt.message,
          exitCode: attempt.exitCode,
          signal: attempt.signal,
        },
        stdout,
        stderr,
      );
    } finally {
      await Promise.all([stdout.discard(), stderr.discard()]);
    }
  }
}

function failedToSynthetic(failedReason: string): Synthetic {
  if (failedReason.includes(STALLED)) {
    return { synthetic: true, status: 'failed', reason: 'worker-lost', message: 'the worker running it stopped answering (killed or cut off)' };
  }
  if (failedReason.startsWith('refused:')) {
    return { synthetic: true, status: 'failed', reason: 'job-refused', message: failedReason.slice('refused:'.length).trim(), nonRetryable: true };
  }
  return { synthetic: true, status: 'failed', reason: 'unknown-error-thrown', message: `worker error: ${failedReason}` };
}

function toAttempt(step: ProcessStep, result: WireAttempt | Synthetic, startedAt: number): AttemptResult {
  if ('synthetic' in result) {
    return attemptWithoutProcess({
      status: result.status,
      reason: result.reason,
      message: result.message,
      command: result.notTaken ? [] : displayCommand(step),
      startedAt,
      ...(result.nonRetryable ? { nonRetryable: true } : {}),
      ...(result.notTaken ? { notStarted: true } : {}),
    });
  }
  const { worker: _worker, error, ...attempt } = result;
  if (error) {
    const rebuilt = new Error(error.message);
    rebuilt.name = error.name;
    if (error.stack) rebuilt.stack = error.stack;
    return { ...attempt, error: rebuilt };
  }
  return attempt;
}

/** What the step will run, before a worker says exactly (its interpreter is resolved there). */
function displayCommand(step: ProcessStep): string[] {
  switch (step.kind) {
    case 'command':
      return [step.shell ?? '/bin/sh', '-c', step.command];
    case 'script':
      return [...(step.interpreter ?? []), step.relativePath, ...step.args];
    case 'module':
      return ['node', '<function runner>', `${step.module}#${step.export}`];
    case 'python':
      return ['python3', '<function runner>', step.target];
  }
}

/** Where the local engine spills large outputs: `<scratch>/outputs/<step>/<key>`. */
const SPILLED_OUTPUT = /[\\/]outputs[\\/][^\\/]+[\\/][^\\/]+$/;

function hasSpilledOutputs(step: ProcessStep): boolean {
  for (const name in step.env) if (name.endsWith('_FILE')) return true;
  return false;
}

/**
 * Dependency outputs the scheduler spilled to files (this run's, or an enclosing run's when the
 * step is in a sub-workflow): the worker gets their content, since it cannot read our disk.
 */
async function spilledOutputs(step: ProcessStep): Promise<Record<string, string> | undefined> {
  let files: Record<string, string> | undefined;
  for (const [name, value] of Object.entries(step.env)) {
    if (!name.startsWith('ORCHESTRATOR_OUTPUT_') || !name.endsWith('_FILE') || !path.isAbsolute(value) || !SPILLED_OUTPUT.test(value)) continue;
    (files ??= {})[name] = await readFile(value, 'utf8');
  }
  return files;
}
