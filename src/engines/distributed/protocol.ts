/**
 * What travels between the coordinator and the workers. No BullMQ or ioredis types here: jobs are
 * plain JSON, signed when a shared secret is set, and paths are relative to the workspace root so
 * a worker with its own checkout resolves them against its own root.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import type { ProcessStep } from '../../execution/process-executor.js';
import type { AttemptResult } from '../../execution/step-executor.js';
import type { StepSpec } from '../../core/spec.js';
import { DEFAULT_RETRY_POLICY } from '../../core/retry.js';

export const PROTOCOL_VERSION = 1;
/** Marks an absolute path inside the workspace root, in interpreter commands. */
const ROOT_TOKEN = '$ROOT/';

/** A process step as shipped: no functions, paths relative to the workspace root. */
export type WireStep = ProcessStep extends infer S ? (S extends ProcessStep ? Omit<S, 'condition' | 'transformResult' | 'retry' | 'needs' | 'skip' | 'cache'> : never) : never;

/** One attempt of one step, as a worker receives it. */
export interface StepJob {
  v: number;
  runId: string;
  stepId: string;
  attempt: number;
  step: WireStep;
  /** Outputs of dependencies too big for an environment variable: env name → content. */
  files?: Record<string, string>;
  /** Send output to the coordinator as it comes (live `step-output` events and its log copy). */
  relay: boolean;
  /** The coordinator's git commit, when it has one: a worker on another commit says so. */
  commit?: string;
  issuedAt: number;
  /** Its job id, when it travels in a batch (the BullMQ job's own id is the batch's). */
  id?: string;
  /** The coordinator's id: its heartbeat key (`keys.alive`) says whether anyone awaits the result. */
  coordinator?: string;
}

/** The job's data in the queue. */
export interface JobData {
  job: StepJob;
  /** HMAC-SHA256 of `JSON.stringify(job)` with the shared secret, hex. */
  sig?: string;
}

/**
 * Several step jobs in one BullMQ job: inline functions that became ready together (see
 * `packSize`). Each member is sealed on its own and carries its job id; the worker runs them side
 * by side within its concurrency and returns `{ [id]: result }`.
 */
export interface BatchData {
  batch: JobData[];
}

export function isBatch(data: unknown): data is BatchData {
  return typeof data === 'object' && data !== null && Array.isArray((data as Partial<BatchData>).batch);
}

/** Inline functions ready together go at most this many to a BullMQ job. */
export const MAX_PACK = 20;

/**
 * How many inline-function steps to put in one BullMQ job when `ready` of them are enqueued at
 * once: one each for a few, up to MAX_PACK for hundreds, always leaving about 25 jobs for
 * workers to share. BullMQ's cost is per job (~0.3 ms), far more than a no-op function.
 */
export function packSize(ready: number): number {
  return Math.max(1, Math.min(MAX_PACK, Math.floor(ready / 25)));
}

/** What a worker returns: the attempt, JSON-safe, plus where it ran. */
export interface WireAttempt extends Omit<AttemptResult, 'error'> {
  error?: { name: string; message: string; stack?: string };
  worker: { id: string; host: string; logPath?: string; commit?: string };
}

export function signPayload(payload: string, secret: string): string {
  return createHmac('sha256', secret).update(payload).digest('hex');
}

/** The job's payload when its signature holds; a reason for refusing it otherwise. */
export function openJob(data: unknown, secret: string | undefined): { ok: true; job: StepJob } | { ok: false; reason: string } {
  const job = (data as Partial<JobData> | null)?.job;
  if (typeof job !== 'object' || job === null) return { ok: false, reason: 'not an orchestrator step job' };
  if (secret !== undefined) {
    const sig = (data as JobData).sig;
    if (typeof sig !== 'string') return { ok: false, reason: 'unsigned job refused: this worker has a shared secret' };
    // The coordinator signed JSON.stringify(job); JSON round trips give the same text back.
    const expected = Buffer.from(signPayload(JSON.stringify(job), secret), 'hex');
    const given = Buffer.from(sig, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'job refused: its signature does not match (altered, or signed with another secret)' };
    }
  }
  if (job.v !== PROTOCOL_VERSION) return { ok: false, reason: `job refused: protocol version ${String(job.v)}, this worker speaks ${PROTOCOL_VERSION}` };
  return { ok: true, job };
}

export function sealJob(job: StepJob, secret: string | undefined): JobData {
  return secret === undefined ? { job } : { job, sig: signPayload(JSON.stringify(job), secret) };
}

/** Why a step cannot run on workers, or undefined. */
export function remoteProblem(step: StepSpec, root: string, checked = new Set<string>()): string | undefined {
  if (step.kind === 'function') {
    return `step "${step.id}" is an in-process function, which the distributed engine cannot ship to a worker; make it a module function (\`function: { module: ./file.mjs, export: name }\`) or run with the local engine`;
  }
  if (step.kind === 'workflow') {
    for (const inner of step.workflow.steps) {
      const problem = remoteProblem(inner, root, checked);
      if (problem) return `${problem} (in sub-workflow step "${step.id}")`;
    }
    return undefined;
  }
  const paths: [string, string][] = [['cwd', step.cwd]];
  if (step.kind === 'script') paths.push(['script', step.path]);
  if (step.kind === 'module') paths.push(['module', step.module]);
  if (step.kind === 'python') for (const p of step.pythonPath) paths.push(['python_path', p]);
  for (const [field, p] of paths) {
    // (`checked`: paths already found inside, as most steps share their cwd and module.)
    if (checked.has(p)) continue;
    if (!p.includes('${{') && !inside(root, p)) {
      return `step "${step.id}": ${field} ${p} is outside the workspace root ${root}; workers resolve paths against their own root, so every path must be inside it`;
    }
    checked.add(p);
  }
  return undefined;
}

function inside(root: string, p: string): boolean {
  if (p === root || (p.startsWith(root) && (root.endsWith(path.sep) || p.charAt(root.length) === path.sep) && !p.includes(`${path.sep}..`))) return true;
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function toRel(root: string, p: string): string {
  if (p === root) return '.';
  // The common case, without path.relative's normalising (microseconds per call, per step).
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  if (p.startsWith(prefix) && !p.includes(`${path.sep}.`)) return p.slice(prefix.length);
  const rel = path.relative(root, p);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`path ${p} is outside the workspace root ${root}`);
  return rel === '' ? '.' : rel;
}

/** A rendered process step as it travels: relative paths, no closures. */
export function toWire(step: ProcessStep, root: string): WireStep {
  const wire: Record<string, unknown> = {
    kind: step.kind,
    id: step.id,
    name: step.name,
    timeout: step.timeout,
    killGrace: step.killGrace,
    env: step.env,
    cwd: toRel(root, step.cwd),
    allowedExitCodes: step.allowedExitCodes,
    tags: step.tags,
    group: step.group,
  };
  if (step.memoryLimitMb !== undefined) wire.memoryLimitMb = step.memoryLimitMb;
  if (step.matrix !== undefined) wire.matrix = step.matrix;
  switch (step.kind) {
    case 'script':
      Object.assign(wire, {
        path: toRel(root, step.path),
        relativePath: step.relativePath,
        args: step.args,
        scriptKind: step.scriptKind,
        ...(step.shebang === undefined ? {} : { shebang: step.shebang }),
        ...(step.interpreter === undefined
          ? {}
          : { interpreter: step.interpreter.map((part) => (path.isAbsolute(part) && inside(root, part) ? ROOT_TOKEN + toRel(root, part) : part)) }),
      });
      break;
    case 'command':
      Object.assign(wire, { command: step.command, ...(step.shell === undefined ? {} : { shell: step.shell }) });
      break;
    case 'module':
      Object.assign(wire, {
        module: toRel(root, step.module),
        export: step.export,
        args: step.args,
        ...(step.isolation === undefined ? {} : { isolation: step.isolation }),
      });
      break;
    case 'python':
      Object.assign(wire, {
        target: step.target,
        args: step.args,
        kwargs: step.kwargs,
        pythonPath: step.pythonPath.map((p) => toRel(root, p)),
      });
      break;
  }
  return wire as unknown as WireStep;
}

/** The step a worker runs: paths resolved against its root, refusing any that leave it. */
export function fromWire(wire: WireStep, root: string): ProcessStep {
  const resolve = (field: string, rel: string): string => {
    const abs = path.resolve(root, rel);
    if (!inside(root, abs)) throw new Error(`${field} ${rel} leaves the workspace root ${root}`);
    return abs;
  };
  // The wire object is freshly parsed and ours: complete it in place (no copies per job).
  const step = wire as unknown as ProcessStep;
  step.needs = [];
  step.retry = DEFAULT_RETRY_POLICY;
  step.cwd = resolve('cwd', wire.cwd);
  switch (step.kind) {
    case 'script':
      step.path = resolve('script', step.path);
      if (step.interpreter !== undefined) {
        step.interpreter = step.interpreter.map((part) => (part.startsWith(ROOT_TOKEN) ? resolve('interpreter', part.slice(ROOT_TOKEN.length)) : part));
      }
      break;
    case 'module':
      step.module = resolve('module', step.module);
      break;
    case 'python':
      step.pythonPath = step.pythonPath.map((p) => resolve('python_path', p));
      break;
    default:
      break;
  }
  return step;
}

/**
 * BullMQ job ids may not contain `:`; step ids may. `submission` tells a resumed run's attempts
 * from the first run's (same run id, attempts counted again), whose jobs BullMQ still keeps.
 */
export function jobIdFor(runId: string, stepId: string, attempt: number, submission: string): string {
  return `${runId}|${encodeURIComponent(stepId)}|${attempt}|${submission}`;
}

/** The queue a step goes to: its queue, suffixed with the sorted tags it needs. */
export function queueFor(baseQueue: string, step: StepSpec): string {
  const runsOn = step.runsOn;
  if (runsOn === undefined) return baseQueue;
  const queue = runsOn.queue ?? baseQueue;
  const tags = [...new Set(runsOn.tags ?? [])].sort();
  return tags.length === 0 ? queue : `${queue}.${tags.join('+')}`;
}

/** Every queue a worker with these tags serves: the queue alone and with each subset of its tags. */
export function queuesServed(queue: string, tags: readonly string[]): string[] {
  const sorted = [...new Set(tags)].sort();
  if (sorted.length > 6) throw new Error(`A worker can have at most 6 tags, got ${sorted.length}`);
  const queues = [queue];
  for (let mask = 1; mask < 1 << sorted.length; mask++) {
    queues.push(`${queue}.${sorted.filter((_, i) => mask & (1 << i)).join('+')}`);
  }
  return queues;
}

/** A job's return value when its result reached the coordinator over pub/sub. */
export const DELIVERED = 'delivered';

/** Pub/sub channels (under the BullMQ prefix). */
export const channels = {
  cancel: (prefix: string) => `${prefix}:orchestrator:cancel`,
  output: (prefix: string, runId: string) => `${prefix}:orchestrator:out:${runId}`,
};

/** Keys of the orchestrator's own (under the BullMQ prefix). */
export const keys = {
  /**
   * Set (with a TTL) when a packed step is cancelled while its pack stays queued: a worker that
   * takes the pack checks it, having perhaps started after the cancel was published.
   */
  cancelled: (prefix: string, jobId: string) => `${prefix}:orchestrator:cancelled:${jobId}`,
  /** Hash of the workers that refused a job (worker id → why), while it goes round for another. */
  refusals: (prefix: string, jobId: string) => `${prefix}:orchestrator:refusals:${jobId}`,
  /**
   * A coordinator's heartbeat (with a short TTL it keeps refreshing): a worker does not start a
   * job whose coordinator's heartbeat is gone (killed with SIGKILL, crashed): no one would hear it.
   */
  alive: (prefix: string, coordinator: string) => `${prefix}:orchestrator:alive:${coordinator}`,
};

/** A cancel request: one job, or every job of a run issued before `before` (the coordinator's clock). */
export interface CancelMessage {
  jobId?: string;
  runId?: string;
  before?: number;
  cause: string;
  /** A forced stop: the step trees are killed at once (SIGKILL to their groups), no grace. */
  kill?: boolean;
}

/** A message on a run's output channel: JSON header, a newline, then raw bytes for chunks. */
export interface OutputHeader {
  j: string;
  /**
   * `o` stdout chunk, `e` stderr chunk, `s` started, `r` result (JSON `WireAttempt` body), `R`
   * results of several jobs (JSON `[jobId, WireAttempt][]` body; `j` empty).
   */
  t: 'o' | 'e' | 's' | 'r' | 'R';
  pid?: number;
  command?: string[];
  host?: string;
}

export function encodeOutput(header: OutputHeader, body?: Buffer): Buffer {
  const head = Buffer.from(`${JSON.stringify(header)}\n`);
  return body ? Buffer.concat([head, body]) : head;
}

export function decodeOutput(message: Buffer): { header: OutputHeader; body: Buffer } | undefined {
  const nl = message.indexOf(10);
  if (nl < 0) return undefined;
  try {
    return { header: JSON.parse(message.subarray(0, nl).toString()) as OutputHeader, body: message.subarray(nl + 1) };
  } catch {
    return undefined;
  }
}
