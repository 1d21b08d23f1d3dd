import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../src/engines/local/local-engine.js';
import { SqliteRunStore } from '../../src/store/sqlite-run-store.js';
import { commandStep, workflowSpec } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

let dir: string;
let store: SqliteRunStore | undefined;
let frozen: string[] = [];

beforeEach(async () => {
  dir = await makeTmpDir('orch-cache-');
});
afterEach(async () => {
  if (frozen.length > 0) execFileSync('chattr', ['-i', ...frozen]);
  frozen = [];
  store?.close();
  store = undefined;
  await removeTmpDir(dir);
});

describe('step caching on a store it cannot write', () => {
  it('a step that succeeded stays succeeded when its cache entry cannot be saved, and says so', async () => {
    const stateDir = path.join(dir, 'state');
    store = new SqliteRunStore({ stateDir, onError: () => undefined });
    // The database and its folder become immutable: reads work, every write fails.
    frozen = [store.path, `${store.path}-wal`, stateDir];
    execFileSync('chattr', ['+i', ...frozen]);
    const spec = workflowSpec([commandStep('echo built', { id: 'build', cwd: dir })], { name: 'w' });
    const summary = await new LocalEngine().submit(spec, { cache: store, cacheAll: true }).result;
    const build = summary.steps.find((step) => step.id === 'build');
    expect(build?.status).toBe('succeeded');
    expect(summary.status).toBe('succeeded');
    expect(build?.cacheExplain?.at(-1)).toMatch(/^not saved in the cache: .*state\.db/);
  });
});
