import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runFolder } from '../../src/api/run-folder.js';
import { runScript, runScripts } from '../../src/api/run-scripts.js';
import { runSpec } from '../../src/api/run-spec.js';
import { runWorkflowFile } from '../../src/api/run-workflow-file.js';
import { getScriptConfig } from '../../src/config/script-config.js';
import { discoverScripts } from '../../src/discovery/index.js';
import { folderToWorkflow } from '../../src/folder/folder-workflow.js';
import { loadConfig } from '../../src/folder/load-config.js';
import { validateConfig } from '../../src/folder/validate-config.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

// Bad arguments of the library's run functions are TypeErrors that name the function, the option
// and what was expected, before anything runs (docs/api.md). `call` turns a throw into a rejection.
let dir: string;
let script: string;
const marker = (): string => path.join(dir, 'ran');
const call = (fn: () => unknown): Promise<unknown> => Promise.resolve().then(fn);

beforeEach(async () => {
  dir = await makeTmpDir('orch-check-options-');
  await writeFile(path.join(dir, 'package.json'), '{}\n');
  script = path.join(dir, 'a.sh');
  await writeFile(script, `#!/bin/sh\ntouch "${marker()}"\n`, { mode: 0o755 });
});
afterEach(async () => {
  await removeTmpDir(dir);
});

describe('runScripts and runFolder', () => {
  it('reject a concurrency that is not a positive integer instead of hanging', async () => {
    await expect(runScripts([script], { concurrency: 'x' as unknown as number })).rejects.toThrow(
      new TypeError("Expected the `concurrency` option of runScripts() to be a positive integer, got `\"x\"` (string)"),
    );
    await expect(runFolder(dir, { concurrency: 'x' as unknown as number })).rejects.toThrow(
      /^Expected the `concurrency` option of runFolder\(\) to be a positive integer, got `"x"` \(string\)$/,
    );
    await expect(runScripts([script], { concurrency: 0 })).rejects.toThrow(TypeError);
    expect(existsSync(marker())).toBe(false);
  });
});

describe('runScript', () => {
  it.each([['1s'], [-1], [Number.NaN]])('rejects the timeout %s and runs nothing', async (timeout) => {
    await expect(runScript(script, { timeout: timeout as number })).rejects.toThrow(
      /^Expected the `timeout` option of runScript\(\) to be milliseconds, 0 or more, got /,
    );
    expect(existsSync(marker())).toBe(false);
  });

  it('still runs a script with good options', async () => {
    // (A fraction of a millisecond is a timeout like any other.)
    const result = await runScript(script, { timeout: 10_000.5, killGrace: 100, env: { A: '1' }, signal: undefined });
    expect(result.status).toBe('succeeded');
    expect(existsSync(marker())).toBe(true);
  });

  it('names a missing script', async () => {
    await expect(call(() => runScript(undefined as unknown as string))).rejects.toThrow(
      'Expected the script of runScript() to be a non-empty string, got `undefined` (undefined)',
    );
  });
});

describe('unknown options', () => {
  it('are refused with a did-you-mean and the known names', async () => {
    await expect(runScripts([script], { concurency: 2 } as never)).rejects.toThrow(
      /^Unknown option `concurency` for runScripts\(\), did you mean `concurrency`\? \(known options: timeout, env, .*concurrency/,
    );
    await expect(runScript(script, { config: {}, fail_fast: true } as never)).rejects.toThrow(
      /^Unknown option `fail_fast` for runScript\(\) \(known options: /,
    );
    await expect(runScripts([script], { fail_fast: true } as never)).rejects.toThrow(/did you mean `failFast`\?/);
    expect(existsSync(marker())).toBe(false);
  });

  it('include runFolder({ dryRun }): it runs nothing', async () => {
    await expect(runFolder(dir, { dryRun: true } as never)).rejects.toThrow(/^Unknown option `dryRun` for runFolder\(\)/);
    expect(existsSync(marker())).toBe(false);
  });

  it('are fine when undefined', async () => {
    const { spec } = await folderToWorkflow(dir, { dryRun: undefined } as never);
    expect(spec.steps).toHaveLength(1);
  });
});

describe('folderToWorkflow', () => {
  it('rejects a timeout that is not milliseconds instead of putting it in the spec', async () => {
    await expect(folderToWorkflow(dir, { timeout: 'soon' as unknown as number })).rejects.toThrow(
      'Expected the `timeout` option of folderToWorkflow() to be milliseconds, 0 or more, got `"soon"` (string)',
    );
  });

  it('names missing or null arguments', async () => {
    await expect(call(() => folderToWorkflow(undefined as unknown as string))).rejects.toThrow(
      'Expected the folder of folderToWorkflow() to be a non-empty string, got `undefined` (undefined)',
    );
    await expect(call(() => folderToWorkflow(dir, null as never))).rejects.toThrow(
      'Expected the options of folderToWorkflow() to be an object, got `null` (null)',
    );
    await expect(call(() => discoverScripts(dir, null as never))).rejects.toThrow('Expected the options of discoverScripts() to be an object');
  });
});

describe('loadConfig, validateConfig and getScriptConfig', () => {
  it('name missing arguments and unknown options', async () => {
    await expect(call(() => loadConfig(undefined as unknown as string))).rejects.toThrow(
      'Expected the folder of loadConfig() to be a non-empty string, got `undefined` (undefined)',
    );
    await expect(call(() => validateConfig(dir, { projectroot: dir } as never))).rejects.toThrow(
      /^Unknown option `projectroot` for validateConfig\(\), did you mean `projectRoot`\?/,
    );
    const config = await loadConfig(dir);
    expect(getScriptConfig('a.sh', dir, config)).toEqual({});
    expect(() => getScriptConfig('a.sh', dir, undefined as never)).toThrow(
      'Expected the config of getScriptConfig() to be what loadConfig() returns, got `undefined` (undefined)',
    );
  });
});

describe('runSpec and runWorkflowFile', () => {
  it('check their options too', async () => {
    await expect(call(() => runSpec({ name: 'x', steps: [] } as never, { outputDir: dir, report: ['json'] } as never))).rejects.toThrow(
      /^Unknown option `report` for runSpec\(\), did you mean `reports`\?/,
    );
    const file = path.join(dir, 'w.yaml');
    await writeFile(file, 'name: w\nsteps:\n  - id: a\n    run: echo hi\n');
    await expect(call(() => runWorkflowFile(file, { concurrency: -2 }))).rejects.toThrow(
      'Expected the `concurrency` option of runWorkflowFile() to be a positive integer, got `-2` (number)',
    );
    const { summary } = await runWorkflowFile(file, { concurrency: 1, outputDir: path.join(dir, 'out'), reports: ['json'] });
    expect(summary.status).toBe('succeeded');
  });
});
