import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, findProjectRoot, formatDiagnostic } from '../../src/config/index.js';
import { loadConfig } from '../../src/folder/load-config.js';
import { validateConfig } from '../../src/folder/validate-config.js';
import { createConfigRig } from './config-rig.js';
import type { ConfigRig } from './config-rig.js';

let rig: ConfigRig;
beforeEach(async () => {
  rig = await createConfigRig();
});
afterEach(async () => {
  await rig.cleanup();
});

async function loadError(folder: string, options?: { projectRoot?: string }): Promise<ConfigError> {
  const error: unknown = await loadConfig(folder, options).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

describe('findProjectRoot', () => {
  it('finds the nearest parent with .git, package.json or pyproject.toml', async () => {
    await rig.mkdir('repo/.git');
    await rig.write('repo/py/pyproject.toml', '');
    await rig.mkdir('repo/py/src/pkg');
    await rig.mkdir('repo/other/deep');

    expect(await findProjectRoot(rig.path('repo/py/src/pkg'))).toBe(rig.path('repo/py'));
    expect(await findProjectRoot(rig.path('repo/other/deep'))).toBe(rig.path('repo'));
    expect(await findProjectRoot(rig.path('repo'))).toBe(rig.path('repo'));
  });

  it('counts a .git file (a worktree) as a marker too', async () => {
    await rig.write('wt/.git', 'gitdir: /elsewhere\n');
    await rig.mkdir('wt/a');
    expect(await findProjectRoot(rig.path('wt/a'))).toBe(rig.path('wt'));
  });

  it('returns the folder itself when no parent has a marker', async () => {
    const folder = await rig.mkdir('plain/scripts');
    // The temp folder sits under os.tmpdir(), which has no marker on a sane machine.
    expect(await findProjectRoot(folder)).toBe(folder);
  });
});

describe('loadConfig', () => {
  it('reads the config files from the project root down to the folder, root-most first', async () => {
    await rig.write('package.json', '{}');
    await rig.write('orchestrator.yaml', 'defaults:\n  timeout: 10\n');
    await rig.write('scripts/orchestrator.yml', 'defaults:\n  timeout: 20\n');
    const folder = await rig.mkdir('scripts/etl');

    const config = await loadConfig(folder);

    expect(config.folder).toBe(folder);
    expect(config.projectRoot).toBe(rig.root);
    expect(config.files.map((file) => file.path)).toEqual([
      rig.path('orchestrator.yaml'),
      rig.path('scripts/orchestrator.yml'),
    ]);
    expect(config.files.map((file) => file.dir)).toEqual([rig.root, rig.path('scripts')]);
    expect(config.files.map((file) => file.defaults.timeout)).toEqual([10_000, 20_000]);
  });

  it('stops at the project root and never reads config files above it', async () => {
    // Invalid on purpose: reading it would throw.
    await rig.write('orchestrator.yaml', 'nonsense: [\n');
    await rig.mkdir('project/.git');
    await rig.write('project/orchestrator.json', '{"run": {"concurrency": 3}}');
    const folder = await rig.mkdir('project/scripts');

    const config = await loadConfig(folder);

    expect(config.projectRoot).toBe(rig.path('project'));
    expect(config.files.map((file) => file.path)).toEqual([rig.path('project/orchestrator.json')]);
    expect(config.run).toEqual({ concurrency: 3 });
  });

  it('uses the projectRoot option instead of looking for markers', async () => {
    await rig.write('package.json', '{}');
    await rig.write('orchestrator.yaml', 'run:\n  concurrency: 1\n');
    await rig.write('a/orchestrator.yaml', 'run:\n  concurrency: 2\n');
    const folder = await rig.mkdir('a/b');

    const config = await loadConfig(folder, { projectRoot: rig.path('a') });

    expect(config.projectRoot).toBe(rig.path('a'));
    expect(config.files.map((file) => file.path)).toEqual([rig.path('a/orchestrator.yaml')]);
  });

  it('rejects a projectRoot that is not the folder or one of its parents', async () => {
    const folder = await rig.mkdir('a');
    const other = await rig.mkdir('b');
    await expect(loadConfig(folder, { projectRoot: other })).rejects.toThrow(TypeError);
    await expect(loadConfig(folder, { projectRoot: other })).rejects.toThrow(/Expected the `projectRoot` option/);
  });

  it('merges run settings with the nearer file winning and concatenates discovery lists', async () => {
    await rig.write('package.json', '{}');
    await rig.write(
      'orchestrator.yaml',
      [
        'run: {concurrency: 2, fail_fast: true, timeout: 10m, output_dir: reports}',
        'discovery: {max_depth: 1, include: ["*.py"], skip_dirs: [fixtures]}',
      ].join('\n'),
    );
    await rig.write(
      'jobs/orchestrator.yaml',
      ['run: {concurrency: 8}', 'discovery: {max_depth: 4, include: ["*.sh"], exclude: [tmp], skip_dirs: ["!build"]}'].join('\n'),
    );

    const config = await loadConfig(rig.path('jobs'));

    expect(config.run).toEqual({
      concurrency: 8,
      failFast: true,
      timeout: 600_000,
      outputDir: rig.path('reports'),
    });
    expect(config.discovery).toEqual({
      maxDepth: 4,
      include: ['*.py', '*.sh'],
      exclude: ['tmp'],
      skipDirs: ['fixtures', '!build'],
    });
  });

  it('converts durations to milliseconds and folders to absolute paths', async () => {
    await rig.write('pyproject.toml', '');
    await rig.write(
      'jobs/orchestrator.yaml',
      'defaults:\n  timeout: 1m30s\n  retry_delay: 500ms\n  kill_grace: 2\n  cwd: ..\nrun:\n  output_dir: out\n',
    );

    const config = await loadConfig(rig.path('jobs'));
    const [file] = config.files;

    expect(file?.defaults).toEqual({ timeout: 90_000, retryDelay: 500, killGrace: 2000, cwd: rig.root });
    expect(file?.run.outputDir).toBe(rig.path('jobs/out'));
  });

  it('treats an empty file as a file with no settings', async () => {
    await rig.write('package.json', '{}');
    await rig.write('orchestrator.yaml', '');

    const config = await loadConfig(rig.root);

    expect(config.files).toEqual([
      {
        path: rig.path('orchestrator.yaml'),
        dir: rig.root,
        defaults: {},
        skip: [],
        scripts: [],
        discovery: {},
        run: {},
      },
    ]);
    expect(config.discovery).toEqual({});
    expect(config.run).toEqual({});
  });

  it('rejects two config files in one folder and names both', async () => {
    await rig.write('package.json', '{}');
    await rig.write('orchestrator.yaml', 'version: 1\n');
    await rig.write('orchestrator.json', '{"version": 1}');

    const error = await loadError(rig.root);

    expect(error.diagnostics).toEqual([
      {
        severity: 'error',
        file: rig.path('orchestrator.json'),
        line: 1,
        column: 1,
        field: '',
        message: `found both orchestrator.yaml and orchestrator.json in ${rig.root}; keep only one`,
      },
    ]);
  });

  it('throws one ConfigError with the diagnostics of every file and never a partial config', async () => {
    await rig.write('package.json', '{}');
    await rig.write('orchestrator.yaml', 'defaults:\n  retries: many\n');
    await rig.write('jobs/orchestrator.yaml', 'run:\n  concurency: 2\n');

    const error = await loadError(rig.path('jobs'));

    expect(error.name).toBe('ConfigError');
    expect(error).toBeInstanceOf(Error);
    expect(error.diagnostics.map((d) => `${path.relative(rig.root, d.file)}:${d.line}:${d.column}: ${d.field}`)).toEqual([
      'orchestrator.yaml:2:12: defaults.retries',
      'jobs/orchestrator.yaml:2:3: run.concurency',
    ]);
    expect(error.message.split('\n')).toEqual(error.diagnostics.map(formatDiagnostic));
    expect(error.message).toContain('unknown key `concurency`, did you mean `concurrency`?');
  });

  it('validateConfig returns the diagnostics, warnings included, instead of throwing', async () => {
    await rig.write('package.json', '{}');
    await rig.write('jobs/orchestrator.yaml', 'skip:\n  - ../elsewhere.sh\n');
    expect(await validateConfig(rig.path('jobs'))).toEqual([
      expect.objectContaining({ severity: 'warning', line: 2, column: 5, field: 'skip[0]' }),
    ]);
    // A warning alone does not stop loading.
    await expect(loadConfig(rig.path('jobs'))).resolves.toMatchObject({ files: [{ dir: rig.path('jobs') }] });

    await rig.write('orchestrator.yaml', 'run: {timeout: soon}\n');
    const diagnostics = await validateConfig(rig.path('jobs'));
    expect(diagnostics.map((d) => [d.severity, d.field])).toEqual([
      ['error', 'run.timeout'],
      ['warning', 'skip[0]'],
    ]);
  });

  it('returns an empty list from validateConfig for a valid config', async () => {
    await rig.write('package.json', '{}');
    await rig.write('orchestrator.yml', 'version: 1\ndefaults: {timeout: 5}\n');
    expect(await validateConfig(rig.root)).toEqual([]);
  });
});
