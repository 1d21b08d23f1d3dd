#!/usr/bin/env node
// Runs a ../shared/bench dag.json through the orchestrator's real code path: one command step per
// task (`/bin/sh -c cmd`), `deps` as `needs`, on the LocalEngine with logs written to a run folder.
// Usage: node bench/engine-adapter.mjs DAG.json --concurrency N [--no-logs]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_RETRY_POLICY, LocalEngine } from '../dist/index.js';

const args = process.argv.slice(2);
const file = args[0];
const concurrency = Number(args[args.indexOf('--concurrency') + 1] || 4);
const logs = !args.includes('--no-logs');
const dag = JSON.parse(readFileSync(file, 'utf8'));
const cwd = process.cwd();
const steps = dag.tasks.map((task) => ({
  kind: 'command',
  id: task.id,
  name: task.id,
  needs: task.deps ?? [],
  command: task.cmd,
  timeout: 0,
  killGrace: 5000,
  retry: DEFAULT_RETRY_POLICY,
  env: {},
  cwd,
  allowedExitCodes: [0],
  tags: [],
  group: '.',
}));
const runDir = logs ? mkdtempSync(path.join(tmpdir(), 'orch-bench-')) : undefined;
const engine = new LocalEngine();
const summary = await engine.submit(
  { name: dag.name ?? 'bench', steps, concurrency, failurePolicy: 'no-new', timeout: 0 },
  runDir ? { runDir } : {},
).result;
await engine.close();
if (runDir) rmSync(runDir, { recursive: true, force: true });
if (summary.status !== 'succeeded') {
  console.error(`bench run ${summary.status}:`, summary.counts);
  process.exit(1);
}
