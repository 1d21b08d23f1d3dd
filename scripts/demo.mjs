// `npm run demo`: runs the bundled examples through the real CLI. One example fails on purpose
// (ops/verify_backups.sh), so exit code 1 is the expected outcome here; anything else is an error.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const result = spawnSync(process.execPath, ['dist/bin/orchestrator.cjs', 'run', 'examples/scripts', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status === 1) {
  console.log('\nDemo finished: ops/verify_backups.sh fails on purpose, to show a failure report (exit code 1).');
  process.exit(0);
}
process.exit(result.status ?? 1);
