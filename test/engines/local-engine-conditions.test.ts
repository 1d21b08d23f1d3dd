import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunSummary, StepResult } from '../../src/core/result.js';
import { LocalEngine } from '../../src/engines/local/local-engine.js';
import { commandStep, workflowSpec } from '../helpers/step-factory.js';
import { makeTmpDir, removeTmpDir } from '../helpers/tmp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTmpDir('orch-cond-');
});
afterEach(async () => {
  await removeTmpDir(dir);
});

function step(summary: RunSummary, id: string): StepResult | undefined {
  return summary.steps.find((s) => s.id === id);
}

describe('status functions, as in GitHub Actions', () => {
  it('failure() is true after any failed ancestor, not only a direct need; function names are case-insensitive', async () => {
    const spec = workflowSpec([
      commandStep('exit 1', { id: 'a', cwd: dir }),
      commandStep('true', { id: 'b', cwd: dir, needs: ['a'] }),
      commandStep('echo notify', { id: 'notify', cwd: dir, needs: ['b'], if: 'failure()' }),
      commandStep('echo upper', { id: 'upper', cwd: dir, needs: ['a'], if: 'Failure()' }),
      commandStep('echo fine', { id: 'fine', cwd: dir, if: 'failure()' }),
    ], { failurePolicy: 'continue' });
    const summary = await new LocalEngine().submit(spec, { projectRoot: dir }).result;
    expect(step(summary, 'b')).toMatchObject({ status: 'skipped', reason: 'dependency-failed' });
    expect(step(summary, 'notify')?.status).toBe('succeeded');
    expect(step(summary, 'upper')?.status).toBe('succeeded');
    expect(step(summary, 'fine')).toMatchObject({ status: 'skipped', reason: 'condition-false' });
  });
});

describe('a working folder from an expression', () => {
  it('runs inside the project root, and fails the step (invalid-config) when it resolves outside', async () => {
    await mkdir(path.join(dir, 'sub'));
    const spec = workflowSpec([
      commandStep('pwd', { id: 'inside', cwd: path.join(dir, '${{ env.WHERE }}'), env: { WHERE: 'sub' } }),
      commandStep('pwd', { id: 'outside', cwd: path.join(dir, '${{ env.WHERE }}'), env: { WHERE: '../..' } }),
    ], { failurePolicy: 'continue' });
    const summary = await new LocalEngine().submit(spec, { projectRoot: dir }).result;
    expect(step(summary, 'inside')).toMatchObject({ status: 'succeeded', stdoutTail: `${path.join(dir, 'sub')}\n` });
    expect(step(summary, 'outside')).toMatchObject({ status: 'failed', reason: 'invalid-config' });
    expect(step(summary, 'outside')?.message).toMatch(/outside the project root/);
    expect(step(summary, 'outside')?.startedAt).toBeNull();
  });
});

describe('outputs of several needs', () => {
  it('fails a step (invalid-config) whose needs have outputs that become the same variable, instead of losing one', async () => {
    const spec = workflowSpec([
      commandStep('echo c=from-a_b >> "$ORCHESTRATOR_OUTPUT"', { id: 'a_b', cwd: dir }),
      commandStep('echo b_c=from-a >> "$ORCHESTRATOR_OUTPUT"', { id: 'a', cwd: dir }),
      commandStep('echo "$ORCHESTRATOR_OUTPUT_A_B_C"', { id: 'both', cwd: dir, needs: ['a_b', 'a'] }),
      commandStep('echo "$ORCHESTRATOR_OUTPUT_A_B_C"', { id: 'one', cwd: dir, needs: ['a'] }),
    ], { failurePolicy: 'continue' });
    const summary = await new LocalEngine().submit(spec, { projectRoot: dir }).result;
    expect(step(summary, 'both')).toMatchObject({ status: 'failed', reason: 'invalid-config' });
    expect(step(summary, 'both')?.message).toMatch(/a_b and a both become \$ORCHESTRATOR_OUTPUT_A_B_C/);
    expect(step(summary, 'one')).toMatchObject({ status: 'succeeded', stdoutTail: 'from-a\n' });
  });
});
