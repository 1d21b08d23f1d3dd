import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWorkflowText, validateWorkflowFile, workflowJsonSchema } from '../../src/workflow-file/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const schemaFile = path.join(repoRoot, 'schema', 'workflow.schema.json');
const examplesDir = path.join(repoRoot, 'examples', 'workflows');

function readValue(file: string, text: string): unknown {
  return file.endsWith('.json') ? JSON.parse(text) : (parse(text) ?? {});
}

async function compiledSchema() {
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
  return ajv.compile(JSON.parse(await readFile(schemaFile, 'utf8')) as object);
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'orchestrator-workflow-schema-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('the workflow JSON Schema', () => {
  it('the committed schema file is what scripts/gen-workflow-schema.ts writes now', async () => {
    const output = path.join(tmp, 'generated.schema.json');
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/gen-workflow-schema.ts', output], { cwd: repoRoot });
    const generated = await readFile(output, 'utf8');
    const committed = await readFile(schemaFile, 'utf8');
    expect(committed, 'schema/workflow.schema.json is stale: run `npx tsx scripts/gen-workflow-schema.ts`').toBe(generated);
    expect(JSON.parse(committed)).toEqual(workflowJsonSchema());
  });

  it('validates every example workflow, and each loads without a diagnostic', async () => {
    const validate = await compiledSchema();
    const names = (await readdir(examplesDir)).filter((name) => /\.(ya?ml|json)$/.test(name)).sort();
    expect(names).toEqual(expect.arrayContaining(['ci-pipeline.yaml', 'data-pipeline.yaml', 'flaky-retry.yaml']));
    for (const name of names) {
      const file = path.join(examplesDir, name);
      const value = readValue(file, await readFile(file, 'utf8'));
      expect(validate(value) ? [] : validate.errors, name).toEqual([]);
      expect(await validateWorkflowFile(file, { projectRoot: repoRoot }), name).toEqual([]);
    }
  });

  it('validates the complete workflow examples in docs/workflows.md', async () => {
    const validate = await compiledSchema();
    const docs = await readFile(path.join(repoRoot, 'docs', 'workflows.md'), 'utf8');
    const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
    const workflows = blocks.filter((block) => /^name:/m.test(block) && /^steps:/m.test(block) && !block.includes('invalid on purpose'));
    expect(workflows.length).toBeGreaterThan(2);
    for (const block of workflows) {
      expect(validate(parse(block)) ? [] : validate.errors, block).toEqual([]);
    }
  });

  it.each([
    ['an unknown key', { name: 'x', stepz: [] }],
    ['no steps', { name: 'x' }],
    ['no name', { steps: [{ id: 'a', run: 'x' }] }],
    ['a duration that is not one', { name: 'x', timeout: 'soon', steps: [{ id: 'a', run: 'x' }] }],
    ['a bad fail_fast', { name: 'x', fail_fast: 'yes', steps: [{ id: 'a', run: 'x' }] }],
    ['a bad step id', { name: 'x', steps: [{ id: 'a b', run: 'x' }] }],
    ['an unknown step key', { name: 'x', steps: [{ id: 'a', run: 'x', neeeds: [] }] }],
    ['retry 0', { name: 'x', steps: [{ id: 'a', run: 'x', retry: 0 }] }],
    ['a bad jitter', { name: 'x', steps: [{ id: 'a', run: 'x', retry: { jitter: 'some' } }] }],
    ['an exit code above 255', { name: 'x', steps: [{ id: 'a', run: 'x', allowed_exit_codes: [256] }] }],
    ['an empty matrix axis', { name: 'x', steps: [{ id: 'a', run: 'x', matrix: { os: [] } }] }],
    ['a python target without a function', { name: 'x', steps: [{ id: 'a', python: { target: 'pkg.mod' } }] }],
  ])('rejects %s, as the loader does', (_name, value) => {
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
    expect(ajv.validate(workflowJsonSchema(), value)).toBe(false);
    const result = parseWorkflowText(JSON.stringify(value), path.join(tmp, 'w.json'), tmp);
    expect(result.diagnostics.filter((d) => d.severity === 'error')).not.toEqual([]);
  });
});
