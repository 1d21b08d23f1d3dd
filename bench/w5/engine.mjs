#!/usr/bin/env node
// The orchestrator on the same Redis: N no-op steps (inline module functions) submitted through
// the distributed engine's coordinator (this process) to one `orchestrator worker` process at
// concurrency C; timed from submit to the run's summary (enqueue included). Then a chain of 100
// such steps: the latency from one step's end to its dependent's start, p50 and p95.
// Usage: node bench/w5/engine.mjs --port P [--jobs 5000] [--concurrency 50]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { DistributedEngine } = await import(path.join(root, 'dist/engines/distributed/index.js'));
const { values: a } = parseArgs({ options: { port: { type: 'string' }, jobs: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '50' } } });
const N = Number(a.jobs), C = Number(a.concurrency);
const redis = `redis://127.0.0.1:${a.port}`;
const queue = `w5-${process.pid}-${Date.now()}`;
const work = mkdtempSync(path.join(tmpdir(), 'w5-engine-'));
writeFileSync(path.join(work, 'noop.mjs'), 'export function noop() {}\n');

const worker = spawn(process.execPath, [...(process.env.W5_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean), path.join(root, 'dist/bin/orchestrator.cjs'), 'worker', '--redis', redis, '--queue', queue, '-j', String(C), '--root', work], { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
await new Promise((resolve, reject) => {
  worker.stderr.on('data', (d) => { log += d; if (/ worker \S+ on redis/.test(log)) resolve(); });
  worker.on('exit', () => reject(new Error(`worker exited: ${log}`)));
});

const engine = await DistributedEngine.connect({ redis, queue });
const base = { needs: [], timeout: 0, killGrace: 1000, retry: { maxAttempts: 1, initialDelay: 0, maxDelay: 0, factor: 2, jitter: 'none', retryOnExitCodes: [] }, env: {}, cwd: work, allowedExitCodes: [0], tags: [], group: '.' };
const noop = (id, needs = []) => ({ ...base, id, name: id, needs, kind: 'module', module: path.join(work, 'noop.mjs'), export: 'noop', args: [], isolation: 'inline' });
const spec = (name, steps, concurrency) => ({ name, steps, concurrency, failurePolicy: 'no-new', timeout: 0 });

// Warm-up: connections, the module import, BullMQ's scripts.
await engine.submit(spec('warm', Array.from({ length: 100 }, (_, i) => noop(`w${i}`)), 100), { projectRoot: work }).result;

const w5 = spec('w5', Array.from({ length: N }, (_, i) => noop(`s${i}`)), N);
const cpuTicks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const redisCpu = () => { const info = execFileSync('redis-cli', ['-p', a.port, 'info', 'cpu'], { encoding: 'utf8' }); return Math.round(1000 * (Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]))); };
const cpu0 = { self: process.cpuUsage(), worker: cpuTicks(worker.pid), redis: redisCpu() };
const t0 = performance.now();
const summary = await engine.submit(w5, { projectRoot: work }).result;
const t1 = performance.now();

const selfCpu = process.cpuUsage(cpu0.self);
const cpu = { coordinator_cpu_ms: Math.round((selfCpu.user + selfCpu.system) / 1000), worker_cpu_ms: cpuTicks(worker.pid) - cpu0.worker, redis_cpu_ms: redisCpu() - cpu0.redis };
const starts = summary.steps.map((s) => Date.parse(s.startedAt)), ends = summary.steps.map((s) => Date.parse(s.finishedAt));
const wallStart = Date.now() - (performance.now() - t0);
const phases = { first_start_ms: Math.min(...starts) - wallStart, last_start_ms: Math.max(...starts) - wallStart, last_end_ms: Math.max(...ends) - wallStart };
const chain = await engine.submit(spec('chain', Array.from({ length: 100 }, (_, i) => noop(`c${i}`, i ? [`c${i - 1}`] : [])), 1), { projectRoot: work }).result;
const byId = new Map(chain.steps.map((s) => [s.id, s]));
const gaps = [];
for (let i = 1; i < 100; i++) gaps.push(Date.parse(byId.get(`c${i}`).startedAt) - Date.parse(byId.get(`c${i - 1}`).finishedAt));
gaps.sort((x, y) => x - y);

await engine.close();
worker.kill('SIGTERM');
await new Promise((r) => worker.once('exit', r));
rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify({
  system: 'orchestrator', jobs: N, concurrency: C, status: summary.status, succeeded: summary.counts.succeeded,
  total_ms: +(t1 - t0).toFixed(1), total_jobs_per_s: Math.round(N / ((t1 - t0) / 1000)),
  ...(process.env.W5_PHASES ? { ...phases, ...cpu } : {}),
  chain_status: chain.status, chain_p50_ms: gaps[49], chain_p95_ms: gaps[94],
}));
