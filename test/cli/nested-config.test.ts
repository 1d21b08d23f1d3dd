import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliRig } from './cli-rig.js';

// Config files in subfolders of the folder being run: `run scripts` and `run scripts/etl` give a
// script the same settings, and a broken one stops the run before anything starts.

let rig: CliRig;
beforeEach(async () => {
  rig = await CliRig.create();
});
afterEach(async () => {
  await rig.cleanup();
});

describe('a config file in a subfolder', () => {
  it('sets env, timeout and skips for the scripts below it, whether the parent or the subfolder is run', async () => {
    await rig.write('scripts/orchestrator.yaml', 'defaults: {env: {WHO: top}}\n');
    await rig.write(
      'scripts/etl/orchestrator.yaml',
      'defaults: {env: {WHO: etl}}\nscripts:\n  slow.sh: {timeout: 300ms}\nskip:\n  - path: old.sh\n    reason: retired\n',
    );
    await rig.write('scripts/top.sh', 'echo "who=$WHO"\n');
    await rig.write('scripts/etl/env.sh', 'echo "who=$WHO"\n');
    await rig.write('scripts/etl/slow.sh', 'sleep 30\n');
    await rig.write('scripts/etl/old.sh', `touch "${rig.path('old-ran')}"\n`);

    for (const [folder, prefix] of [
      ['scripts', 'etl/'],
      ['scripts/etl', ''],
    ] as const) {
      const started = Date.now();
      const result = await rig.run(['run', folder, '--reporter', 'json', '--no-history']);
      expect(result.code, result.stdout + result.stderr).toBe(1);
      expect(Date.now() - started, `${folder}: expected the 300 ms timeout of etl's config, not the default minute`).toBeLessThan(15_000);
      const [runDir] = await rig.runDirs(rig.path(folder, 'output'));
      const steps = (await rig.summary(runDir as string)).steps;
      const step = (id: string) => steps.find((s) => s.id === `${prefix}${id}`);
      expect(step('env.sh')?.stdoutTail, folder).toContain('who=etl');
      expect(step('slow.sh'), folder).toMatchObject({ status: 'timed-out' });
      expect(step('old.sh'), folder).toMatchObject({ status: 'skipped' });
      expect(step('old.sh')?.message, folder).toContain('retired');
    }
    const top = (await rig.summary((await rig.runDirs())[0] as string)).steps.find((s) => s.id === 'top.sh');
    expect(top?.stdoutTail).toContain('who=top');
    expect(existsSync(rig.path('old-ran'))).toBe(false);
  });

  it('leaves out what its discovery settings skip, below its own folder only', async () => {
    await rig.write('scripts/etl/orchestrator.yaml', 'discovery:\n  skip_dirs: [fixtures]\n  exclude: ["test_*"]\n');
    await rig.write('scripts/etl/load.sh', 'exit 0\n');
    await rig.write('scripts/etl/test_load.sh', 'exit 0\n');
    await rig.write('scripts/etl/fixtures/make.sh', 'exit 0\n');
    await rig.write('scripts/fixtures/other.sh', 'exit 0\n');
    await rig.write('scripts/test_top.sh', 'exit 0\n');
    const ids = async (folder: string) => {
      const result = await rig.run(['list', folder, '--json']);
      expect(result.code, result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as { scripts: { id: string }[] }).scripts.map((s) => s.id);
    };
    expect(await ids('scripts')).toEqual(['etl/load.sh', 'fixtures/other.sh', 'test_top.sh']);
    expect(await ids('scripts/etl')).toEqual(['load.sh']);
  });

  it('when broken, fails validate and run with file:line:column before anything runs', async () => {
    await rig.write('scripts/first.sh', `touch "${rig.path('ran')}"\n`);
    await rig.write('scripts/etl/load.sh', `touch "${rig.path('ran')}"\n`);
    await rig.write('scripts/etl/orchestrator.yaml', 'defaults:\n  timeout: never\n');

    const validate = await rig.run(['validate', 'scripts']);
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain(`${rig.path('scripts/etl/orchestrator.yaml')}:2:12: defaults.timeout: expected a number of seconds`);
    expect(validate.stdout).not.toContain('ok');

    for (const args of [['run', 'scripts', '--no-history'], ['run', 'scripts', '--dry-run'], ['list', 'scripts']]) {
      const result = await rig.run(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(`${rig.path('scripts/etl/orchestrator.yaml')}:2:12: defaults.timeout`);
    }
    expect(existsSync(rig.path('ran'))).toBe(false);
    expect(existsSync(rig.path('scripts/output'))).toBe(false);
  });

  it('has its run settings ignored with a warning when the parent is run, and used when it is run', async () => {
    await rig.write('scripts/etl/orchestrator.yaml', 'defaults: {env: {WHO: etl}}\nrun:\n  output_dir: etl-reports\n');
    await rig.write('scripts/etl/env.sh', 'echo "who=$WHO"\n');
    const warning = `${rig.path('scripts/etl/orchestrator.yaml')}:2:1: run: ignored (output_dir)`;

    const parent = await rig.run(['run', 'scripts', '--reporter', 'json', '--no-history']);
    expect(parent.code, parent.stderr).toBe(0);
    expect(parent.stdout + parent.stderr).toContain(`warning: ${warning}`);
    expect(await rig.runDirs()).toHaveLength(1);
    expect(existsSync(rig.path('scripts/etl/etl-reports'))).toBe(false);

    const validate = await rig.run(['validate', 'scripts']);
    expect(validate.code).toBe(0);
    expect(validate.stderr).toContain(`${rig.path('scripts/etl/orchestrator.yaml')}:2:1: warning: run: ignored (output_dir)`);

    const child = await rig.run(['run', 'scripts/etl', '--reporter', 'json', '--no-history']);
    expect(child.code, child.stderr).toBe(0);
    expect(child.stdout + child.stderr).not.toContain('warning');
    const [runDir] = await rig.runDirs(rig.path('scripts/etl/etl-reports'));
    expect((await rig.summary(runDir as string)).steps[0]?.stdoutTail).toContain('who=etl');
  });
});

describe('orchestrator validate on a folder', () => {
  it('names the config files it checked, and says so when there are none', async () => {
    await rig.write('scripts/a.sh', 'exit 0\n');
    const none = await rig.run(['validate', 'scripts']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe(`no config files found for ${rig.path('scripts')} (in it, the subfolders a run searches, or its parents up to ${rig.root})\n`);

    await rig.write('scripts/orchestrator.yaml', 'defaults: {timeout: 5}\n');
    await rig.write('scripts/etl/orchestrator.yml', 'defaults: {timeout: 6}\n');
    const ok = await rig.run(['validate', 'scripts']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(
      `ok: the config of ${rig.path('scripts')} is valid (2 files: scripts/orchestrator.yaml, scripts/etl/orchestrator.yml)\n`,
    );
    const json = JSON.parse((await rig.run(['validate', 'scripts', '--json'])).stdout) as unknown;
    expect(json).toEqual({
      valid: true,
      files: [rig.path('scripts/orchestrator.yaml'), rig.path('scripts/etl/orchestrator.yml')],
      diagnostics: [],
    });
  });

  it('warns about a `scripts` rule that matches no script, in validate and run, without changing the exit code', async () => {
    await rig.write('scripts/a.sh', 'exit 0\n');
    await rig.write('scripts/b.sh', 'exit 0\n');
    const file = await rig.write('scripts/orchestrator.yaml', 'scripts:\n  a.sh: {timeout: 5}\n  scripts/b.sh: {skip: true}\n');
    const warning = `${file}:3:3: scripts.scripts/b.sh: "scripts/b.sh" matches no script in ${rig.path('scripts')}; patterns are relative to the folder of the config file, and this one would match relative to ${rig.root} (write "b.sh")`;
    const validate = await rig.run(['validate', 'scripts']);
    expect(validate.code, validate.stderr).toBe(0);
    expect(validate.stderr).toContain(`${file}:3:3: warning: scripts.scripts/b.sh: "scripts/b.sh" matches no script`);
    expect(validate.stderr).toContain('0 error(s), 1 warning(s)');
    const run = await rig.run(['run', 'scripts', '--no-history']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`warning: ${warning}`);
    expect(run.stdout).toContain('2 passed');
    // A filter leaves out scripts that rules rightly name: no warning then.
    const filtered = await rig.run(['list', 'scripts', '-f', 'a.sh']);
    expect(filtered.code).toBe(0);
    expect(filtered.stdout + filtered.stderr).not.toContain('matches no script');
  });

  it('takes the discovery options of run, so it checks the files the run reads', async () => {
    await rig.write('scripts/a/b/c/deep.sh', 'exit 0\n');
    await rig.write('scripts/a/b/c/orchestrator.yaml', 'defaults: [\n');
    const run = await rig.run(['run', 'scripts', '--max-depth', '3', '--no-history']);
    expect(run.code).toBe(2);
    const validate = await rig.run(['validate', 'scripts', '--max-depth', '3']);
    expect(validate.code, validate.stdout).toBe(2);
    expect(validate.stderr).toContain(`${rig.path('scripts/a/b/c/orchestrator.yaml')}:2:1: invalid YAML`);
    // Not searched without the flag (default depth 2), by run and validate alike.
    expect((await rig.run(['validate', 'scripts'])).code).toBe(0);
    expect((await rig.run(['validate', 'scripts', '--subdirs', 'a', '--max-depth', '3'])).code).toBe(2);
    expect((await rig.run(['validate', 'scripts', '--max-depth', '3', '--exclude', 'a/**'])).code).toBe(0);
  });

  it('does not fail on a broken file in a folder discovery excludes, nor do run and list', async () => {
    await rig.write('scripts/orchestrator.yaml', 'discovery: {exclude: ["legacy/**"]}\n');
    await rig.write('scripts/legacy/orchestrator.yaml', 'defaults:\n  timeout: never\n');
    await rig.write('scripts/legacy/old.sh', `touch "${rig.path('ran')}"\n`);
    await rig.write('scripts/a.sh', 'exit 0\n');
    for (const args of [['validate', 'scripts'], ['list', 'scripts'], ['run', 'scripts', '--no-history']]) {
      const result = await rig.run(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stdout + result.stderr).toMatch(
        /scripts\/legacy\/orchestrator\.yaml:2:12: (warning: )?defaults\.timeout: .*\(ignored: this file applies to no script of the run\)/,
      );
    }
    expect(existsSync(rig.path('ran'))).toBe(false);
  });

  it('dry run lists the config files of subfolders with the others', async () => {
    await rig.write('scripts/a.sh', 'exit 0\n');
    await rig.write('scripts/orchestrator.yaml', 'defaults: {timeout: 5}\n');
    await rig.write('scripts/etl/orchestrator.yaml', 'defaults: {timeout: 6}\n');
    await rig.write('scripts/etl/b.sh', 'exit 0\n');
    const result = await rig.run(['run', 'scripts', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('WOULD RUN  etl/b.sh  shell · timeout 6.00s');
    expect(result.stdout).toContain(`config: ${rig.path('scripts/orchestrator.yaml')}, ${rig.path('scripts/etl/orchestrator.yaml')}`);
  });
});
