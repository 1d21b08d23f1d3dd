// The orchestrator as a W3 scheduler: (tasks, limit, work) => Promise<void>. Each task becomes an
// in-process function step; `deps` become `needs`; the LocalEngine runs them with `limit` in flight.
import { DEFAULT_RETRY_POLICY, LocalEngine } from '../dist/engine.js';

const engine = new LocalEngine();
// The defaults every step shares, made once (as a generator of specs would): an empty env, exit
// code 0 and no tags need no object of their own per step.
const NO_ENV = Object.freeze({});
const EXIT_OK = Object.freeze([0]);
const NO_TAGS = Object.freeze([]);

export function orchestrator(tasks, limit, work) {
  const cwd = process.cwd();
  const steps = tasks.map((task) => ({
    kind: 'function',
    id: task.id,
    name: task.id,
    needs: task.deps,
    timeout: 0,
    killGrace: 0,
    retry: DEFAULT_RETRY_POLICY,
    env: NO_ENV,
    cwd,
    allowedExitCodes: EXIT_OK,
    tags: NO_TAGS,
    group: '.',
    fn: () => work(task.id),
  }));
  return engine
    .submit({ name: 'w3', steps, concurrency: limit, failurePolicy: 'no-new', timeout: 0 })
    .result.then((summary) => {
      if (summary.status !== 'succeeded') throw new Error(`run ${summary.status}`);
    });
}
