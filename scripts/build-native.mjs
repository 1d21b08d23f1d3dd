#!/usr/bin/env node
// npm's install step: builds native/ (the process starter for Linux, see native/spawn.c) with the
// node-gyp that npm ships. Where it cannot be built (not Linux, no C compiler, no Node headers),
// it says so in one line and succeeds: steps then start through child_process, which works the
// same but costs more per step the more memory the orchestrator holds.
// ORCHESTRATOR_NATIVE_SPAWN=0 skips it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (text) => process.stderr.write(`codomyrmex-orchestrator: ${text}\n`);

if (process.platform !== 'linux' || process.env.ORCHESTRATOR_NATIVE_SPAWN === '0') process.exit(0);

// npm names its node-gyp to install scripts; from a plain `node scripts/build-native.mjs`, the
// copy beside the npm that runs Node is used.
const candidates = [
  process.env.npm_config_node_gyp,
  process.env.npm_execpath && path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((file) => file && existsSync(file));
if (candidates.length === 0) {
  say('native process starter not built (node-gyp not found); steps start through child_process');
  process.exit(0);
}
const args = [candidates[0], 'rebuild', '--directory', path.join(root, 'native')];
// Headers: npm's `nodedir` setting if any, else those installed with this Node (no download).
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
// Bounded: without local headers node-gyp downloads them, and a firewall that drops packets
// must not hang the install.
const result = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000, killSignal: 'SIGKILL' });
if (result.status !== 0) {
  const why = `${result.stderr ?? ''}${result.stdout ?? ''}`.split('\n').filter((line) => /error/i.test(line)).slice(0, 3).join(' | ');
  say(`native process starter not built (${why || result.error?.message || `node-gyp exited with ${result.status}`}); steps start through child_process`);
}
process.exit(0);
