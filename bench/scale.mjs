#!/usr/bin/env node
// Scale check for big workflows: validation time of a 100,000-step workflow file through the CLI's
// loader, and memory of running N in-process no-op steps (N = 25k, 50k, 100k) to show it grows
// linearly. Usage: node bench/scale.mjs   (after npm run build)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'orch-scale-'));

function layeredSteps(n, width = 100) {
  const steps = [];
  for (let i = 0; i < n; i += 1) {
    const layer = Math.floor(i / width);
    const needs = layer === 0 ? [] : [`s${(layer - 1) * width + (i % width)}`, `s${(layer - 1) * width + ((i + 1) % width)}`];
    steps.push({ id: `s${i}`, run: 'true', ...(needs.length ? { needs } : {}) });
  }
  return steps;
}

if (process.argv[2] === '--child') {
  // One run of N no-op function steps in a fresh process; prints peak RSS growth in MiB.
  const { LocalEngine, DEFAULT_RETRY_POLICY } = await import(path.join(root, 'dist/index.js'));
  const n = Number(process.argv[3]);
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const steps = layeredSteps(n).map((s) => ({
    kind: 'function', id: s.id, name: s.id, needs: s.needs ?? [], timeout: 0, killGrace: 0,
    retry: DEFAULT_RETRY_POLICY, env: {}, cwd: root, allowedExitCodes: [0], tags: [], group: '.', fn: () => undefined,
  }));
  const started = performance.now();
  const summary = await new LocalEngine().submit({ name: 'scale', steps, concurrency: 64, failurePolicy: 'no-new', timeout: 0 }).result;
  const ms = performance.now() - started;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(JSON.stringify({ n, status: summary.status, ms: Math.round(ms), rssGrowthMiB: Math.round((peak - before) / 1048576) }));
  process.exit(0);
}

const file = path.join(dir, 'big.workflow.json');
writeFileSync(file, JSON.stringify({ name: 'big', concurrency: 64, steps: layeredSteps(100_000) }));
const cli = path.join(root, 'dist/bin/orchestrator.js');
const t0 = performance.now();
execFileSync(process.execPath, [cli, 'validate', file], { stdio: 'ignore' });
const validateMs = performance.now() - t0;
const t1 = performance.now();
execFileSync(process.execPath, [cli, '--version'], { stdio: 'ignore' });
const startupMs = performance.now() - t1;
console.log(`validate 100,000-step workflow file: ${Math.round(validateMs)} ms wall (CLI start-up alone: ${Math.round(startupMs)} ms)`);
for (const n of [25_000, 50_000, 100_000]) {
  const out = execFileSync(process.execPath, ['--max-old-space-size=4096', fileURLToPath(import.meta.url), '--child', String(n)], { encoding: 'utf8' });
  console.log(out.trim());
}
rmSync(dir, { recursive: true, force: true });
