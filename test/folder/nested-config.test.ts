import { execFileSync } from 'node:child_process';
import { rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, formatDiagnostic, getScriptConfig } from '../../src/config/index.js';
import type { ScriptStep } from '../../src/core/spec.js';
import { folderToWorkflow, type FolderRunSettings } from '../../src/folder/folder-workflow.js';
import { loadConfig } from '../../src/folder/load-config.js';
import { validateConfig } from '../../src/folder/validate-config.js';
import { createConfigRig, type ConfigRig } from '../config/config-rig.js';

// Config files in subfolders of the folder being run: a script's settings come from its own folder
// and every folder above it, whichever folder the run starts from.

let rig: ConfigRig;
beforeEach(async () => {
  rig = await createConfigRig();
  await rig.write('package.json', '{}');
});
afterEach(async () => {
  await rig.cleanup();
});

async function write(files: Record<string, string>): Promise<void> {
  for (const [file, text] of Object.entries(files)) await rig.write(file, text);
}

/** The plan's script steps by absolute path, so runs of different folders can be compared. */
async function stepsOf(folder: string, settings: FolderRunSettings = {}): Promise<Map<string, ScriptStep>> {
  const plan = await folderToWorkflow(rig.path(folder), settings);
  return new Map((plan.spec.steps as ScriptStep[]).map((step) => [step.path, step]));
}

/** What a run takes from config for one step (ids and groups depend on where the run starts). */
function settingsOf(step: ScriptStep | undefined): unknown {
  if (step === undefined) return undefined;
  const { timeout, env, cwd, retry, allowedExitCodes, args, tags, skip } = step;
  return { timeout, env, cwd, maxAttempts: retry.maxAttempts, allowedExitCodes, args, tags, skip };
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const error: unknown = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

describe('config files in subfolders', () => {
  it('apply to the scripts below them whether the parent or the subfolder is run', async () => {
    await write({
      'scripts/orchestrator.yaml': [
        'defaults: {timeout: 10, env: {A: top, B: top}}',
        'scripts:',
        '  etl/load.py: {retries: 1, args: [--from-top]}',
      ].join('\n'),
      'scripts/etl/orchestrator.yaml': [
        'defaults: {timeout: 20, env: {A: etl}, cwd: data, allowed_exit_codes: [0, 3]}',
        'skip:',
        '  - path: old.py',
        '    reason: retired',
        'scripts:',
        '  load.py: {retries: 3}',
      ].join('\n'),
      'scripts/top.py': '',
      'scripts/etl/load.py': '',
      'scripts/etl/old.py': '',
      'scripts/etl/daily/run.py': '',
    });

    const fromParent = await stepsOf('scripts');
    const fromChild = await stepsOf('scripts/etl');

    const load = rig.path('scripts/etl/load.py');
    expect(settingsOf(fromParent.get(load))).toEqual({
      timeout: 20_000,
      env: { A: 'etl', B: 'top' },
      cwd: rig.path('scripts/etl/data'),
      // The parent's rule is applied first, then the nearer file's.
      maxAttempts: 4,
      allowedExitCodes: [0, 3],
      args: ['--from-top'],
      tags: [],
      skip: undefined,
    });
    expect(settingsOf(fromParent.get(rig.path('scripts/etl/old.py')))).toMatchObject({ skip: { reason: 'retired' } });
    expect(settingsOf(fromParent.get(rig.path('scripts/etl/daily/run.py')))).toMatchObject({ timeout: 20_000, env: { A: 'etl' } });
    for (const file of ['load.py', 'old.py', 'daily/run.py']) {
      const script = rig.path(`scripts/etl/${file}`);
      expect(settingsOf(fromParent.get(script)), file).toEqual(settingsOf(fromChild.get(script)));
    }
    // The subfolder's file stays in its subfolder.
    expect(settingsOf(fromParent.get(rig.path('scripts/top.py')))).toMatchObject({
      timeout: 10_000,
      env: { A: 'top', B: 'top' },
      allowedExitCodes: [0],
    });
  });

  it('are loaded by loadConfig, after the folder and its parents, so getScriptConfig sees them', async () => {
    await write({
      'orchestrator.yaml': 'defaults: {retries: 1}\n',
      'scripts/etl/orchestrator.yml': 'defaults: {timeout: 5}\n',
      'scripts/etl/daily/orchestrator.json': '{"defaults": {"timeout": 6}}',
      'scripts/ops/orchestrator.yaml': 'defaults: {timeout: 7}\n',
    });

    const config = await loadConfig(rig.path('scripts'));

    expect(config.files.map((file) => path.relative(rig.root, file.path))).toEqual([
      'orchestrator.yaml',
      'scripts/etl/orchestrator.yml',
      'scripts/etl/daily/orchestrator.json',
      'scripts/ops/orchestrator.yaml',
    ]);
    expect(getScriptConfig('etl/daily/x.py', rig.path('scripts'), config)).toEqual({ retries: 1, timeout: 6000 });
    expect(getScriptConfig('etl/x.py', rig.path('scripts'), config)).toEqual({ retries: 1, timeout: 5000 });
    expect(getScriptConfig('x.py', rig.path('scripts'), config)).toEqual({ retries: 1 });
  });

  it('change discovery below their own folder only, the same from the parent and the subfolder', async () => {
    await write({
      'scripts/etl/orchestrator.yaml': [
        'discovery:',
        '  skip_dirs: [fixtures]',
        '  skip_files: ["helper_*.py"]',
        '  exclude: ["daily/test_*"]',
        // Counted from etl: three levels below it, wherever the run starts.
        '  max_depth: 3',
      ].join('\n'),
      'scripts/fixtures/f.py': '',
      'scripts/ops/helper_y.py': '',
      'scripts/ops/daily/test_b.py': '',
      'scripts/ops/a/b/too_deep.py': '',
      'scripts/etl/fixtures/f.py': '',
      'scripts/etl/helper_x.py': '',
      'scripts/etl/daily/test_a.py': '',
      'scripts/etl/daily/run.py': '',
      'scripts/etl/a/b/c/deep.py': '',
      'scripts/etl/a/b/c/d/too_deep.py': '',
    });
    const below = (steps: Map<string, ScriptStep>, folder: string) =>
      [...steps.keys()].filter((file) => file.startsWith(rig.path(folder) + path.sep)).map((file) => path.relative(rig.path(folder), file)).sort();

    const fromParent = await stepsOf('scripts');
    expect([...fromParent.keys()].map((file) => path.relative(rig.path('scripts'), file)).sort()).toEqual([
      'etl/a/b/c/deep.py',
      'etl/daily/run.py',
      'fixtures/f.py',
      'ops/daily/test_b.py',
      'ops/helper_y.py',
    ]);
    expect(below(await stepsOf('scripts/etl'), 'scripts/etl')).toEqual(below(fromParent, 'scripts/etl'));
    // --max-depth is about this run: it beats max_depth in config, nested files included.
    expect(below(await stepsOf('scripts', { maxDepth: 4 }), 'scripts/etl')).toEqual(['a/b/c/deep.py', 'daily/run.py']);
    expect(below(await stepsOf('scripts', { maxDepth: 5 }), 'scripts/etl')).toEqual(['a/b/c/d/too_deep.py', 'a/b/c/deep.py', 'daily/run.py']);
  });

  it('apply to a subdir run too, from every folder between it and the run folder', async () => {
    await write({
      'scripts/etl/orchestrator.yaml': 'defaults: {env: {A: etl}}\ndiscovery: {exclude: ["daily/test_*"]}\n',
      'scripts/etl/daily/test_a.py': '',
      'scripts/etl/daily/run.py': '',
    });
    const steps = await stepsOf('scripts', { subdirs: ['etl/daily'] });
    expect([...steps.keys()]).toEqual([rig.path('scripts/etl/daily/run.py')]);
    expect(steps.get(rig.path('scripts/etl/daily/run.py'))?.env).toEqual({ A: 'etl' });
  });

  it('match discovery patterns of every file against paths relative to that file, wherever the run starts', async () => {
    await write({
      'orchestrator.yaml': 'discovery: {exclude: ["scripts/etl/*.py"]}\n',
      'scripts/etl/load.py': '',
      'scripts/etl/keep.sh': '',
    });
    expect([...(await stepsOf('scripts')).keys()]).toEqual([rig.path('scripts/etl/keep.sh')]);
    expect([...(await stepsOf('scripts/etl')).keys()]).toEqual([rig.path('scripts/etl/keep.sh')]);
  });

  it('are never read where discovery does not go', async () => {
    await write({
      // Broken on purpose: reading any of them would throw.
      'scripts/node_modules/pkg/orchestrator.yaml': 'defaults: [\n',
      'scripts/.hidden/orchestrator.yaml': 'defaults: [\n',
      'scripts/etl/orchestrator.yaml': 'discovery: {skip_dirs: [vendor]}\n',
      'scripts/etl/vendor/orchestrator.yaml': 'defaults: [\n',
      'scripts/etl/vendor/x.py': '',
      'scripts/a/b/c/orchestrator.yaml': 'defaults: [\n',
      'scripts/run.py': '',
    });
    expect(await validateConfig(rig.path('scripts'))).toEqual([]);
    const plan = await folderToWorkflow(rig.path('scripts'));
    expect(plan.scripts.map((script) => script.relativePath)).toEqual(['run.py']);
  });
});

describe('a config file in a subfolder that is a link out of the project', () => {
  it('is not read, with the warning discovery gives for its own links', async () => {
    await write({
      'outside/orchestrator.yaml': 'defaults: {env: {WAREHOUSE: from-outside}, timeout: 1}\n',
      'outside/passwd': 'root:x:0:0:root:/root:/bin/bash\n',
      'project/package.json': '{}',
      'project/scripts/etl/load.py': '',
      'project/scripts/ops/deploy.py': '',
      'project/scripts/shared/orchestrator.yaml': 'defaults: {env: {WAREHOUSE: shared}}\n',
    });
    await symlink('../../../outside/orchestrator.yaml', rig.path('project/scripts/etl/orchestrator.yaml'));
    await symlink(rig.path('outside/passwd'), rig.path('project/scripts/ops/orchestrator.yaml'));
    // A link that stays inside the project is read as before.
    await rig.write('project/scripts/lib/x.py', '');
    await symlink('../shared/orchestrator.yaml', rig.path('project/scripts/lib/orchestrator.yaml'));

    const projectRoot = rig.path('project');
    const plan = await folderToWorkflow(rig.path('project/scripts'));
    const steps = new Map((plan.spec.steps as ScriptStep[]).map((step) => [step.id, step]));
    expect(steps.get('etl/load.py')?.env).not.toHaveProperty('WAREHOUSE');
    expect(steps.get('etl/load.py')?.timeout).not.toBe(1000);
    expect(steps.get('lib/x.py')?.env).toMatchObject({ WAREHOUSE: 'shared' });
    const outside = (link: string, real: string) => ({
      path: `${rig.path(link)}:1:1`,
      message: `symlink points outside "${projectRoot}" (to "${rig.path(real)}"), not followed`,
    });
    expect(plan.warnings).toEqual([
      outside('project/scripts/etl/orchestrator.yaml', 'outside/orchestrator.yaml'),
      outside('project/scripts/ops/orchestrator.yaml', 'outside/passwd'),
    ]);
    const diagnostics = await validateConfig(rig.path('project/scripts'));
    expect(diagnostics.map((d) => d.severity)).toEqual(['warning', 'warning']);
    expect(JSON.stringify(diagnostics)).not.toContain('root:x');

    // The same file, run from its own folder (the run folder's own file): skipped all the same.
    const own = await folderToWorkflow(rig.path('project/scripts/etl'));
    expect((own.spec.steps as ScriptStep[])[0]?.env).not.toHaveProperty('WAREHOUSE');
    expect(own.warnings).toEqual([outside('project/scripts/etl/orchestrator.yaml', 'outside/orchestrator.yaml')]);
  });
});

describe('a broken config file that applies to no script of the run', () => {
  it('is a warning, not an error, when discovery excludes everything below it', async () => {
    await write({
      'scripts/orchestrator.yaml': 'discovery: {exclude: ["legacy/**"]}\n',
      'scripts/legacy/orchestrator.yaml': 'defaults:\n  timeout: never\n',
      'scripts/legacy/old.py': '',
      'scripts/run.py': '',
    });
    const plan = await folderToWorkflow(rig.path('scripts'));
    expect(plan.scripts.map((script) => script.relativePath)).toEqual(['run.py']);
    expect(plan.warnings).toEqual([
      {
        path: `${rig.path('scripts/legacy/orchestrator.yaml')}:2:12`,
        message: expect.stringMatching(/^defaults\.timeout: expected a number of seconds.*\(ignored: this file applies to no script of the run\)$/) as unknown,
      },
    ]);

    // With discovery settings of its own, which might have kept scripts below it, it stays an error.
    await rig.write('scripts/legacy/orchestrator.yaml', 'discovery: {max_depth: 5}\ndefaults:\n  timeout: never\n');
    const withDiscovery = await configError(folderToWorkflow(rig.path('scripts')));
    expect(withDiscovery.diagnostics).toEqual([expect.objectContaining({ severity: 'error', file: rig.path('scripts/legacy/orchestrator.yaml') })]);
    await rig.write('scripts/legacy/orchestrator.yaml', 'defaults:\n  timeout: never\n');

    // Once a script below it is kept, it is an error again.
    await rig.write('scripts/orchestrator.yaml', 'discovery: {exclude: ["legacy/old.py"]}\n');
    await rig.write('scripts/legacy/new.py', '');
    const error = await configError(folderToWorkflow(rig.path('scripts')));
    expect(error.diagnostics).toEqual([expect.objectContaining({ severity: 'error', file: rig.path('scripts/legacy/orchestrator.yaml') })]);
  });

  it('stays an error when it does not parse and its text mentions discovery, however it is laid out', async () => {
    // The default max_depth (3) stops above load.py; the broken file's max_depth would have reached it.
    await write({ 'scripts/etl/jobs/daily/x/load.py': '', 'scripts/top.py': '' });
    const broken = {
      'orchestrator.json': '{"discovery": {"max_depth": 4},}\n',
      'orchestrator.yaml': '{discovery: {max_depth: 5}\n',
      'orchestrator.yml': 'defaults: {timeout: 5}, discovery: {max_depth: 5}\n',
    };
    for (const [name, text] of Object.entries(broken)) {
      const file = await rig.write(`scripts/etl/${name}`, text);
      const error = await configError(folderToWorkflow(rig.path('scripts')));
      expect(error.diagnostics, name).toEqual([expect.objectContaining({ severity: 'error', file })]);
      await rm(file);
    }
    // A broken file that certainly holds no discovery settings applies to nothing here.
    const file = await rig.write('scripts/etl/orchestrator.json', '{"defaults": {"timeout": 5},}\n');
    const plan = await folderToWorkflow(rig.path('scripts'));
    expect(plan.warnings).toEqual([{ path: expect.stringContaining(file) as unknown, message: expect.stringMatching(/ignored: this file applies to no script/) as unknown }]);
  });
});

describe('a config file that is not a regular file', () => {
  it('is never opened: an error names it and what it is, in the folder being run and below it', async () => {
    await write({ 'scripts/run.py': '', 'scripts/sub/job.py': '' });
    execFileSync('mkfifo', [rig.path('scripts/orchestrator.yaml')]);
    await rig.mkdir('scripts/sub/orchestrator.json');
    const expected = [
      expect.objectContaining({ severity: 'error', file: rig.path('scripts/orchestrator.yaml'), message: 'expected a config file (a regular file), got a FIFO; it is not read' }),
      expect.objectContaining({ severity: 'error', file: rig.path('scripts/sub/orchestrator.json'), message: 'expected a config file (a regular file), got a folder; it is not read' }),
    ];
    expect((await configError(folderToWorkflow(rig.path('scripts')))).diagnostics).toEqual(expected);
    expect(await validateConfig(rig.path('scripts'))).toEqual(expected);
  });
});

describe('a broken config file in a subfolder', () => {
  it('fails loading and planning with every problem at file:line:column, the parents\' included', async () => {
    await write({
      'scripts/orchestrator.yaml': 'defaults:\n  retries: many\n',
      'scripts/etl/orchestrator.yaml': 'defaults:\n  env: {A: 1}\n  timeout: never\n',
      'scripts/ops/orchestrator.yaml': 'defaults: {timeout: 1}\n',
      'scripts/ops/orchestrator.json': '{}',
      'scripts/etl/load.py': '',
    });
    const expected = [
      'scripts/orchestrator.yaml:2:12: defaults.retries',
      'scripts/etl/orchestrator.yaml:3:12: defaults.timeout',
      'scripts/ops/orchestrator.json:1:1: ',
    ];
    const where = (error: ConfigError) => error.diagnostics.map((d) => `${path.relative(rig.root, d.file)}:${d.line}:${d.column}: ${d.field}`);

    const planError = await configError(folderToWorkflow(rig.path('scripts')));
    expect(where(planError)).toEqual(expected);
    expect(planError.message.split('\n')).toEqual(planError.diagnostics.map(formatDiagnostic));
    expect(where(await configError(loadConfig(rig.path('scripts'))))).toEqual(expected);
    expect((await validateConfig(rig.path('scripts'))).map((d) => `${path.relative(rig.root, d.file)}:${d.line}:${d.column}: ${d.field}`)).toEqual(
      expected,
    );
  });
});

describe('run settings in a config file in a subfolder', () => {
  it('are ignored with a warning at the `run` key when a folder above it is run, and used when it is run', async () => {
    await write({
      'scripts/orchestrator.yaml': 'run: {concurrency: 3}\n',
      'scripts/etl/orchestrator.yaml': 'defaults: {timeout: 5}\nrun:\n  concurrency: 1\n  fail_fast: true\n  output_dir: out\n',
      'scripts/etl/load.py': '',
    });

    const fromParent = await folderToWorkflow(rig.path('scripts'));
    expect(fromParent.config.run).toEqual({ concurrency: 3 });
    expect(fromParent.spec).toMatchObject({ concurrency: 3, failurePolicy: 'continue' });
    // The rest of the file still applies.
    expect((fromParent.spec.steps[0] as ScriptStep).timeout).toBe(5000);
    const file = rig.path('scripts/etl/orchestrator.yaml');
    expect(fromParent.warnings).toEqual([
      {
        path: `${file}:2:1`,
        message: `run: ignored (concurrency, fail_fast, output_dir): \`run\` settings apply to a whole run, so they come only from the folder being run (${rig.path('scripts')}) and its parents; run ${rig.path('scripts/etl')} to use them`,
      },
    ]);
    expect(await validateConfig(rig.path('scripts'))).toEqual([
      expect.objectContaining({ severity: 'warning', file, line: 2, column: 1, field: 'run' }),
    ]);

    const fromChild = await folderToWorkflow(rig.path('scripts/etl'));
    expect(fromChild.config.run).toEqual({ concurrency: 1, failFast: true, outputDir: rig.path('scripts/etl/out') });
    expect(fromChild.spec).toMatchObject({ concurrency: 1, failurePolicy: 'no-new' });
    expect(fromChild.warnings).toEqual([]);
    expect(await validateConfig(rig.path('scripts/etl'))).toEqual([]);
  });
});
