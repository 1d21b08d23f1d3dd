// Preloaded into the orchestrator by bench/store/run.mjs (`node --import`): at exit, prints the
// main thread's CPU time and its time waiting for a CPU, from /proc/thread-self/schedstat (ns).
// The main thread spawns every step, so its CPU time is what the store must not add to; unlike
// wall time it hardly depends on what else the machine is doing.
import { readFileSync } from 'node:fs';

process.on('exit', () => {
  try {
    const [onCpu, waiting] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
    process.stderr.write(`@@main ${onCpu} ${waiting}\n`);
  } catch {
    // no schedstat on this kernel
  }
});
