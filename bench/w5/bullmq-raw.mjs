#!/usr/bin/env node
// Raw BullMQ on the same Redis, the same shape as ../shared/bench/w5/bullmq.mjs: enqueue N no-op
// jobs (addBulk, chunks of 1,000), then drain them with one Worker at concurrency C. One JSON line.
// Usage: node bench/w5/bullmq-raw.mjs --port P [--jobs 5000] [--concurrency 50]
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';

const { values: a } = parseArgs({ options: { port: { type: 'string' }, jobs: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '50' } } });
const N = Number(a.jobs), C = Number(a.concurrency);
const connection = { host: '127.0.0.1', port: Number(a.port), maxRetriesPerRequest: null };
const name = `w5-${process.pid}-${Date.now()}`;
const queue = new Queue(name, { connection });
await queue.waitUntilReady();
const t0 = performance.now();
for (let i = 0; i < N; i += 1000) {
  const batch = [];
  for (let k = i; k < Math.min(N, i + 1000); k++) batch.push({ name: 'noop', data: { k } });
  await queue.addBulk(batch);
}
const t1 = performance.now();
let completed = 0, failed = 0, finish;
const allDone = new Promise((r) => { finish = r; });
const worker = new Worker(name, async () => {}, { connection, concurrency: C, autorun: false });
worker.on('completed', () => { if (++completed + failed === N) finish(); });
worker.on('failed', () => { if (completed + ++failed === N) finish(); });
await worker.waitUntilReady();
const t2 = performance.now();
worker.run();
await allDone;
const t3 = performance.now();
await worker.close();
await queue.obliterate({ force: true });
await queue.close();
console.log(JSON.stringify({
  system: 'bullmq', jobs: N, concurrency: C, completed, failed,
  enqueue_ms: +(t1 - t0).toFixed(1), drain_ms: +(t3 - t2).toFixed(1),
  drain_jobs_per_s: Math.round(N / ((t3 - t2) / 1000)),
  total_jobs_per_s: Math.round(N / ((t1 - t0 + t3 - t2) / 1000)),
}));
