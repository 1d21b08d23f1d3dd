// The orchestrator as a W3 scheduler: (tasks, limit, work) => Promise<void>. Each task becomes an
// in-process function step; `deps` become `needs`; the LocalEngine runs them with `limit` in flight.
import { DEFAULT_RETRY_POLICY, LocalEngine } from '../dist/engine.js';

const engine = new LocalEngine();

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
    env: {},
    cwd,
    allowedExitCodes: [0],
    tags: [],
    group: '.',
    fn: () => work(task.id),
  }));
  return engine
    .submit({ name: 'w3', steps, concurrency: limit, failurePolicy: 'no-new', timeout: 0 })
    .result.then((summary) => {
      if (summary.status !== 'succeeded') throw new Error(`run ${summary.status}`);
    });
}
