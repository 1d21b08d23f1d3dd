#!/usr/bin/env node
// Scale check for big workflows (issue #4): wall time of `orchestrator validate` on a 100,000-step
// workflow file, YAML and JSON, through the CLI (median and min of several runs: other processes
// may share the machine), and memory of running N in-process no-op steps (N = 25k, 50k, 100k) to
// show it grows linearly.
// Usage (after npm run build):
//   node bench/scale.mjs                  both
//   node bench/scale.mjs validate [runs]  only the validate timings (default 7 runs per file)
//   node bench/scale.mjs memory           only the memory runs
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

/** The same workflow as YAML, written the way people (and generators) write it. */
function toYaml(workflow) {
  let text = `name: ${workflow.name}\nconcurrency: ${workflow.concurrency}\nsteps:\n`;
  for (const step of workflow.steps) {
    text += `  - id: ${step.id}\n    run: "${step.run}"\n`;
    if (step.needs) text += `    needs: [${step.needs.join(', ')}]\n`;
  }
  return text;
}

/** Wall times in ms of `runs` runs of the CLI with `args`, which must exit 0. */
function timeCli(args, runs) {
  const cli = path.join(root, 'dist/bin/orchestrator.cjs');
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    execFileSync(process.execPath, [cli, ...args], { stdio: 'ignore' });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { median: Math.round(times[Math.floor(times.length / 2)]), min: Math.round(times[0]), all: times.map(Math.round) };
}

const mode = process.argv[2] ?? 'all';
try {
  if (mode === 'all' || mode === 'validate') {
    const runs = Number(process.argv[3] ?? 7);
    const workflow = { name: 'big', concurrency: 64, steps: layeredSteps(100_000) };
    const json = path.join(dir, 'big.workflow.json');
    const yaml = path.join(dir, 'big.workflow.yaml');
    writeFileSync(json, JSON.stringify(workflow));
    writeFileSync(yaml, toYaml(workflow));
    const startup = timeCli(['--version'], runs);
    console.log(`CLI start-up alone (--version): median ${startup.median} ms, min ${startup.min} ms`);
    for (const [label, file] of [['YAML', yaml], ['JSON', json]]) {
      const t = timeCli(['validate', file], runs);
      console.log(`validate 100,000-step ${label} file: median ${t.median} ms, min ${t.min} ms wall (${t.all.join(', ')})`);
    }
  }
  if (mode === 'all' || mode === 'memory') {
    for (const n of [25_000, 50_000, 100_000]) {
      const out = execFileSync(process.execPath, ['--max-old-space-size=4096', fileURLToPath(import.meta.url), '--child', String(n)], { encoding: 'utf8' });
      console.log(out.trim());
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
