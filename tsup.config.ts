import { defineConfig } from 'tsup';

// The CLI is bundled (dependencies included) so a cold start loads a few files instead of hundreds:
// start-up time is part of every `orchestrator run`. The library keeps tsc's per-module output.
export default defineConfig({
  entry: { orchestrator: 'src/cli/bin.ts' },
  outDir: 'dist/bin',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  splitting: true,
  dts: false,
  clean: true,
  sourcemap: true,
  // tsx is a loader that scripts are started with, and better-sqlite3 loads a native addon: both
  // must stay packages on disk. BullMQ and ioredis are loaded only by the distributed engine and
  // the worker, straight from node_modules (BullMQ reads its Lua scripts and optional addons there).
  external: ['tsx', 'better-sqlite3', 'bullmq', 'ioredis'],
  noExternal: [/^(?!(?:tsx|better-sqlite3|bullmq|ioredis)$).*/],
  banner: {
    // Bundled CommonJS dependencies (yaml, picomatch) may call require().
    js: "import { createRequire as __orchestratorCreateRequire } from 'node:module'; const require = __orchestratorCreateRequire(import.meta.url);",
  },
});
