import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getScriptConfig, matchesPattern } from '../../src/config/index.js';
import { loadConfig } from '../../src/folder/load-config.js';
import type { LoadedConfig } from '../../src/config/index.js';
import { createConfigRig } from './config-rig.js';
import type { ConfigRig } from './config-rig.js';

let rig: ConfigRig;
beforeEach(async () => {
  rig = await createConfigRig();
  await rig.write('package.json', '{}');
});
afterEach(async () => {
  await rig.cleanup();
});

/** Writes config files (path → YAML) into the rig and loads the config for `folder`. */
async function configFor(folder: string, files: Record<string, string>): Promise<LoadedConfig> {
  for (const [file, text] of Object.entries(files)) await rig.write(file, text);
  return loadConfig(await rig.mkdir(folder));
}

describe('matchesPattern', () => {
  it.each([
    ['a.py', 'a.py', true],
    ['a.py', 'x/a.py', true],
    ['a.py', 'x/y/a.py', true],
    ['a.py', 'x/ba.py', false],
    ['a.py', 'ba.py', false],
    ['a.py', 'a.py/b.sh', false],
    ['etl/load.py', 'etl/load.py', true],
    ['etl/load.py', 'sub/etl/load.py', true],
    ['etl/load.py', 'xetl/load.py', false],
    ['etl/load.py', 'load.py', false],
    ['./a.py', 'x/a.py', true],
    ['*.sh', 'run.sh', true],
    ['*.sh', 'deploy/run.sh', true],
    ['*.sh', 'deploy/run.py', false],
    ['deploy/*.sh', 'deploy/run.sh', true],
    ['deploy/*.sh', 'x/deploy/run.sh', false],
    ['deploy/*.sh', 'deploy/sub/run.sh', false],
    ['legacy/**', 'legacy/a/b.py', true],
    ['**/scratch/**', 'x/scratch/y.py', true],
    ['*.py', '.hidden.py', true],
    ['{a,b}.py', 'x/b.py', true],
  ])('pattern %j against %j is %s', (pattern, relativePath, expected) => {
    expect(matchesPattern(pattern, relativePath)).toBe(expected);
  });
});

describe('getScriptConfig', () => {
  it('matches a plain key on whole path segments, so a.py never matches x/ba.py', async () => {
    const config = await configFor('s', { 's/orchestrator.yaml': 'scripts:\n  a.py: {timeout: 7}\n' });

    expect(getScriptConfig('a.py', rig.path('s'), config).timeout).toBe(7000);
    expect(getScriptConfig('x/a.py', rig.path('s'), config).timeout).toBe(7000);
    expect(getScriptConfig('x/ba.py', rig.path('s'), config).timeout).toBeUndefined();
  });

  it('matches a plain key with folders as a suffix of the path', async () => {
    const config = await configFor('s', { 's/orchestrator.yaml': 'scripts:\n  etl/load.py: {retries: 2}\n' });

    expect(getScriptConfig('etl/load.py', rig.path('s'), config).retries).toBe(2);
    expect(getScriptConfig('sub/etl/load.py', rig.path('s'), config).retries).toBe(2);
    expect(getScriptConfig('load.py', rig.path('s'), config).retries).toBeUndefined();
  });

  it('matches a glob without a slash on the file name in any folder, and one with a slash on the whole path', async () => {
    const config = await configFor('s', {
      's/orchestrator.yaml': 'scripts:\n  "*.sh": {tags: [shell]}\n  deploy/*.py: {tags: [deploy]}\n',
    });
    const dir = rig.path('s');

    expect(getScriptConfig('deploy/run.sh', dir, config).tags).toEqual(['shell']);
    expect(getScriptConfig('deploy/push.py', dir, config).tags).toEqual(['deploy']);
    expect(getScriptConfig('x/deploy/push.py', dir, config).tags).toBeUndefined();
  });

  it('applies the exact path over a suffix key over a glob, whatever their order in the file', async () => {
    const config = await configFor('s', {
      's/orchestrator.yaml': [
        'scripts:',
        '  etl/load.py: {timeout: 3}', // exact
        '  load.py: {timeout: 2, retries: 2}', // suffix
        '  "**/*.py": {timeout: 1, retries: 1, tags: [glob]}', // glob
      ].join('\n'),
    });

    expect(getScriptConfig('etl/load.py', rig.path('s'), config)).toEqual({ timeout: 3000, retries: 2, tags: ['glob'] });
    expect(getScriptConfig('other/load.py', rig.path('s'), config)).toEqual({ timeout: 2000, retries: 2, tags: ['glob'] });
  });

  it('applies shorter suffix keys before longer ones', async () => {
    const config = await configFor('s', {
      's/orchestrator.yaml': 'scripts:\n  b/etl/load.py: {timeout: 3}\n  load.py: {timeout: 1}\n  etl/load.py: {timeout: 2}\n',
    });
    expect(getScriptConfig('a/b/etl/load.py', rig.path('s'), config).timeout).toBe(3000);
    expect(getScriptConfig('c/etl/load.py', rig.path('s'), config).timeout).toBe(2000);
  });

  it('applies the defaults of every file first and then the scripts rules, each root-most first', async () => {
    const config = await configFor('jobs', {
      'orchestrator.yaml': 'defaults: {timeout: 10, retries: 1}\nscripts:\n  "*.py": {timeout: 30}\n',
      'jobs/orchestrator.yaml': 'defaults: {timeout: 20, retries: 2}\n',
    });

    // A farther file's scripts rule beats a nearer file's defaults.
    expect(getScriptConfig('a.py', rig.path('jobs'), config)).toEqual({ timeout: 30_000, retries: 2 });
    expect(getScriptConfig('a.sh', rig.path('jobs'), config)).toEqual({ timeout: 20_000, retries: 2 });
  });

  it('lets a nearer file\'s glob rule beat a farther file\'s exact rule', async () => {
    const config = await configFor('jobs', {
      'orchestrator.yaml': 'scripts:\n  jobs/a.py: {timeout: 1}\n',
      'jobs/orchestrator.yaml': 'scripts:\n  "*.py": {timeout: 2}\n',
    });
    expect(getScriptConfig('a.py', rig.path('jobs'), config).timeout).toBe(2000);
  });

  it('merges env key by key while lists replace', async () => {
    const config = await configFor('jobs', {
      'orchestrator.yaml': 'defaults:\n  env: {A: root, B: root}\n  args: [--one, --two]\n  tags: [x, y]\n',
      'jobs/orchestrator.yaml': 'scripts:\n  a.py:\n    env: {B: near, C: 3}\n    args: [--three]\n',
    });

    expect(getScriptConfig('a.py', rig.path('jobs'), config)).toEqual({
      env: { A: 'root', B: 'near', C: '3' },
      args: ['--three'],
      tags: ['x', 'y'],
    });
  });

  it('does not let getScriptConfig change the loaded config', async () => {
    const config = await configFor('s', {
      's/orchestrator.yaml': 'defaults:\n  env: {A: "1"}\n  tags: [t]\nscripts:\n  a.py: {env: {B: "2"}}\n',
    });
    const result = getScriptConfig('a.py', rig.path('s'), config);
    result.tags?.push('extra');
    expect(config.files[0]?.defaults).toEqual({ env: { A: '1' }, tags: ['t'] });
  });

  it('skips scripts listed under skip with their reason, or "listed in skip" without one', async () => {
    const config = await configFor('s', {
      's/orchestrator.yaml': 'skip:\n  - path: legacy/*.py\n    reason: replaced by etl/load.py\n  - old.sh\n',
    });
    const dir = rig.path('s');

    expect(getScriptConfig('legacy/a.py', dir, config)).toEqual({ skip: true, skipReason: 'replaced by etl/load.py' });
    expect(getScriptConfig('tools/old.sh', dir, config)).toEqual({ skip: true, skipReason: 'listed in skip' });
    expect(getScriptConfig('new.py', dir, config).skip).toBeUndefined();
    expect(getScriptConfig('x/legacy/a.py', dir, config).skip).toBeUndefined();
  });

  it('skips with skip: true under scripts, and a nearer skip: false cannot un-skip', async () => {
    const config = await configFor('jobs', {
      'orchestrator.yaml': 'scripts:\n  etl/load.py:\n    skip: true\n    skip_reason: waiting for the new API\n',
      'jobs/orchestrator.yaml': 'scripts:\n  etl/load.py: {skip: false, timeout: 5}\nskip: [other.py]\n',
    });

    expect(getScriptConfig('etl/load.py', rig.path('jobs'), config)).toEqual({
      timeout: 5000,
      skip: true,
      skipReason: 'waiting for the new API',
    });
  });

  it('gives the first skip reason when several rules skip a script', async () => {
    const config = await configFor('jobs', {
      'orchestrator.yaml': 'skip:\n  - {path: "jobs/*.py", reason: root skip}\n',
      'jobs/orchestrator.yaml': 'skip:\n  - {path: a.py, reason: near skip}\nscripts:\n  a.py: {skip: true}\n',
    });

    expect(getScriptConfig('a.py', rig.path('jobs'), config)).toEqual({ skip: true, skipReason: 'skip: true in scripts.a.py' });
    expect(getScriptConfig('b/a.py', rig.path('jobs'), config).skipReason).toBe('skip: true in scripts.a.py');
  });

  it('applies a file only to scripts inside its folder, matching paths relative to that folder', async () => {
    const config = await configFor('jobs', {
      'orchestrator.yaml': 'scripts:\n  jobs/a.py: {retries: 1}\n',
      'jobs/orchestrator.yaml': 'defaults: {timeout: 9}\n',
    });

    expect(getScriptConfig('a.py', rig.path('jobs'), config)).toEqual({ timeout: 9000, retries: 1 });
    // Outside jobs/: only the root file applies.
    expect(getScriptConfig('../tools/a.py', rig.path('jobs'), config)).toEqual({});
  });

  it('accepts an absolute script path', async () => {
    const config = await configFor('s', { 's/orchestrator.yaml': 'scripts:\n  x/a.py: {retries: 4}\n' });
    expect(getScriptConfig(rig.path('s/x/a.py'), rig.path('s'), config)).toEqual({ retries: 4 });
  });

  it('returns resolved values: milliseconds, absolute cwd, split interpreter', async () => {
    const config = await configFor('s', {
      's/orchestrator.yaml':
        'defaults:\n  interpreter: python3 -X dev\nscripts:\n  a.py:\n    cwd: data\n    retry_delay: 1.5\n    kill_grace: 250ms\n',
    });
    expect(getScriptConfig('a.py', rig.path('s'), config)).toEqual({
      interpreter: ['python3', '-X', 'dev'],
      cwd: rig.path('s/data'),
      retryDelay: 1500,
      killGrace: 250,
    });
  });
});
