import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliRig } from './cli-rig.js';

let rig: CliRig;
beforeEach(async () => {
  rig = await CliRig.create();
});
afterEach(async () => {
  await rig.cleanup();
});

describe('orchestrator docs', () => {
  it('runs no script unless --run-help: a script that ignores --help would run for real', async () => {
    const deployed = rig.path('DEPLOYED');
    await rig.write('scripts/deploy.sh', `#!/bin/sh\n# Deploy to production.\ntouch "${deployed}"\necho "usage: deploy.sh"\n`, true);
    await rig.write('scripts/etl/load.py', '"""Load the warehouse tables."""\nimport sys\nprint("usage: load.py [--full]")\n');
    for (const args of [[], ['--no-run-help']]) {
      const result = await rig.run(['docs', 'scripts', '-o', 'SCRIPTS.md', ...args]);
      expect(result.code, result.stderr).toBe(0);
      expect(existsSync(deployed), `docs ${args.join(' ')} ran deploy.sh`).toBe(false);
      const markdown = await readFile(rig.path('SCRIPTS.md'), 'utf8');
      expect(markdown).toContain('Deploy to production.');
      expect(markdown).toContain('Load the warehouse tables.');
      expect(markdown).not.toContain('usage:');
    }
    // Asked for, it runs them, and says what they printed.
    const withHelp = await rig.run(['docs', 'scripts', '--run-help']);
    expect(withHelp.code, withHelp.stderr).toBe(0);
    expect(existsSync(deployed)).toBe(true);
    expect(withHelp.stdout).toContain('usage: load.py [--full]');
  });

  it('does not take --timeout or --kill-grace, which it would accept and ignore', async () => {
    await rig.write('scripts/a.sh', '# A.\necho a\n');
    for (const args of [['-t', '1'], ['--timeout', '1'], ['--kill-grace', '1']]) {
      const result = await rig.run(['docs', 'scripts', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(`unknown option '${args[0] ?? ''}'`);
    }
  });
});
