import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/core/duration.js';
import { configJsonSchema, parseConfigText } from '../../src/config/index.js';
import { loadConfig } from '../../src/folder/load-config.js';
import { validateConfig } from '../../src/folder/validate-config.js';
import { DURATION_PATTERN } from '../../src/config/schema.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const schemaFile = path.join(repoRoot, 'schema', 'orchestrator.schema.json');
const CONFIG_NAME = /^orchestrator\.(ya?ml|json)$/;

async function findConfigs(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true });
  return entries
    .filter((entry) => CONFIG_NAME.test(path.basename(entry)))
    .map((entry) => path.join(folder, entry))
    .sort();
}

function readValue(file: string, text: string): unknown {
  return file.endsWith('.json') ? JSON.parse(text) : (parse(text) ?? {});
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'orchestrator-schema-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('the JSON Schema', () => {
  it('the committed schema file is what scripts/gen-schema.ts writes now', async () => {
    const output = path.join(tmp, 'generated.schema.json');
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/gen-schema.ts', output], { cwd: repoRoot });

    const generated = await readFile(output, 'utf8');
    const committed = await readFile(schemaFile, 'utf8');
    expect(generated.endsWith('}\n')).toBe(true);
    expect(committed, 'schema/orchestrator.schema.json is stale: run `npm run schema`').toBe(generated);
    expect(JSON.parse(committed)).toEqual(configJsonSchema());
  });

  it('validates the sample configs and every example config, which also load without diagnostics', async () => {
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
    const validate = ajv.compile(JSON.parse(await readFile(schemaFile, 'utf8')) as object);
    const samples = await findConfigs(path.join(repoRoot, 'test', 'config', 'fixtures'));
    const examples = await findConfigs(path.join(repoRoot, 'examples')).catch(() => []);
    expect(samples.map((file) => path.relative(repoRoot, file))).toEqual([
      'test/config/fixtures/sample-json/orchestrator.json',
      'test/config/fixtures/sample/orchestrator.yaml',
    ]);

    for (const file of [...samples, ...examples]) {
      const value = readValue(file, await readFile(file, 'utf8'));
      expect(validate(value) ? [] : validate.errors, file).toEqual([]);
      // Samples are their own project; examples live in this repo, whose root is the project root.
      const projectRoot = samples.includes(file) ? path.dirname(file) : repoRoot;
      expect(await validateConfig(path.dirname(file), { projectRoot }), file).toEqual([]);
    }
  });

  it('the sample config loads into the settings it spells out', async () => {
    const dir = path.join(repoRoot, 'test', 'config', 'fixtures', 'sample');
    const config = await loadConfig(dir, { projectRoot: dir });
    const [file] = config.files;
    expect(file?.defaults).toMatchObject({
      timeout: 300_000,
      interpreter: ['python3', '-X', 'dev'],
      env: { PYTHONUNBUFFERED: '1', APP_ENV: 'staging', DRY_RUN: 'false' },
      retryDelay: 2000,
      killGrace: 10_000,
    });
    expect(file?.scripts.map((rule) => rule.pattern)).toEqual(['etl/load.py', '*.sh', 'reports/**', 'experimental/score.py']);
    expect(config.run).toEqual({ concurrency: 4, failFast: false, timeout: 3_600_000, outputDir: path.join(dir, 'output') });
  });

  it.each([
    ['an unknown key', { defaultz: {} }],
    ['a duration that is not one', { defaults: { timeout: 'soon' } }],
    ['a negative duration', { run: { timeout: -1 } }],
    ['a fractional retry count', { defaults: { retries: 1.5 } }],
    ['an exit code above 255', { defaults: { allowed_exit_codes: [256] } }],
    ['skip under defaults', { defaults: { skip: true } }],
    ['a skip entry without a path', { skip: [{ reason: 'x' }] }],
    ['version 2', { version: 2 }],
    ['a boolean fail_fast written as a string', { run: { fail_fast: 'yes' } }],
  ])('rejects %s, as the loader does', (_name, value) => {
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
    expect(ajv.validate(configJsonSchema(), value)).toBe(false);
    const result = parseConfigText(JSON.stringify(value), path.join(tmp, 'orchestrator.json'), tmp);
    expect(result.diagnostics.filter((d) => d.severity === 'error')).not.toEqual([]);
  });

  it('accepts exactly the duration strings parseDuration accepts', () => {
    const samples = ['90', '0.5', '90s', '2m', '500ms', '1h', '1m30s', '1h2m3s4ms', ' 5s ', '1.5m', '', ' ', 'soon', '5 min', '5S', '-1s', '1m30', 'ms', '.5s', '5sm', '1d'];
    for (const sample of samples) {
      expect(DURATION_PATTERN.test(sample), JSON.stringify(sample)).toBe(parseDuration(sample) !== undefined);
    }
  });
});
