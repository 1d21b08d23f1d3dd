import type { ExpressionContext } from '../../src/expressions/index.js';

/** A context after `lint` and `build` succeeded and `flaky` failed. */
export function makeContext(overrides: Partial<ExpressionContext> = {}): ExpressionContext {
  const build = { outputs: { version: '1.4.2', n: '5', ok: 'true', json: '{"regions":["north","south"],"count":2}' }, status: 'succeeded', result: 'success' };
  return {
    steps: {
      lint: { outputs: {}, status: 'succeeded', result: 'success' },
      build,
      flaky: { outputs: { code: '75' }, status: 'failed', result: 'failure' },
    },
    needs: { build },
    env: { APP_NAME: 'demo-app', EMPTY: '' },
    matrix: { os: 'linux', py: '3.11', shard: 2, gpu: false },
    workflow: { name: 'ci' },
    run: { id: 'run-42' },
    inputs: { target: 'staging', dryRun: true, list: [1, 2, 3] },
    status: { success: true, failure: false, cancelled: false },
    ...overrides,
  };
}
