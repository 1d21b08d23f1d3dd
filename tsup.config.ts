import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

// Packages that stay on disk: tsx is a loader that scripts are started with, better-sqlite3 loads
// a native addon, and BullMQ and ioredis are loaded only by the distributed engine and the worker
// (BullMQ reads its Lua scripts and optional addons from node_modules). Subpaths too (tsx/esm/api).
const onDisk = ['tsx', 'better-sqlite3', 'bullmq', 'ioredis'];

// The CLI is bundled (dependencies included) into one CommonJS file, `cli.cjs`, so a start reads
// one file instead of hundreds, and `orchestrator.cjs` (src/cli/launch.cts) runs it through a V8
// code cache: start-up time is part of every `orchestrator run`. CommonJS because Node 20 can
// only cache the compiled code of a script, not of an ES module. The library keeps tsc's
// per-module output.
export default defineConfig({
  entry: { cli: 'src/cli/bin.ts', orchestrator: 'src/cli/launch.cts' },
  outDir: 'dist/bin',
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  splitting: false,
  // import.meta.url in the bundle is the bundle's own file URL, encoded (tsup's shim is not: an
  // install path with `#`, `?` or `%41` in it broke every command).
  // ("use strict" first: a directive must open the file, and the bundle is strict code.)
  banner: { js: "'use strict'; const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  esbuildOptions(options) {
    options.define = { ...options.define, 'import.meta.url': 'importMetaUrl' };
    // Function and class names stay as written (stack traces, `error.name`); the source map
    // (`cli.cjs.map`, used with --enable-source-maps) maps the rest back.
    options.keepNames = true;
  },
  // Minified: every start reads the bundle and keeps it whole as the source of lazily compiled
  // functions, and every step's fork() copies the memory that holds it (1.4 MB -> 0.8 MB).
  minify: true,
  dts: false,
  clean: true,
  sourcemap: true,
  external: onDisk.map((name) => new RegExp(`^${name}(?:/|$)`)),
  noExternal: [new RegExp(`^(?!(?:${onDisk.join('|')})(?:/|$)).*`)],
  onSuccess: () => {
    // esbuild writes code as ASCII but keeps comments as they are; escaping what is left (a few
    // comments) lets the launcher decode the bundle as Latin-1, 4x faster than UTF-8.
    const bundle = readFileSync('dist/bin/cli.cjs', 'utf8').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    // The build's content hash, which the launcher's code cache is keyed on (V8 itself only
    // checks the length of the source): the last line, so the source map's lines still match.
    const build = createHash('sha256').update(bundle).digest('hex').slice(0, 32);
    writeFileSync('dist/bin/cli.cjs', `${bundle}${bundle.endsWith('\n') ? '' : '\n'}// build ${build}\n`);
    // `dist/bin/orchestrator.js`, the path of earlier versions, still starts the CLI.
    writeFileSync('dist/bin/orchestrator.js', "#!/usr/bin/env node\nimport './orchestrator.cjs';\n");
    chmodSync('dist/bin/orchestrator.js', 0o755);
    chmodSync('dist/bin/orchestrator.cjs', 0o755);
    return Promise.resolve();
  },
});
