#!/usr/bin/env node
import { main } from './main.js';

// A reader that goes away (`orchestrator run | head -1`) must not crash the run: it goes on, kills
// what it started, writes its reports and exits as it would have; only the console output is lost.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

// Warnings the orchestrator raises (a log it could not write, processes it had to kill) read like
// its other messages, not like Node's own (`(node:123) Warning: ... Use --trace-warnings`).
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'DeprecationWarning' || warning.name === 'ExperimentalWarning') return;
  process.stderr.write(`warning: ${warning.message}\n`);
});

// No top-level await: the CLI is bundled as CommonJS (see launch.cts).
// A bug that escapes main() fails the command, whatever --unhandled-rejections says.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
