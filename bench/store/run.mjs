#!/usr/bin/env node
// What the run history costs: `orchestrator run <folder>` of 400 no-op shell scripts, with the store
// and with `--no-history`, interleaved in one run (A B, B A, ...) so machine noise hits both alike.
// Prints the median (and min/max) wall time of each and the ratio with/without.
//
//   npm run build && node bench/store/run.mjs [--runs 15] [--scripts 400] [--warmup 2]
//       [--cli dist/bin/orchestrator.cjs] [--base other/bin/orchestrator.js] [-- extra run flags]
//
// Both variants get the same flags (`--reporter console -o <tmp> --state-dir <tmp>`); the only
// difference is `--no-history`. The folder is in a temp project whose `.git` folder stops the
// config lookup there. The state folder keeps growing over the runs, like a real one.
// `--base` times a second build (say, a copy of dist/ from before a change) in the same
// interleaved loop, so before and after are compared under the same machine noise.
// With /usr/bin/time present it also reports CPU time (user + sys of the orchestrator and its
// scripts). With /proc/thread-self/schedstat (Linux) it reports the orchestrator's main-thread CPU
// time (main-thread-probe.mjs): the main thread spawns every step, so that is what the store must
// not add to, and unlike wall time it hardly moves with the rest of the machine's load.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const own = dash >= 0 ? argv.slice(0, dash) : argv;
const opt = (name, fallback) => {
  const i = own.indexOf(`--${name}`);
  return i >= 0 ? own[i + 1] : fallback;
};
const runs = Number(opt('runs', process.env.RUNS ?? 15));
const scripts = Number(opt('scripts', 400));
const warmup = Number(opt('warmup', 2));
const clis = { cli: path.resolve(opt('cli', path.join(root, 'dist/bin/orchestrator.cjs'))) };
if (opt('base') !== undefined) clis.base = path.resolve(opt('base'));

const work = mkdtempSync(path.join(tmpdir(), 'bench-store-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const project = path.join(work, 'project');
const folder = path.join(project, 'scripts');
mkdirSync(path.join(project, '.git'), { recursive: true });
mkdirSync(folder, { recursive: true });
const width = String(scripts - 1).length;
for (let i = 0; i < scripts; i++) {
  const file = path.join(folder, `s${String(i).padStart(width, '0')}.sh`);
  writeFileSync(file, '#!/bin/sh\ntrue\n');
  chmodSync(file, 0o755);
}
const outDir = path.join(work, 'out');

// Every build gets its own state folder (a newer schema must not meet an older build).
const variants = {};
for (const [label, cli] of Object.entries(clis)) {
  const common = ['run', folder, '--reporter', 'console', '-o', outDir, '--state-dir', path.join(work, `state-${label}`), ...extra];
  variants[`${label}: no store`] = { cli, args: [...common, '--no-history'] };
  variants[`${label}: store`] = { cli, args: common };
}

const TIME = '/usr/bin/time';
const timed = existsSync(TIME);
const probed = existsSync('/proc/thread-self/schedstat');
const PROBE = fileURLToPath(new URL('./main-thread-probe.mjs', import.meta.url));

function once({ cli, args }) {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, ...(probed ? ['--import', PROBE] : []), cli, ...args];
    const [file, ...rest] = timed ? [TIME, '-f', '@@cpu %U %S', ...command] : command;
    const start = process.hrtime.bigint();
    const child = spawn(file, rest, { cwd: project, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) return reject(new Error(`exit ${code}: ${command.join(' ')}\n${stderr}`));
      const cpu = /@@cpu ([\d.]+) ([\d.]+)/.exec(stderr);
      const main = /@@main (\d+) (\d+)/.exec(stderr);
      const rest = stderr.replace(/@@(cpu|main).*\n?/g, '').trim();
      if (rest) process.stderr.write(`${rest}\n`);
      resolve({ ms, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : NaN, mainMs: main ? Number(main[1]) / 1e6 : NaN });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const names = Object.keys(variants);
const times = Object.fromEntries(names.map((n) => [n, []]));
const cpus = Object.fromEntries(names.map((n) => [n, []]));
const mains = Object.fromEntries(names.map((n) => [n, []]));
for (let i = 0; i < warmup; i++) for (const n of names) await once(variants[n]);
for (let i = 0; i < runs; i++) {
  // Alternate the order so no variant always runs right after the same other one.
  const order = i % 2 === 0 ? names : [...names].reverse();
  for (const n of order) {
    const { ms, cpuMs, mainMs } = await once(variants[n]);
    times[n].push(ms);
    cpus[n].push(cpuMs);
    mains[n].push(mainMs);
  }
  // Keep the report folders from piling up.
  rmSync(outDir, { recursive: true, force: true });
}

const fmt = (ms) => `${ms.toFixed(1)} ms`.padStart(10);
console.log(`${scripts} no-op scripts, ${runs} interleaved runs each (after ${warmup} warm-up)${extra.length ? `, extra flags: ${extra.join(' ')}` : ''}`);
for (const [label, cli] of Object.entries(clis)) console.log(`  ${label}: ${path.relative(process.cwd(), cli)}`);
for (const n of names) {
  const xs = times[n];
  const cpu = timed ? `  cpu ${fmt(median(cpus[n]))}` : '';
  const main = probed ? `  main thread ${fmt(median(mains[n]))}` : '';
  console.log(`${n.padEnd(16)} median ${fmt(median(xs))}  min ${fmt(Math.min(...xs))}  max ${fmt(Math.max(...xs))}${cpu}${main}`);
}
for (const label of Object.keys(clis)) {
  const [without, withStore] = [times[`${label}: no store`], times[`${label}: store`]];
  const ratio = median(withStore) / median(without);
  const minRatio = Math.min(...withStore) / Math.min(...without);
  // The two variants of one build run back to back in every round: the median of the per-round
  // ratios cancels slow drifts of the machine that the ratio of medians does not.
  const paired = median(withStore.map((ms, i) => ms / without[i]));
  let line = `${label}: store / no store = ${ratio.toFixed(3)} (${((ratio - 1) * 100).toFixed(1)}%) by medians, ${paired.toFixed(3)} paired, ${minRatio.toFixed(3)} by minimums`;
  if (timed) line += `; cpu ${(median(cpus[`${label}: store`]) / median(cpus[`${label}: no store`])).toFixed(3)}`;
  console.log(line);
  if (probed) {
    const [mainWithout, mainWith] = [mains[`${label}: no store`], mains[`${label}: store`]];
    const extra = median(mainWith.map((ms, i) => ms - mainWithout[i]));
    console.log(`${label}: main thread +${extra.toFixed(1)} ms with the store (median of per-round differences), ${((median(mainWith) / median(mainWithout) - 1) * 100).toFixed(1)}% by medians`);
  }
}
if (process.env.BENCH_RAW) console.log(JSON.stringify({ times, cpus, mains }));
