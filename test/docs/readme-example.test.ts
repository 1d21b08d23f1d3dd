import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { CliRig } from '../cli/cli-rig.js';

// The README's example workflow, run as written: only the tools it calls (npm, pytest and the
// project's own scripts) are stand-ins, so what reaches each step is what a user would get.
const README = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md');

let rig: CliRig;
beforeEach(async () => {
  rig = await CliRig.create();
});
afterEach(async () => {
  await rig.cleanup();
});

it("the README's example workflow runs, and notify gets the version's tag", async () => {
  const readme = await readFile(README, 'utf8');
  const example = /```yaml\n(# ci\.yaml[^]*?)```/.exec(readme)?.[1];
  expect(example, 'the README has a ```yaml block starting with "# ci.yaml"').toBeDefined();
  await rig.write('ci.yaml', example ?? '');
  await rig.write('bin/npm', '#!/bin/sh\nexit 0\n', true);
  await rig.write('pytest.py', 'import sys\nprint("pytest", sys.argv[1:])\n');
  await rig.write('scripts/version.py', 'import os\nwith open(os.environ["ORCHESTRATOR_OUTPUT"], "a") as f:\n    f.write("tag=v1.2.3\\n")\n');
  await rig.write('publish.sh', `#!/bin/sh\necho "$1" > "${rig.path('published')}"\n`, true);
  await rig.write('notify.sh', `#!/bin/sh\necho "$1" > "${rig.path('notified')}"\n`, true);
  const result = await rig.run(['run', 'ci.yaml'], { PATH: `${rig.path('bin')}:${process.env.PATH ?? ''}` });
  expect(result.code, result.stdout + result.stderr).toBe(0);
  expect((await readFile(rig.path('published'), 'utf8')).trim()).toBe('v1.2.3');
  expect((await readFile(rig.path('notified'), 'utf8')).trim()).toBe('v1.2.3');
});
