#!/usr/bin/env node
// W5 for the orchestrator: raw BullMQ and the distributed engine on one private redis-server (no
// persistence, free loopback port), interleaved RUNS times; prints medians and the ratio.
// Usage: node bench/w5/run.mjs [--runs 5] [--jobs 5000] [--concurrency 50]
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = fileURLToPath(new URL('.', import.meta.url));
const { values: a } = parseArgs({ options: { runs: { type: 'string', default: '5' }, jobs: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '50' } } });
const port = await new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
for (let i = 0; i < 100; i++) {
  try { if (execFileSync('redis-cli', ['-p', String(port), 'ping']).toString().includes('PONG')) break; } catch { /* not yet */ }
  await new Promise((r) => setTimeout(r, 50));
}
const args = ['--port', String(port), '--jobs', a.jobs, '--concurrency', a.concurrency];
const rows = { bullmq: [], orchestrator: [] };
try {
  for (let r = 0; r < Number(a.runs); r++) {
    for (const [name, script] of [['bullmq', 'bullmq-raw.mjs'], ['orchestrator', 'engine.mjs']]) {
      const line = execFileSync(process.execPath, [here + script, ...args], { encoding: 'utf8' }).trim().split('\n').pop();
      rows[name].push(JSON.parse(line));
      console.error(line);
    }
  }
} finally {
  redis.kill('SIGKILL');
}
const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const bDrain = median(rows.bullmq.map((x) => x.drain_jobs_per_s));
const bTotal = median(rows.bullmq.map((x) => x.total_jobs_per_s));
const ours = median(rows.orchestrator.map((x) => x.total_jobs_per_s));
console.log(`W5 ${a.jobs} no-op steps, 1 worker at concurrency ${a.concurrency}, ${a.runs} interleaved runs (medians)`);
console.log(`  raw BullMQ: ${bDrain} jobs/s draining, ${bTotal} jobs/s enqueue + drain`);
console.log(`  orchestrator (coordinator + worker process, submit to summary): ${ours} steps/s`);
console.log(`  ratio: ${(ours / bDrain).toFixed(2)}x BullMQ's drain rate, ${(ours / bTotal).toFixed(2)}x its enqueue + drain rate (target >= 0.5x)`);
console.log(`  chain of 100: end-to-start latency p50 ${median(rows.orchestrator.map((x) => x.chain_p50_ms))} ms, p95 ${median(rows.orchestrator.map((x) => x.chain_p95_ms))} ms (target p50 <= 5 ms)`);
