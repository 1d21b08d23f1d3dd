/**
 * A coordinator in its own process (so a test can kill -9 it), run with `node --import tsx` from
 * the sources: submits one `touch ran-<i>` step per id, prints `submitted`, and waits.
 *
 *   coordinator-main.ts <redis-url> <root> <count>
 */
import { DistributedEngine } from '../../../../src/engines/distributed/index.js';
import { commandStep, workflowSpec } from '../../../helpers/step-factory.js';

const [redis, root, count] = process.argv.slice(2);
if (redis === undefined || root === undefined || count === undefined) throw new TypeError('usage: coordinator-main.ts <redis-url> <root> <count>');
const engine = await DistributedEngine.connect({ redis });
const steps = Array.from({ length: Number(count) }, (_, i) => commandStep(`touch ran-${i}`, { id: `s${i}`, cwd: root }));
void engine.submit(workflowSpec(steps, { concurrency: steps.length }), { projectRoot: root }).result;
process.stdout.write('submitted\n');
setInterval(() => undefined, 1 << 30);
