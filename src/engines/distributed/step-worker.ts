/**
 * `orchestrator worker`: takes step attempts off BullMQ queues and runs them with the same process
 * executor as the local engine (process groups, timeouts, bounded output, logs), returning results
 * and outputs. Cancels arrive on a pub/sub channel; process trees left by a worker that died on
 * this host are found by their environment marker and killed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Job, Queue, Worker } from 'bullmq';
import { ProcessExecutor } from '../../execution/process-executor.js';
import { ModuleExecutor } from '../../execution/module-executor.js';
import { AttemptContext } from '../../execution/attempt-context.js';
import { fileNameFor } from '../../util/file-name.js';
import { InterpreterResolver } from '../../execution/interpreter.js';
import { attemptWithoutProcess, type AttemptResult } from '../../execution/step-executor.js';
import { findProcessesWithEnv, processStartTime, signalAll, signalGroup } from '../../execution/proc-tree.js';
import { AbortHandle } from '../../util/abort-handle.js';
import { gitCommit } from '../../util/git.js';
import { withTimeout } from '../../util/with-timeout.js';
import { connectRedis, redactRedisUrl, type Redis } from './redis.js';
import {
  channels,
  DELIVERED,
  encodeOutput,
  fromWire,
  isBatch,
  keys,
  openJob,
  queuesServed,
  type CancelMessage,
  type OutputHeader,
  type StepJob,
  type WireAttempt,
} from './protocol.js';
import { dynamicImport } from '../../util/dynamic-import.js';

export const WORKER_ID_ENV = 'ORCHESTRATOR_WORKER_ID';

export interface StepWorkerOptions {
  redis: string;
  /** @default 'steps' */
  queue?: string;
  /** Tags this worker has: it also serves steps that need any subset of them. */
  tags?: string[];
  /** Steps run at once. @default 1 */
  concurrency?: number;
  /** The workspace root: job paths are resolved against it and may not leave it. */
  root: string;
  /** Where this worker keeps full logs and scratch files. @default `<root>/.orchestrator/worker` */
  stateDir?: string;
  /** Shared secret: unsigned or altered jobs are refused. */
  secret?: string;
  /** @default 'orch' */
  prefix?: string;
  /** Milliseconds a job's lock lasts without renewal: a dead worker's step is retried after about this. @default 30000 */
  lockDuration?: number;
  /** How often lost jobs are looked for. @default lockDuration / 2 */
  stalledInterval?: number;
  /** Environment steps start from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Where to say what happens (one line per message). */
  log?: (line: string) => void;
  /** @default 5000 */
  connectTimeout?: number;
}

type ResolvedOptions = StepWorkerOptions & { queue: string; prefix: string; stateDir: string };

interface Running {
  runId: string;
  issuedAt: number;
  handle: AbortHandle;
  /** The BullMQ job it travels in (a pack's id for a packed step). */
  bullId: string;
  /** Its process group, once spawned (a step in its own process). */
  pid?: number;
}

let nextWorker = 0;
const RELAY_CAP_BYTES = 16 << 20;
const RECENT_CANCEL_MS = 10 * 60_000;
/** A message of results is sent once it holds this much. */
const RESULT_BATCH_BYTES = 1 << 20;
/**
 * The abort cause of steps cut short because their worker stops: they end as `worker-lost` (not
 * `cancelled`), so the coordinator runs them again elsewhere as the next attempt.
 */
const SHUTDOWN = 'worker-shutdown';
/** How long a job this worker refused before waits before it goes round again (others take it meanwhile). */
const REFUSED_AGAIN_DELAY_MS = 1000;
const REFUSALS_TTL_SECONDS = 24 * 3600;
/**
 * The abort cause of steps whose job this worker lost (its lock could not be renewed: Redis
 * restarted, the job was taken for stalled): the coordinator runs it again elsewhere, so this copy
 * is killed at once, and it ends as `worker-lost`.
 */
const LOCK_LOST = 'job-lock-lost';
/** How long a coordinator's heartbeat, once seen, is taken as still there. */
const ALIVE_CACHE_MS = 1000;

export class StepWorker {
  readonly id: string;
  readonly #options: ResolvedOptions;
  readonly #conn: Redis;
  readonly #sub: Redis;
  readonly #processes = new ProcessExecutor();
  readonly #modules = new ModuleExecutor(this.#processes);
  readonly #resolver: InterpreterResolver;
  readonly #running = new Map<string, Running>();
  #results!: ResultSender;
  readonly #recentCancels = new Map<string, { cause: string; at: number; before?: number }>();
  readonly #workers: Worker[] = [];
  #bullmq: typeof import('bullmq') | undefined;
  /** Queues (on the shared connection), only to count the workers serving them. */
  readonly #queues = new Map<string, Queue>();
  readonly #gate: Gate;
  readonly #host = hostname();
  readonly #sweep: NodeJS.Timeout;
  #commit: string | null = null;
  #baseEnv: NodeJS.ProcessEnv | undefined;
  #closed: Promise<void> | undefined;
  /** Stopping without waiting for running steps: any step that starts now is cut short too. */
  #shuttingDown = false;

  private constructor(options: ResolvedOptions, conn: Redis, sub: Redis) {
    this.#options = options;
    this.#conn = conn;
    this.#sub = sub;
    this.#results = new ResultSender(conn);
    this.id = `${this.#host}-${process.pid}-${(nextWorker++).toString(36)}${randomBytes(2).toString('hex')}`;
    this.#resolver = new InterpreterResolver({ projectRoot: options.root, ...(options.env ? { env: options.env } : {}) });
    this.#gate = new Gate(Math.max(1, options.concurrency ?? 1));
    this.#sweep = setInterval(() => void this.#sweepDeadWorkers(), 5000);
    this.#sweep.unref();
  }

  static async start(options: StepWorkerOptions): Promise<StepWorker> {
    const root = path.resolve(options.root);
    const full = {
      ...options,
      root,
      queue: options.queue ?? 'steps',
      prefix: options.prefix ?? 'orch',
      stateDir: path.resolve(options.stateDir ?? path.join(root, '.orchestrator', 'worker')),
    };
    const queues = queuesServed(full.queue, options.tags ?? []);
    const conn = await connectRedis(options.redis, { connectTimeout: options.connectTimeout ?? 5000, name: 'orchestrator-worker' });
    let sub: Redis;
    try {
      sub = await connectRedis(options.redis, { connectTimeout: options.connectTimeout ?? 5000, name: 'orchestrator-worker-sub' });
    } catch (error) {
      conn.disconnect();
      throw error;
    }
    const worker = new StepWorker(full, conn, sub);
    await worker.#begin(queues);
    return worker;
  }

  /** Steps running now. */
  get running(): number {
    return this.#running.size;
  }

  async #begin(queues: string[]): Promise<void> {
    const { stateDir, prefix } = this.#options;
    await mkdir(path.join(stateDir, 'workers'), { recursive: true });
    await writeFile(
      path.join(stateDir, 'workers', `${this.id}.json`),
      JSON.stringify({ id: this.id, pid: process.pid, startTime: processStartTime(process.pid), host: this.#host }),
    );
    await this.#sweepDeadWorkers();
    this.#commit = await gitCommit(this.#options.root);
    this.#sub.on('message', (_channel: string, message: string) => this.#onCancel(message));
    await this.#sub.subscribe(channels.cancel(prefix));
    this.#bullmq = await dynamicImport<typeof import('bullmq')>('bullmq');
    const { Worker } = this.#bullmq;
    const lockDuration = this.#options.lockDuration ?? 30_000;
    for (const name of queues) {
      const worker = new Worker(name, (job: Job, token?: string) => this.#process(job, token), {
        connection: this.#conn,
        prefix,
        concurrency: this.#gate.limit,
        lockDuration,
        stalledInterval: this.#options.stalledInterval ?? Math.max(500, Math.floor(lockDuration / 2)),
        // A stalled job is not run again as the same attempt: it fails as `worker-lost` and the
        // coordinator retries it as the next attempt, so attempt counts stay true.
        maxStalledCount: 0,
        autorun: false,
      });
      worker.on('error', (error) => this.#log(`queue ${name}: ${error.message}`));
      // Lost its job (lock not renewed: Redis restarted, or the job was taken for stalled): the
      // coordinator runs the step again, so this copy must not go on beside the new one.
      worker.on('lockRenewalFailed', (jobIds: string[]) => this.#lost(jobIds));
      this.#workers.push(worker);
    }
    await Promise.all(this.#workers.map((w) => w.waitUntilReady()));
    for (const worker of this.#workers) void worker.run().catch((error: unknown) => this.#log(`worker stopped: ${String(error)}`));
    this.#log(
      `worker ${this.id} on ${redactRedisUrl(this.#options.redis)}: queues ${queues.join(', ')}, concurrency ${this.#gate.limit}, root ${this.#options.root}${this.#options.secret ? ', signed jobs only' : ''}`,
    );
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }

  readonly #paths = new Map<string, { scratchDir: string; logDir: string }>();

  #runPaths(runId: string): { scratchDir: string; logDir: string } {
    let paths = this.#paths.get(runId);
    if (!paths) {
      const runDir = path.join(this.#options.stateDir, 'runs', fileNameFor(runId));
      paths = { scratchDir: path.join(runDir, 'scratch'), logDir: path.join(runDir, 'logs') + path.sep };
      if (this.#paths.size > 1000) this.#paths.clear();
      this.#paths.set(runId, paths);
    }
    return paths;
  }

  async #process(job: Job, token?: string): Promise<string> {
    if (isBatch(job.data)) return this.#processPack(job, job.data.batch, token);
    const opened = openJob(job.data, this.#options.secret);
    if (!opened.ok) return this.#refuse(job, token, opened.reason);
    return this.#run(String(job.id), opened.job, String(job.id));
  }

  /**
   * A job this worker cannot open (signed with another secret, unsigned, another protocol): it is
   * another worker's to run, so it goes back to the queue, not counted as an attempt. Once every
   * worker serving the queue has refused it, it fails, naming them.
   */
  async #refuse(job: Job, token: string | undefined, reason: string): Promise<never> {
    const id = String(job.id);
    const key = keys.refusals(this.#options.prefix, id);
    let refusers: string[] | undefined;
    let serving = 0;
    let again = false;
    try {
      again = (await this.#conn.hget(key, this.id)) !== null;
      const replies = await this.#conn.multi().hset(key, this.id, reason).expire(key, REFUSALS_TTL_SECONDS).hkeys(key).exec();
      refusers = replies?.[2]?.[1] as string[] | undefined;
      serving = (await this.#queueOf(job.queueName).getWorkers()).length;
    } catch (error) {
      this.#log(`job ${id}: could not record its refusal: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (refusers !== undefined && token !== undefined && this.#bullmq !== undefined && refusers.length < serving) {
      this.#log(`job ${id}: ${reason}; left for another worker`);
      await job.moveToDelayed(Date.now() + (again ? REFUSED_AGAIN_DELAY_MS : 0), token);
      throw new this.#bullmq.DelayedError();
    }
    const by = refusers ?? [this.id];
    this.#log(`job ${id}: ${reason}`);
    throw new Error(`refused: ${reason}; refused by ${by.length === 1 ? 'worker' : `all ${by.length} workers:`} ${by.join(', ')}`);
  }

  #queueOf(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new (this.#bullmq as typeof import('bullmq')).Queue(name, { connection: this.#conn, prefix: this.#options.prefix });
      queue.on('error', () => undefined);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /**
   * A pack of inline functions: every member is checked before any runs (one bad member refuses
   * the pack), then they run side by side within this worker's concurrency, each reporting on its
   * own; the job's return value holds them all, for a coordinator that missed a report.
   */
  async #processPack(job: Job, members: unknown[], token?: string): Promise<string> {
    const specs: StepJob[] = [];
    for (const member of members) {
      const opened = openJob(member, this.#options.secret);
      if (!opened.ok) return this.#refuse(job, token, opened.reason);
      if (typeof opened.job.id !== 'string') {
        const reason = 'job refused: a packed job without its id';
        this.#log(`job ${String(job.id)}: ${reason}`);
        throw new Error(`refused: ${reason}`);
      }
      specs.push(opened.job);
    }
    await this.#heedCancelRecords(specs.map((spec) => spec.id as string));
    const results: Record<string, string> = {};
    await Promise.all(
      specs.map(async (spec) => {
        const id = spec.id as string;
        try {
          results[id] = await this.#run(id, spec, String(job.id));
        } catch (error) {
          // Failed as a job of its own would fail (refused, or a worker error), told at once.
          const text = error instanceof Error ? error.message : String(error);
          const refused = text.startsWith('refused:');
          const attempt = attemptWithoutProcess({
            status: 'failed',
            reason: refused ? 'job-refused' : 'unknown-error-thrown',
            message: refused ? text.slice('refused:'.length).trim() : `worker error: ${text}`,
            startedAt: Date.now(),
            ...(refused ? { nonRetryable: true } : {}),
          });
          const json = toWireJson(attempt, { id: this.id, host: this.#host });
          const relay = new Relay(this.#conn, this.#results, channels.output(this.#options.prefix, spec.runId), id);
          results[id] = (await relay.result(json).catch(() => false)) ? DELIVERED : json;
        }
      }),
    );
    return JSON.stringify(results);
  }

  /**
   * Members of a pack cancelled while it waited in the queue, perhaps before this worker started
   * and so before it could hear the cancel: the coordinator marks them in Redis.
   */
  async #heedCancelRecords(jobIds: string[]): Promise<void> {
    let causes: (string | null)[];
    try {
      causes = await this.#conn.mget(jobIds.map((id) => keys.cancelled(this.#options.prefix, id)));
    } catch (error) {
      this.#log(`could not look up cancelled steps: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const now = Date.now();
    causes.forEach((cause, i) => {
      const id = jobIds[i];
      if (cause !== null && id !== undefined) this.#recentCancels.set(id, { cause, at: now });
    });
  }

  async #run(jobId: string, spec: StepJob, bullId: string): Promise<string> {
    let step;
    try {
      step = fromWire(spec.step, this.#options.root);
    } catch (error) {
      throw new Error(`refused: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (spec.commit && this.#commit && spec.commit !== this.#commit) {
      this.#log(`job ${jobId}: coordinator is on commit ${spec.commit.slice(0, 12)}, this workspace on ${this.#commit.slice(0, 12)}`);
    }
    const handle = new AbortHandle();
    const cancelled = this.#recentCancels.get(jobId) ?? this.#recentCancels.get(spec.runId);
    if (cancelled && (cancelled.before === undefined || spec.issuedAt < cancelled.before)) handle.abort(cancelled.cause);
    if (this.#shuttingDown) handle.abort(SHUTDOWN);
    const running: Running = { runId: spec.runId, issuedAt: spec.issuedAt, handle, bullId };
    this.#running.set(jobId, running);
    let release: (() => void) | undefined;
    let inputsDir: string | undefined;
    // Start notices and the result go to the run's channel (ordered after any output chunks).
    const relay = new Relay(this.#conn, this.#results, channels.output(this.#options.prefix, spec.runId), jobId);
    try {
      release = await this.#gate.acquire();
      if (spec.coordinator !== undefined && !handle.aborted && !(await this.#coordinatorAlive(spec.coordinator))) {
        // Its coordinator was killed (or crashed) while it waited in the queue: no one awaits the
        // result, and a resume of the run would run it again.
        this.#log(`job ${jobId}: not run: the coordinator of run ${spec.runId} is gone`);
        const abandoned = attemptWithoutProcess({
          status: 'cancelled',
          reason: 'cancelled',
          message: 'not run: its coordinator is gone (no heartbeat in Redis)',
          startedAt: Date.now(),
        });
        return toWireJson(abandoned, { id: this.id, host: this.#host });
      }
      const { scratchDir, logDir } = this.#runPaths(spec.runId);
      if (spec.files) {
        inputsDir = path.join(scratchDir, 'inputs', fileNameFor(jobId));
        const dir = inputsDir;
        await mkdir(dir, { recursive: true });
        const env = { ...step.env };
        for (const [name, content] of Object.entries(spec.files)) {
          const file = path.join(dir, fileNameFor(name));
          await writeFile(file, content);
          env[name] = file;
        }
        step = { ...step, env };
      }
      const logPath = `${logDir}${fileNameFor(step.id)}.log`;
      // Copied once: spreading process.env costs ~0.1 ms (every variable is read from the C++ side).
      this.#baseEnv ??= { ...(this.#options.env ?? process.env), [WORKER_ID_ENV]: this.id };
      const context = new AttemptContext(spec.runId, spec.attempt, handle, this.#baseEnv, this.#resolver, scratchDir);
      context.logPath = logPath;
      if (spec.relay) context.onOutput = (stream, chunk) => relay.chunk(stream === 'stdout' ? 'o' : 'e', chunk);
      // With output relayed, the notice goes at once (it must come before the first chunk).
      context.onSpawn = (pid, command) => {
        // (An inline function reports 0: it runs in this process, which has no group to kill.)
        if (pid > 0 && pid !== process.pid) running.pid = pid;
        if (handle.reason === LOCK_LOST || this.#killed.has(jobId)) this.#killTree(running);
        relay.started({ j: jobId, t: 's', pid, command, host: this.#host }, spec.relay ? 0 : 20);
      };
      const attempt = step.kind === 'module' ? await this.#modules.execute(step, context) : await this.#processes.execute(step, context);
      if (attempt.status === 'cancelled' && handle.reason === SHUTDOWN) {
        // Not cancelled by anyone: its worker stopped. Like a killed worker's step, it runs again
        // on another worker as the next attempt.
        attempt.status = 'failed';
        attempt.reason = 'worker-lost';
        attempt.message = `killed: its worker ${this.id} was stopped; it runs again on another worker`;
      } else if (attempt.status === 'cancelled' && handle.reason === LOCK_LOST) {
        attempt.status = 'failed';
        attempt.reason = 'worker-lost';
        attempt.message = `killed: worker ${this.id} lost its job (its lock could not be renewed); it runs again as the next attempt`;
      } else if (attempt.reason === 'script-missing') {
        // Paths travel relative to the project: a worker started in another folder (no --root)
        // looks for every script in the wrong place.
        attempt.message = `${attempt.message ?? 'script file is missing'} (worker ${this.id} reads the project's paths from its root, ${this.#options.root}: start it with --root <the project folder> if that is not the project)`;
      }
      // Log files are written off the step's path; `close()` waits for them.
      const json = toWireJson(attempt, { id: this.id, host: this.#host, logPath, ...(this.#commit ? { commit: this.#commit } : {}) });
      // BullMQ keeps the result only when no coordinator heard it (it reads it back from there);
      // else a marker: storing every result twice costs Redis and this process for nothing.
      return (await relay.result(json)) ? DELIVERED : json;
    } finally {
      this.#running.delete(jobId);
      this.#killed.delete(jobId);
      release?.();
      if (inputsDir) await rm(inputsDir, { recursive: true, force: true });
    }
  }

  #onCancel(text: string): void {
    let message: CancelMessage;
    try {
      message = JSON.parse(text) as CancelMessage;
    } catch {
      return;
    }
    const now = Date.now();
    for (const [key, entry] of this.#recentCancels) if (now - entry.at > RECENT_CANCEL_MS) this.#recentCancels.delete(key);
    const cause = typeof message.cause === 'string' ? message.cause : 'cancelled';
    const kill = message.kill === true;
    if (message.jobId) {
      this.#recentCancels.set(message.jobId, { cause, at: now });
      const running = this.#running.get(message.jobId);
      if (running) this.#stopStep(message.jobId, running, cause, kill);
      return;
    }
    if (message.runId) {
      const before = typeof message.before === 'number' ? message.before : undefined;
      this.#recentCancels.set(message.runId, { cause, at: now, ...(before === undefined ? {} : { before }) });
      for (const [jobId, running] of this.#running) {
        if (running.runId === message.runId && (before === undefined || running.issuedAt < before)) this.#stopStep(jobId, running, cause, kill);
      }
    }
  }

  /** Job ids whose step a forced stop killed: a tree spawned after it is killed as it appears. */
  readonly #killed = new Set<string>();

  /** Aborts a step (SIGTERM, SIGKILL after its grace); `kill`: SIGKILL to its group at once. */
  #stopStep(jobId: string, running: Running, cause: string, kill: boolean): void {
    running.handle.abort(cause);
    if (!kill) return;
    this.#killed.add(jobId);
    this.#killTree(running);
  }

  /** SIGKILL to the step's process group (the executor then reaps what escaped it, by its marker). */
  #killTree(running: Running): void {
    if (running.pid !== undefined) signalGroup(running.pid, 'SIGKILL');
  }

  /** Jobs whose lock this worker could not renew: their steps are killed at once. */
  #lost(bullIds: string[]): void {
    const lost = new Set(bullIds.map(String));
    for (const [jobId, running] of this.#running) {
      if (!lost.has(running.bullId)) continue;
      this.#log(`job ${jobId}: lost (its lock could not be renewed): killing its step, which runs again as the next attempt`);
      running.handle.abort(LOCK_LOST);
      this.#killTree(running);
    }
  }

  readonly #alive = new Map<string, number>();

  /** Whether the coordinator's heartbeat is in Redis (when Redis cannot say: yes). */
  async #coordinatorAlive(coordinator: string): Promise<boolean> {
    const seen = this.#alive.get(coordinator);
    if (seen !== undefined && Date.now() - seen < ALIVE_CACHE_MS) return true;
    try {
      const alive = (await this.#conn.exists(keys.alive(this.#options.prefix, coordinator))) === 1;
      if (alive) {
        if (this.#alive.size > 1000) this.#alive.clear();
        this.#alive.set(coordinator, Date.now());
      }
      return alive;
    } catch {
      return true;
    }
  }

  /** Kills process trees of workers on this host that died without cleaning up. */
  async #sweepDeadWorkers(): Promise<number> {
    const dir = path.join(this.#options.stateDir, 'workers');
    let killed = 0;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return 0;
    }
    for (const name of names) {
      if (!name.endsWith('.json') || name === `${this.id}.json`) continue;
      let info: { id: string; pid: number; startTime: number | null; host: string };
      try {
        info = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as typeof info;
      } catch {
        continue;
      }
      if (info.host !== this.#host) continue;
      const alive = info.startTime !== null && processStartTime(info.pid) === info.startTime;
      if (alive) continue;
      const left = findProcessesWithEnv(`${WORKER_ID_ENV}=${info.id}`);
      if (left.length > 0) {
        signalAll(left, 'SIGKILL');
        killed += left.length;
        this.#log(`killed ${left.length} process(es) left by dead worker ${info.id}`);
      }
      await unlink(path.join(dir, name)).catch(() => undefined);
    }
    return killed;
  }

  /**
   * Stops taking jobs, kills what runs and disconnects. The steps it kills end as `worker-lost`,
   * and the coordinator runs them again on another worker as their next attempt. `graceful`: lets
   * them finish instead (waiting up to a minute).
   */
  close(options: { graceful?: boolean } = {}): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#sweep);
      if (!options.graceful) {
        this.#shuttingDown = true;
        for (const running of this.#running.values()) running.handle.abort(SHUTDOWN);
      }
      // With Redis away, BullMQ's close would wait for a reconnect that may never come.
      await withTimeout(Promise.allSettled(this.#workers.map((w) => w.close())), options.graceful ? 60_000 : 5000);
      for (const problem of await this.#processes.flush()) this.#log(problem);
      await this.#sweepDeadWorkers();
      await rm(path.join(this.#options.stateDir, 'workers', `${this.id}.json`), { force: true });
      this.#sub.disconnect();
      await withTimeout(this.#conn.quit(), 1000).catch(() => undefined);
      this.#conn.disconnect();
    })();
    return this.#closed;
  }
}

/** Output chunks to the coordinator, coalesced every 50 ms and capped per attempt. */
class Relay {
  #buffers: { o: Buffer[]; e: Buffer[] } = { o: [], e: [] };
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;
  #capped = false;

  constructor(
    readonly conn: Redis,
    readonly results: ResultSender,
    readonly channel: string,
    readonly jobId: string,
  ) {}

  #startNotice: NodeJS.Timeout | undefined;

  /**
   * Tells the coordinator the step started, unless it ends within 20 ms: then its result says so,
   * and many short steps cost one message each instead of two.
   */
  started(header: OutputHeader, delayMs: number): void {
    if (delayMs === 0) {
      this.send(header);
      return;
    }
    this.#startNotice = setTimeout(() => {
      this.#startNotice = undefined;
      this.send(header);
    }, delayMs);
  }

  send(header: OutputHeader, body?: Buffer): void {
    void this.conn.publish(this.channel, encodeOutput(header, body)).catch(() => undefined);
  }

  chunk(stream: 'o' | 'e', chunk: Buffer): void {
    if (this.#capped) return;
    if (this.#sent + chunk.length > RELAY_CAP_BYTES) {
      this.#capped = true;
      this.#flush();
      this.send({ j: this.jobId, t: 'e' }, Buffer.from(`\n[relay stopped after ${RELAY_CAP_BYTES >> 20} MiB; the full log is on the worker]\n`));
      return;
    }
    this.#sent += chunk.length;
    this.#buffers[stream].push(chunk);
    this.#timer ??= setTimeout(() => this.#flush(), 50);
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const t of ['o', 'e'] as const) {
      if (this.#buffers[t].length === 0) continue;
      this.send({ j: this.jobId, t }, Buffer.concat(this.#buffers[t]));
      this.#buffers[t] = [];
    }
  }

  /** Sends what output is left, then the result (pub/sub keeps the order). */
  /** Whether a subscriber (the coordinator) received it. */
  async result(json: string): Promise<boolean> {
    if (this.#startNotice) clearTimeout(this.#startNotice);
    this.#flush();
    return this.results.send(this.channel, this.jobId, json);
  }
}

/**
 * Sends results: those that finish in the same turn of the event loop go to their run's channel
 * as one message (`t: 'R'`, a JSON array of `[jobId, result]`), a lone one as `t: 'r'`. A pack of
 * inline functions costs one publish, not one per step.
 */
class ResultSender {
  readonly #pending = new Map<string, { parts: { id: string; json: string }[]; bytes: number; resolve: (delivered: boolean) => void; done: Promise<boolean> }>();

  constructor(readonly conn: Redis) {}

  /** Whether a subscriber (the coordinator) received it. */
  send(channel: string, jobId: string, json: string): Promise<boolean> {
    let batch = this.#pending.get(channel);
    if (!batch) {
      let resolve!: (delivered: boolean) => void;
      const done = new Promise<boolean>((r) => (resolve = r));
      batch = { parts: [], bytes: 0, resolve, done };
      this.#pending.set(channel, batch);
      setImmediate(() => this.#flush(channel));
    }
    batch.parts.push({ id: jobId, json });
    batch.bytes += json.length;
    const done = batch.done;
    if (batch.bytes > RESULT_BATCH_BYTES) this.#flush(channel);
    return done;
  }

  #flush(channel: string): void {
    const batch = this.#pending.get(channel);
    if (!batch) return;
    this.#pending.delete(channel);
    const [only] = batch.parts;
    const message = batch.parts.length === 1 && only
      ? `{"j":${JSON.stringify(only.id)},"t":"r"}\n${only.json}`
      : `{"j":"","t":"R"}\n[${batch.parts.map((part) => `[${JSON.stringify(part.id)},${part.json}]`).join(',')}]`;
    this.conn.publish(channel, message).then(
      (receivers) => batch.resolve(receivers > 0),
      () => batch.resolve(false),
    );
  }
}

/**
 * One limit across every queue the worker serves. A released slot goes straight to the first
 * waiter (it stays counted as taken), so a caller arriving before the waiter resumes cannot take
 * it as well.
 */
// Exported for testing
export class Gate {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Slots taken (by holders, and by waiters a slot was handed to). */
  get active(): number {
    return this.#active;
  }

  async acquire(): Promise<() => void> {
    if (this.#active < this.limit) this.#active += 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active -= 1;
    };
  }
}

/** The attempt as JSON, with where it ran (the attempt object is ours: completed in place). */
function toWireJson(attempt: AttemptResult, worker: WireAttempt['worker']): string {
  const wire = attempt as unknown as WireAttempt;
  const error = attempt.error;
  if (error !== undefined) {
    wire.error =
      error instanceof Error
        ? { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) }
        : { name: 'Error', message: typeof error === 'string' ? error : JSON.stringify(error) };
  }
  wire.worker = worker;
  return JSON.stringify(wire);
}

