import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScriptStep } from '../../src/core/spec.js';
import { folderToWorkflow, type FolderRunSettings } from '../../src/folder/folder-workflow.js';
import { createConfigRig, type ConfigRig } from '../config/config-rig.js';

let rig: ConfigRig;
beforeEach(async () => {
  rig = await createConfigRig();
  await rig.write('package.json', '{}');
  await rig.write('scripts/a.sh', 'exit 0\n');
  await rig.write('scripts/b.sh', 'exit 0\n');
  await rig.write('scripts/etl/load.py', 'print(1)\n');
});
afterEach(async () => {
  await rig.cleanup();
});

/** The plan's warnings as `path: message` lines. */
async function warningsOf(folder: string, settings: FolderRunSettings = {}): Promise<string[]> {
  const plan = await folderToWorkflow(rig.path(folder), settings);
  return plan.warnings.map((warning) => `${warning.path}: ${warning.message}`);
}

describe('config `scripts` rules that match no script', () => {
  it('are warned about at their key, with what was probably meant, and the scripts still get their settings', async () => {
    const file = await rig.write(
      'scripts/orchestrator.yaml',
      ['scripts:', '  scripts/b.sh: {skip: true}', '  "a.sh ": {timeout: 5}', '  etl/load.py: {timeout: 7}', '  "*.rb": {retries: 1}', '  gone.sh: {tags: [x]}', ''].join('\n'),
    );
    expect(await warningsOf('scripts')).toEqual([
      `${file}:2:3: scripts.scripts/b.sh: "scripts/b.sh" matches no script in ${rig.path('scripts')}; patterns are relative to the folder of the config file, and this one would match relative to ${rig.root} (write "b.sh")`,
      `${file}:3:3: scripts.a.sh : "a.sh " matches no script in ${rig.path('scripts')}; it has spaces at its start or end, without which it would match (write "a.sh")`,
      `${file}:5:3: scripts.*.rb: "*.rb" matches no script in ${rig.path('scripts')}`,
      `${file}:6:3: scripts.gone.sh: "gone.sh" matches no script in ${rig.path('scripts')}`,
    ]);
    const plan = await folderToWorkflow(rig.path('scripts'));
    expect((plan.spec.steps as ScriptStep[]).map((step) => [step.id, step.skip !== undefined, step.timeout])).toEqual([
      ['a.sh', false, 60_000],
      ['b.sh', false, 60_000],
      ['etl/load.py', false, 7_000],
    ]);
  });

  it('are judged against the whole tree only: not for a filtered run, nor for the file of a folder above the one run', async () => {
    const file = await rig.write('scripts/orchestrator.json', '{"scripts": {"a.sh": {"timeout": 5}, "etl/load.py": {"timeout": 7},\n "gone.sh": {}}}');
    expect(await warningsOf('scripts')).toEqual([`${file}:2:2: scripts.gone.sh: "gone.sh" matches no script in ${rig.path('scripts')}`]);
    // Each filter leaves out a script a rule names: not a mistake of the rule.
    expect(await warningsOf('scripts', { include: ['a.sh'] })).toEqual([]);
    expect(await warningsOf('scripts', { exclude: ['a.sh'] })).toEqual([]);
    expect(await warningsOf('scripts', { subdirs: ['etl'] })).toEqual([]);
    expect(await warningsOf('scripts', { maxDepth: 0 })).toEqual([]);
    // scripts/orchestrator.json applies to scripts/etl, whose run sees none of a.sh.
    expect(await warningsOf('scripts/etl')).toEqual([]);
  });

  it('in a subfolder file with a max_depth of its own are judged; without one they are not (the depth counts from the run folder)', async () => {
    const withDepth = await rig.write('scripts/etl/orchestrator.yaml', 'discovery: {max_depth: 1}\nscripts:\n  etl/load.py: {timeout: 7}\n');
    expect(await warningsOf('scripts')).toEqual([
      `${withDepth}:3:3: scripts.etl/load.py: "etl/load.py" matches no script in ${rig.path('scripts/etl')}; patterns are relative to the folder of the config file, and this one would match relative to ${rig.path('scripts')} (write "load.py")`,
    ]);
    await rig.write('scripts/etl/orchestrator.yaml', 'scripts:\n  deep/x.py: {timeout: 7}\n');
    expect(await warningsOf('.')).toEqual([]);
  });
});

describe('config `skip` entries that match no script', () => {
  it('are warned about at their pattern (a string or the `path` of a mapping), with what was probably meant, and the scripts still get skipped', async () => {
    const file = await rig.write(
      'scripts/orchestrator.yaml',
      [
        'skip:',
        '  - scripts/b.sh',
        '  - "a.sh "',
        '  - {path: gone.sh, reason: retired}',
        '  - "*.rb"',
        '  - path: scripts/etl/load.py',
        '  - etl/load.py',
        'scripts:',
        '  gone.sh: {timeout: 5}',
        '',
      ].join('\n'),
    );
    const dir = rig.path('scripts');
    expect(await warningsOf('scripts')).toEqual([
      `${file}:2:5: skip[0]: "scripts/b.sh" matches no script in ${dir}; patterns are relative to the folder of the config file, and this one would match relative to ${rig.root} (write "b.sh")`,
      `${file}:3:5: skip[1]: "a.sh " matches no script in ${dir}; it has spaces at its start or end, without which it would match (write "a.sh")`,
      `${file}:4:12: skip[2].path: "gone.sh" matches no script in ${dir}`,
      `${file}:5:5: skip[3]: "*.rb" matches no script in ${dir}`,
      `${file}:6:11: skip[4].path: "scripts/etl/load.py" matches no script in ${dir}; patterns are relative to the folder of the config file, and this one would match relative to ${rig.root} (write "etl/load.py")`,
      `${file}:9:3: scripts.gone.sh: "gone.sh" matches no script in ${dir}`,
    ]);
    const plan = await folderToWorkflow(rig.path('scripts'));
    expect((plan.spec.steps as ScriptStep[]).map((step) => [step.id, step.skip !== undefined])).toEqual([
      ['a.sh', false],
      ['b.sh', false],
      ['etl/load.py', true],
    ]);
  });

  it('are judged against the whole tree only, like `scripts` rules, and in JSON files too', async () => {
    const file = await rig.write('scripts/orchestrator.json', '{"skip": ["a.sh", {"path": "etl/load.py"},\n "gone.sh", {"path": "./old.sh", "reason": "x"}]}');
    const dir = rig.path('scripts');
    expect(await warningsOf('scripts')).toEqual([
      `${file}:2:2: skip[2]: "gone.sh" matches no script in ${dir}`,
      `${file}:2:22: skip[3].path: "./old.sh" matches no script in ${dir}`,
    ]);
    expect(await warningsOf('scripts', { include: ['a.sh'] })).toEqual([]);
    expect(await warningsOf('scripts', { exclude: ['a.sh'] })).toEqual([]);
    expect(await warningsOf('scripts', { subdirs: ['etl'] })).toEqual([]);
    expect(await warningsOf('scripts', { maxDepth: 0 })).toEqual([]);
    expect(await warningsOf('scripts/etl')).toEqual([]);
    // A subfolder file with a max_depth of its own is judged.
    const nested = await rig.write('scripts/etl/orchestrator.yaml', 'discovery: {max_depth: 1}\nskip: [etl/load.py]\n');
    expect(await warningsOf('scripts')).toEqual([
      `${file}:2:2: skip[2]: "gone.sh" matches no script in ${dir}`,
      `${file}:2:22: skip[3].path: "./old.sh" matches no script in ${dir}`,
      `${nested}:2:8: skip[0]: "etl/load.py" matches no script in ${rig.path('scripts/etl')}; patterns are relative to the folder of the config file, and this one would match relative to ${dir} (write "load.py")`,
    ]);
  });
});
