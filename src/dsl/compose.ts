import path from 'node:path';
import { toDescriptor, type StepAction } from './step-descriptor.js';
import { expectNonEmptyString, isList } from './step-options.js';
import { Workflow, type WorkflowOptions } from './workflow.js';

/** Options of {@link chain}, {@link parallel} and {@link fanOutFanIn}: the workflow's. */
export interface ComposeOptions extends WorkflowOptions {
  /** The workflow's name. @default 'chain' | 'parallel' | 'fan-out-fan-in' */
  name?: string;
}

/**
 * Gives each action a unique step id: the id of a `step(name, ...)`, else a function's `name`, a
 * workflow's name, a script's file name, a Python target or a module function's export, else
 * `step-<position>` (1-based); repeats get `-2`, `-3`, ... (explicit ids
 * are claimed first). Two anonymous functions never collide (the Python helpers raised a
 * duplicate-name error for two lambdas).
 */
export function uniqueStepIds(actions: readonly StepAction[], taken: Iterable<string> = []): string[] {
  const used = new Set(taken);
  const ids: (string | undefined)[] = actions.map(() => undefined);
  const claim = (index: number, base: string): void => {
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
    used.add(id);
    ids[index] = id;
  };
  // Ids given with step(name, ...) first, then names of functions and workflows, then positions:
  // an explicit id never gets a suffix because of a generated one.
  actions.forEach((action, index) => {
    const id = toDescriptor(action).id;
    if (id !== undefined) claim(index, id);
  });
  actions.forEach((action, index) => {
    const name = ids[index] === undefined ? nameOf(action) : undefined;
    if (name !== undefined) claim(index, name);
  });
  actions.forEach((_action, index) => {
    if (ids[index] === undefined) claim(index, `step-${index + 1}`);
  });
  return ids as string[];
}

function nameOf(action: StepAction): string | undefined {
  if (typeof action === 'function') {
    const name = action.name.replace(/^bound /, '');
    return name === '' || name === 'anonymous' ? undefined : name;
  }
  if (action instanceof Workflow) return action.name;
  // What a step runs names it as the Python chain_scripts did: the script's file name, the Python
  // target, the module function's export (a command line is too long to be an id).
  const body = toDescriptor(action).body;
  if (body.kind === 'script') return path.basename(body.path) || undefined;
  if (body.kind === 'python') return body.target;
  if (body.kind === 'module') return body.export;
  return undefined;
}

function checkActions(actions: readonly unknown[], helper: string): asserts actions is StepAction[] {
  actions.forEach((action, i) => toDescriptor(action, `action ${i + 1} of ${helper}()`));
}

/**
 * Steps that run one after another, each needing the previous one; each function gets the context,
 * so step 2 reads `ctx.needs['step-1'].value`. Twin of the Python `chain(*actions)`.
 *
 * @example
 * await chain(() => 2, (ctx) => (ctx.needs['step-1']?.value as number) * 10).run()
 */
export function chain(...actions: StepAction[]): Workflow {
  return chainWith({}, ...actions);
}

/** {@link chain} with workflow options (name, concurrency, failurePolicy, ...). */
export function chainWith(options: ComposeOptions, ...actions: StepAction[]): Workflow {
  checkActions(actions, 'chain');
  const { name = 'chain', ...workflowOptions } = options;
  expectNonEmptyString(name, 'the workflow name');
  const wf = new Workflow(name, workflowOptions);
  const ids = uniqueStepIds(actions);
  actions.forEach((action, i) => {
    const previous = ids[i - 1];
    wf.step(ids[i] as string, action, previous === undefined ? {} : { needs: previous });
  });
  return wf;
}

/** Independent steps that run at once (up to the workflow's concurrency). Twin of the Python `parallel(*actions)`. */
export function parallel(...actions: StepAction[]): Workflow {
  return parallelWith({}, ...actions);
}

/** {@link parallel} with workflow options. */
export function parallelWith(options: ComposeOptions, ...actions: StepAction[]): Workflow {
  checkActions(actions, 'parallel');
  const { name = 'parallel', ...workflowOptions } = options;
  const wf = new Workflow(name, workflowOptions);
  const ids = uniqueStepIds(actions);
  actions.forEach((action, i) => wf.step(ids[i] as string, action));
  return wf;
}

/** Options of {@link fanOutFanIn}. */
export interface FanOutFanInOptions extends ComposeOptions {
  /** @default the action's own name, else 'initial' */
  initialName?: string;
  /** @default the action's own name, else 'final' */
  finalName?: string;
}

/**
 * `initial`, then every `middle` action at once (each needing `initial`), then `final`, which
 * needs them all and sees each one's value in `ctx.needs`. Twin of the Python
 * `fan_out_fan_in(initial, parallel_tasks, final)`.
 */
export function fanOutFanIn(initial: StepAction, middle: readonly StepAction[], final: StepAction, options: FanOutFanInOptions = {}): Workflow {
  if (!isList(middle)) throw new TypeError('Expected the middle actions of fanOutFanIn() to be a list');
  checkActions([initial, ...middle, final], 'fanOutFanIn');
  const { name = 'fan-out-fan-in', initialName, finalName, ...workflowOptions } = options;
  const wf = new Workflow(name, workflowOptions);
  const firstId = initialName ?? toDescriptor(initial).id ?? 'initial';
  const lastId = finalName ?? toDescriptor(final).id ?? 'final';
  expectNonEmptyString(firstId, 'the `initialName` option');
  expectNonEmptyString(lastId, 'the `finalName` option');
  if (firstId === lastId) throw new TypeError(`Expected different ids for the initial and final steps, got "${firstId}" for both`);
  const middleIds = uniqueStepIds(middle, [firstId, lastId]);
  wf.step(firstId, initial);
  middle.forEach((action, i) => wf.step(middleIds[i] as string, action, { needs: firstId }));
  wf.step(lastId, final, { needs: middleIds.length > 0 ? middleIds : [firstId] });
  return wf;
}
