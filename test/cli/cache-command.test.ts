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

interface RunJson {
  id: string;
}
interface ShowJson {
  steps: { stepId: string; status: string; cacheExplain: string[] }[];
}

async function latestRun(): Promise<string> {
  const runs = JSON.parse((await rig.run(['runs', '--json'])).stdout) as RunJson[];
  return runs[0]?.id ?? '';
}

async function statuses(id: string): Promise<Record<string, string>> {
  const detail = JSON.parse((await rig.run(['runs', 'show', id, '--json'])).stdout) as ShowJson;
  return Object.fromEntries(detail.steps.map((s) => [s.stepId, s.status]));
}

async function count(name: string): Promise<number> {
  return (await readFile(rig.path(name), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
}

describe('step caching', () => {
  it('changing one input file of a cached chain reruns that step and its dependents only, and explain names the file', async () => {
    await rig.write('data/a.txt', 'alpha\n');
    await rig.write('data/b.txt', 'beta\n');
    await rig.write(
      'wf.yaml',
      [
        'name: chain',
        'cache: true',
        'steps:',
        '  - id: one',
        `    run: echo run >> "${rig.path('one.count')}"; echo "n=1" > "$ORCHESTRATOR_OUTPUT"`,
        '    cache: { inputs: [data/a.txt] }',
        '  - id: two',
        '    needs: one',
        `    run: echo run >> "${rig.path('two.count')}"; cat data/b.txt > /dev/null; echo "m=2" > "$ORCHESTRATOR_OUTPUT"`,
        '    cache: { inputs: [data/b.txt] }',
        '  - id: three',
        '    needs: two',
        `    run: echo run >> "${rig.path('three.count')}"; echo "got $ORCHESTRATOR_OUTPUT_TWO_M"`,
        '',
      ].join('\n'),
    );
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    const second = await rig.run(['run', 'wf.yaml']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('cached');
    expect(await statuses(await latestRun())).toEqual({ one: 'cached', two: 'cached', three: 'cached' });
    expect([await count('one.count'), await count('two.count'), await count('three.count')]).toEqual([1, 1, 1]);

    await rig.write('data/b.txt', 'beta changed\n');
    const third = await rig.run(['run', 'wf.yaml', '--explain']);
    expect(third.code, third.stderr).toBe(0);
    const id = await latestRun();
    expect(await statuses(id)).toEqual({ one: 'cached', two: 'succeeded', three: 'cached' });
    expect([await count('one.count'), await count('two.count'), await count('three.count')]).toEqual([1, 2, 1]);
    expect(third.stdout).toContain('two: ran: input file data/b.txt changed');

    const explained = await rig.run(['explain', id, 'two']);
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toContain('input file data/b.txt changed');
    const hit = await rig.run(['explain', id, 'one']);
    expect(hit.stdout).toContain('came from the cache');
  });

  it('a changed value in the env the file declares (the step\'s or the workflow\'s) is a miss, named but never shown', async () => {
    const write = (mode: string, version: string) =>
      rig.write(
        'wf.yaml',
        [
          'name: envs',
          'cache: true',
          'env:',
          `  MODE: ${mode}`,
          'steps:',
          '  - id: ver',
          `    env: { VERSION: "${version}" }`,
          `    run: echo run >> "${rig.path('ver.count')}"; echo "v=$VERSION-$MODE" >> "$ORCHESTRATOR_OUTPUT"`,
          '  - id: use',
          '    needs: ver',
          '    run: echo "got ${{ steps.ver.outputs.v }}"',
          '',
        ].join('\n'),
      );
    await write('debug', 'secret-1');
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    expect(await count('ver.count')).toBe(1);

    await write('debug', 'secret-2');
    const step = await rig.run(['run', 'wf.yaml', '--explain']);
    expect(step.code, step.stderr).toBe(0);
    expect(await count('ver.count')).toBe(2);
    expect(step.stdout).toContain('ver: ran: environment variable VERSION changed');
    expect(step.stdout).toContain('got secret-2-debug');
    // (The dependent's command shows its rendered text, as every report does; the variable's own
    // line names it only.)
    const verLine = step.stdout.split('\n').find((line) => line.startsWith('ver: ')) ?? '';
    expect(verLine).not.toMatch(/secret/);

    await write('release', 'secret-2');
    const workflow = await rig.run(['run', 'wf.yaml', '--explain']);
    expect(workflow.code, workflow.stderr).toBe(0);
    expect(await count('ver.count')).toBe(3);
    expect(workflow.stdout).toContain('ver: ran: environment variable MODE changed');
    expect(workflow.stdout).not.toMatch(/ORCHESTRATOR_OUTPUT/);
  });

  it('rerun --failed and resume keep a step that came from the cache, and say so in their header', async () => {
    await rig.write('in.txt', '1\n');
    await rig.write(
      'wf.yaml',
      [
        'name: kept',
        'steps:',
        '  - id: c1',
        '    cache: { inputs: [in.txt] }',
        `    run: echo ran >> "${rig.path('c1.count')}"`,
        '  - id: bad',
        '    needs: c1',
        `    run: test -f "${rig.path('ok')}"`,
        '',
      ].join('\n'),
    );
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(1);
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(1);
    const id = await latestRun();
    expect(await statuses(id)).toEqual({ c1: 'cached', bad: 'failed' });
    await rig.write('ok', '');
    const rerun = await rig.run(['rerun', id, '--failed']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain('1 step(s) kept from before, 1 to run');
    expect(await count('c1.count')).toBe(1);
  });

  it('a dependency whose outputs change makes its dependents run again', async () => {
    await rig.write('version.txt', '1\n');
    await rig.write(
      'wf.yaml',
      [
        'name: deps',
        'steps:',
        '  - id: version',
        '    run: echo "v=$(cat version.txt)" > "$ORCHESTRATOR_OUTPUT"',
        '  - id: build',
        '    needs: version',
        `    run: echo run >> "${rig.path('build.count')}"`,
        '    cache: true',
        '',
      ].join('\n'),
    );
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    expect(await count('build.count')).toBe(1);
    await rig.write('version.txt', '2\n');
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    expect(await count('build.count')).toBe(2);
    const explained = await rig.run(['explain', await latestRun(), 'build']);
    expect(explained.stdout).toContain('outputs of dependency version changed: v changed');
  });

  it('explain names the argument that changed, was added or removed, and the script file whose content changed', async () => {
    await rig.write('scripts/level.sh', `#!/bin/sh\necho "$@" >> "${rig.path('level.log')}"\n`, true);
    const workflow = (args: string): string => ['name: levels', 'cache: true', 'steps:', '  - id: lv', '    script: scripts/level.sh', `    args: ${args}`, ''].join('\n');
    await rig.write('wf.yaml', workflow('["two", "--level", "3"]'));
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    expect(await count('level.log')).toBe(1);

    await rig.write('wf.yaml', workflow('["two", "--level", "4"]'));
    const changed = await rig.run(['run', 'wf.yaml', '--explain']);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain('lv: ran: argument 3 changed: "3" -> "4"\n');
    const explained = await rig.run(['explain', await latestRun(), 'lv']);
    expect(explained.stdout).toMatch(/ran \(succeeded\) in run \S+; key \w+\n {2}argument 3 changed: "3" -> "4"\n$/);

    await rig.write('wf.yaml', workflow('["two", "--level", "4", "--verbose"]'));
    expect((await rig.run(['run', 'wf.yaml', '--explain'])).stdout).toContain('lv: ran: argument 4 added: "--verbose"\n');
    await rig.write('wf.yaml', workflow('["--level", "4", "--verbose"]'));
    expect((await rig.run(['run', 'wf.yaml', '--explain'])).stdout).toContain('lv: ran: argument 1 removed: "two"\n');

    await rig.write('scripts/level.sh', `#!/bin/sh\necho "edited $@" >> "${rig.path('level.log')}"\n`, true);
    expect((await rig.run(['run', 'wf.yaml', '--explain'])).stdout).toContain('lv: ran: script content changed (scripts/level.sh)\n');
    expect(await count('level.log')).toBe(5);
  });

  it('explain shows a changed command before and after, and names an environment variable without its value', async () => {
    const workflow = (command: string): string =>
      ['name: cmd', 'cache: true', 'steps:', '  - id: build', `    run: ${command}`, '    cache: { env: [API_TOKEN] }', ''].join('\n');
    await rig.write('wf.yaml', workflow('echo make build'));
    expect((await rig.run(['run', 'wf.yaml'], { API_TOKEN: 'hunter2-first' })).code).toBe(0);
    await rig.write('wf.yaml', workflow('echo make build -j4'));
    const changed = await rig.run(['run', 'wf.yaml', '--explain'], { API_TOKEN: 'hunter2-first' });
    expect(changed.stdout).toContain('build: ran: command changed: "echo make build" -> "echo make build -j4"\n');

    const long = `echo ${'x'.repeat(120)}`;
    await rig.write('wf.yaml', workflow(long));
    expect((await rig.run(['run', 'wf.yaml'], { API_TOKEN: 'hunter2-first' })).code).toBe(0);
    await rig.write('wf.yaml', workflow(`${long} done`));
    const cut = (await rig.run(['run', 'wf.yaml', '--explain'], { API_TOKEN: 'hunter2-first' })).stdout;
    const line = cut.split('\n').find((l) => l.startsWith('build: ran: command changed: ')) ?? '';
    expect(line).toMatch(/^build: ran: command changed: …x{20}" -> …x{20} done"$/);
    expect(line.length).toBeLessThan(200);

    const secret = await rig.run(['run', 'wf.yaml', '--explain'], { API_TOKEN: 'hunter2-second' });
    expect(secret.stdout).toContain('build: ran: environment variable API_TOKEN changed\n');
    const explained = await rig.run(['explain', await latestRun(), 'build']);
    expect(explained.stdout).toContain('environment variable API_TOKEN changed');
    expect(secret.stdout + explained.stdout).not.toContain('hunter2');
  });

  it('rerun --step X (and --downstream) runs its steps again instead of taking them from the cache', async () => {
    const step = (id: string, needs?: string): string[] => [
      `  - id: ${id}`,
      ...(needs ? [`    needs: ${needs}`] : []),
      `    run: echo ${id} >> "${rig.path(`${id}.count`)}"`,
    ];
    await rig.write('wf.yaml', ['name: w', 'cache: true', 'steps:', ...step('prep'), ...step('stats', 'prep'), ...step('report', 'stats'), ''].join('\n'));
    for (let i = 0; i < 2; i += 1) expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    const cachedRun = await latestRun();
    expect(await statuses(cachedRun)).toEqual({ prep: 'cached', stats: 'cached', report: 'cached' });
    const rerun = await rig.run(['rerun', cachedRun, '--step', 'stats']);
    expect(rerun.code, rerun.stderr + rerun.stdout).toBe(0);
    expect(rerun.stdout).not.toContain('↺ stats');
    expect([await count('prep.count'), await count('stats.count'), await count('report.count')]).toEqual([1, 2, 1]);
    const rerunId = await latestRun();
    expect(await statuses(rerunId)).toMatchObject({ stats: 'succeeded' });
    expect((await rig.run(['explain', rerunId, 'stats'])).stdout).toContain('not looked up in the cache: a rerun runs its steps again');
    expect((await rig.run(['rerun', cachedRun, '--step', 'stats', '--downstream'])).code).toBe(0);
    expect([await count('prep.count'), await count('stats.count'), await count('report.count')]).toEqual([1, 3, 2]);
    // What a rerun ran is stored in the cache as any run's result.
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    expect(await statuses(await latestRun())).toEqual({ prep: 'cached', stats: 'cached', report: 'cached' });
  });

  it('explain of a step that was skipped says it did not run, not that caching was off', async () => {
    await rig.write('wf.yaml', 'name: w\ncache: true\nsteps:\n  - id: a\n    run: exit 1\n  - id: b\n    needs: a\n    run: echo b\n');
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(1);
    const explained = await rig.run(['explain', await latestRun(), 'b']);
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(/^b did not run in run \S+ \(skipped: a dependency did not succeed.*\), so there was no cache lookup\n$/);
  });

  it('--no-cache runs every step', async () => {
    await rig.write('wf.yaml', `name: nc\ncache: true\nsteps:\n  - id: a\n    run: echo run >> "${rig.path('a.count')}"\n`);
    expect((await rig.run(['run', 'wf.yaml'])).code).toBe(0);
    expect((await rig.run(['run', 'wf.yaml', '--no-cache'])).code).toBe(0);
    expect(await count('a.count')).toBe(2);
  });

  it('identical scripts in two folders each run: the cache key holds the step and where it runs', async () => {
    // Same content, same arguments, same (empty) inputs: only the location differs.
    const script = `#!/bin/sh\necho "$(pwd)" >> "${rig.path('ran.log')}"\n`;
    await rig.write('scripts/a/build.sh', script, true);
    await rig.write('scripts/b/build.sh', script, true);
    expect((await rig.run(['run', 'scripts', '--cache', '-j', '1'])).code).toBe(0);
    const ran = (await readFile(rig.path('ran.log'), 'utf8')).split('\n').filter(Boolean).sort();
    expect(ran).toEqual([rig.path('scripts', 'a'), rig.path('scripts', 'b')]);
    expect(await statuses(await latestRun())).toEqual({ 'a/build.sh': 'succeeded', 'b/build.sh': 'succeeded' });
  });
});
