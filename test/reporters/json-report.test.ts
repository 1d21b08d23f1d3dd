import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUMMARY_JSON_SCHEMA, toJsonSummary, writeJsonReport } from '../../src/reporters/json-report.js';
import { makeStep, makeSummary, mixedSummary } from './summary-factory.js';

function validator() {
  // date-time formats need ajv-formats, which we do not depend on; the types are what we check.
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, validateFormats: false });
  return ajv.compile(SUMMARY_JSON_SCHEMA);
}

describe('toJsonSummary', () => {
  it('keeps schemaVersion 1 and a stable key order', () => {
    const json = toJsonSummary(mixedSummary());
    expect(Object.keys(json)).toEqual([
      'schemaVersion', 'runId', 'name', 'source', 'status', 'cancelReason', 'startedAt',
      'finishedAt', 'durationMs', 'counts', 'byGroup', 'steps',
    ]);
    expect(json.schemaVersion).toBe(1);
    expect(Object.keys(json.counts)).toEqual([
      'total', 'pending', 'running', 'succeeded', 'failed', 'timed-out', 'cancelled', 'skipped', 'cached',
    ]);
    expect(Object.keys(json.steps[0] ?? {})).toEqual([
      'id', 'name', 'kind', 'group', 'path', 'status', 'reason', 'message', 'command', 'exitCode',
      'signal', 'killSignal', 'timedOut', 'forcefullyKilled', 'attempts', 'startedAt', 'finishedAt',
      'durationMs', 'stdoutTail', 'stderrTail', 'stdoutBytes', 'stderrBytes', 'logPath',
      'peakMemoryMb', 'outputs', 'tags', 'needs', 'matrix', 'value', 'continuedOnError', 'cacheKey',
      'cacheExplain',
    ]);
    expect(Object.keys(json.steps[0]?.outputs ?? {})).toEqual(['at', 'rows']);
  });

  it('produces the same text for the same summary whatever order outputs were added in', () => {
    const a = makeSummary([makeStep({ id: 'a.sh', outputs: { b: '1', a: '2' } })]);
    const b = makeSummary([makeStep({ id: 'a.sh', outputs: { a: '2', b: '1' } })]);
    expect(JSON.stringify(toJsonSummary(a))).toBe(JSON.stringify(toJsonSummary(b)));
  });

  it('caps each output tail at its last 20 lines', () => {
    const json = toJsonSummary(mixedSummary());
    const load = json.steps.find((step) => step.id === 'etl/load.py');
    const tail = load?.stdoutTail.split('\n').filter(Boolean) ?? [];
    expect(tail).toHaveLength(20);
    expect(tail[0]).toBe('loaded row 11');
    expect(tail.at(-1)).toBe('loaded row 30');
    expect(load?.stdoutTail.endsWith('\n')).toBe(true);
    expect(load?.stdoutBytes).toBe(4000);
  });

  it('counts each folder in byGroup', () => {
    expect(toJsonSummary(mixedSummary()).byGroup).toEqual({
      etl: { total: 3, succeeded: 1, failed: 1, 'timed-out': 1, cancelled: 0, skipped: 0, cached: 0, continuedOnError: 0 },
      reports: { total: 3, succeeded: 1, failed: 0, 'timed-out': 0, cancelled: 1, skipped: 1, cached: 0, continuedOnError: 0 },
    });
  });

  it('regression (Python tool): counts a skipped script as skipped, never as failed', () => {
    const summary = makeSummary([
      makeStep({ id: 'old.sh', status: 'skipped', reason: 'skipped-by-config', exitCode: null }),
      makeStep({ id: 'ok.sh' }),
    ]);
    expect(toJsonSummary(summary).byGroup['.']).toEqual({
      total: 2, succeeded: 1, failed: 0, 'timed-out': 0, cancelled: 0, skipped: 1, cached: 0, continuedOnError: 0,
    });
    expect(toJsonSummary(summary).status).toBe('succeeded');
  });

  it('counts the failures of steps with continue_on_error in byGroup, apart', () => {
    const summary = makeSummary(
      [makeStep({ id: 'optional.sh', status: 'failed', reason: 'exit-non-zero', exitCode: 5, continuedOnError: true }), makeStep({ id: 'ok.sh' })],
      { status: 'succeeded' },
    );
    expect(toJsonSummary(summary).byGroup['.']).toMatchObject({ failed: 1, continuedOnError: 1 });
    expect(toJsonSummary(summary).steps[0]?.continuedOnError).toBe(true);
  });

  it('writes null for unset optional fields', () => {
    const json = toJsonSummary(mixedSummary());
    expect(json.cancelReason).toBeNull();
    const ok = json.steps.find((step) => step.id === 'etl/load.py');
    expect(ok?.reason).toBeNull();
    expect(ok?.message).toBeNull();
    expect(ok?.peakMemoryMb).toBeNull();
    expect(toJsonSummary({ ...mixedSummary(), cancelReason: 'SIGINT' }).cancelReason).toBe('SIGINT');
  });

  it('matches SUMMARY_JSON_SCHEMA', () => {
    const validate = validator();
    const json: unknown = JSON.parse(JSON.stringify(toJsonSummary(mixedSummary())));
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    const empty = JSON.parse(JSON.stringify(toJsonSummary(makeSummary([])))) as unknown;
    expect(validate(empty), JSON.stringify(validate.errors)).toBe(true);
  });

  it('has a schema that rejects unknown, missing and mistyped fields', () => {
    const validate = validator();
    const json = JSON.parse(JSON.stringify(toJsonSummary(mixedSummary()))) as Record<string, unknown>;
    expect(validate({ ...json, extra: 1 })).toBe(false);
    const { runId: _runId, ...missing } = json;
    expect(validate(missing)).toBe(false);
    expect(validate({ ...json, schemaVersion: 2 })).toBe(false);
    expect(validate({ ...json, status: 'weird' })).toBe(false);
  });

  it('documents every summary.json field in docs/reports.md', async () => {
    const docs = await readFile(path.join(import.meta.dirname, '../../docs/reports.md'), 'utf8');
    const fields = new Set<string>([
      ...Object.keys(SUMMARY_JSON_SCHEMA.properties),
      ...Object.keys(SUMMARY_JSON_SCHEMA.properties.steps.items.properties),
      ...Object.keys(SUMMARY_JSON_SCHEMA.properties.byGroup.additionalProperties.properties),
    ]);
    const missing = [...fields].filter((field) => !docs.includes(`\`${field}\``));
    expect(missing).toEqual([]);
  });
});

describe('writeJsonReport', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'json-report-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes summary.json into the folder, creating it', async () => {
    const target = path.join(dir, 'nested', 'reports');
    const file = await writeJsonReport(mixedSummary(), target);
    expect(file).toBe(path.join(target, 'summary.json'));
    const text = await readFile(file, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(toJsonSummary(mixedSummary()))));
  });
});
