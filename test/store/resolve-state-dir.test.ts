import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveStateDir } from '../../src/store/index.js';

describe('resolveStateDir', () => {
  const projectRoot = '/projects/app';

  it('is .orchestrator under the project root by default', () => {
    expect(resolveStateDir({ projectRoot, env: {} })).toBe('/projects/app/.orchestrator');
  });

  it('honours ORCHESTRATOR_STATE_DIR, relative to the current directory', () => {
    expect(resolveStateDir({ projectRoot, env: { ORCHESTRATOR_STATE_DIR: '/var/state' } })).toBe('/var/state');
    expect(resolveStateDir({ projectRoot, env: { ORCHESTRATOR_STATE_DIR: 'rel' } })).toBe(path.resolve('rel'));
  });

  it('lets --state-dir win over the environment', () => {
    expect(resolveStateDir({ projectRoot, stateDir: '/cli', env: { ORCHESTRATOR_STATE_DIR: '/var/state' } })).toBe('/cli');
  });

  it('treats empty values as unset', () => {
    expect(resolveStateDir({ projectRoot, stateDir: '', env: { ORCHESTRATOR_STATE_DIR: '' } })).toBe('/projects/app/.orchestrator');
  });
});
