import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * No orphans, ever: every process a test starts inherits ORCHESTRATOR_TEST_SESSION. When the suite
 * ends, any process still carrying it was leaked by a test (or by the code under test); they are
 * killed and the run fails, naming them.
 */
export default function setup(): () => void {
  const session = randomUUID();
  process.env.ORCHESTRATOR_TEST_SESSION = session;
  const marker = Buffer.from(`ORCHESTRATOR_TEST_SESSION=${session}`);
  return () => {
    const leaked: string[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
        if (stat.charAt(stat.lastIndexOf(')') + 2) === 'Z') continue;
        // vitest's own fork workers (children of this process) may still be exiting.
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) continue;
        const environ = readFileSync(`/proc/${name}/environ`);
        if (!environ.includes(marker)) continue;
        const cmdline = readFileSync(`/proc/${name}/cmdline`, 'latin1').replace(/\0/g, ' ').trim();
        leaked.push(`${name}: ${cmdline}`);
        process.kill(Number(name), 'SIGKILL');
      } catch {
        // Gone meanwhile, or not ours to read.
      }
    }
    if (leaked.length > 0) {
      // vitest reports a throwing teardown but keeps its exit code: set ours.
      process.exitCode = 1;
      throw new Error(`Tests left ${leaked.length} process(es) running (killed now):\n${leaked.join('\n')}`);
    }
  };
}
