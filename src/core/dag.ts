/**
 * Dependency analysis of a workflow's steps: duplicates, unknown dependencies, cycles, a topological
 * order, parallel levels and the critical path. Pure and linear-ish in the size of the graph (the
 * order uses a binary heap, so O((V + E) log V)); nothing recurses, so 100,000-deep chains are fine.
 *
 * Directions: a step *needs* its dependencies. Execution edges go from a need to the step that
 * needs it; cycles are written in the "needs" direction (`a -> b` means `a` needs `b`).
 *
 * @see docs/graph.md
 */

import { IdIndex } from './id-index.js';

/** Each id's input position (its first definition), as a read-only Map over an `IdIndex`. */
class FirstDefinitions implements ReadonlyMap<string, number> {
  constructor(
    readonly index: IdIndex,
    /** Node v's id and input position. */
    readonly ids: readonly string[],
    readonly definitions: readonly number[],
  ) {}

  get size(): number {
    return this.ids.length;
  }

  get(id: string): number | undefined {
    const node = this.index.get(id);
    return node === -1 ? undefined : this.definitions[node];
  }

  has(id: string): boolean {
    return this.index.get(id) !== -1;
  }

  *entries(): MapIterator<[string, number]> {
    for (let v = 0; v < this.ids.length; v++) yield [this.ids[v] as string, this.definitions[v] as number];
  }

  keys(): MapIterator<string> {
    return this.ids.values();
  }

  values(): MapIterator<number> {
    return this.definitions.values();
  }

  forEach(callback: (value: number, key: string, map: ReadonlyMap<string, number>) => void, thisArg?: unknown): void {
    for (let v = 0; v < this.ids.length; v++) callback.call(thisArg, this.definitions[v] as number, this.ids[v] as string, this);
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries();
  }
}

/** The part of a step the analysis looks at. */
export interface DagStep {
  id: string;
  needs: readonly string[];
  /** Weight for the critical path (e.g. the step's last duration). */
  durationMs?: number;
}

export interface UnknownDependency {
  /** The step that names the missing dependency. */
  step: string;
  /** The id it needs that no step has. */
  needs: string;
  /** The known id within edit distance 2, when there is one (closest first, then input order). */
  suggestion?: string;
}

export interface DagAnalysis {
  /** No duplicate ids, no unknown dependencies and no cycles. */
  valid: boolean;
  /**
   * A topological order (Kahn's algorithm; among ready steps, the one earliest in the input goes
   * first, so an input that is already ordered comes back unchanged). When there are cycles it holds
   * only the acyclic part: steps on a cycle, and steps that need one directly or indirectly, are
   * left out. Unknown dependencies are ignored for ordering; a duplicate id counts once, with the
   * needs of its first definition.
   */
  order: string[];
  /** Steps that can run in parallel: level 0 needs nothing, a step's level is 1 + the max of its needs. Same subset as `order`. */
  levels: string[][];
  /**
   * The longest chain of dependencies, first step first, weighted by `durationMs` (or 1 per step when
   * no step has a duration; steps without one weigh 0 when others have one). Ties go to the step
   * earliest in the input. Same subset as `order`.
   */
  criticalPath: string[];
  /** Total `durationMs` along `criticalPath`; `null` when no step has a duration. */
  criticalPathMs: number | null;
  /** Ids defined more than once, each listed once, in the order of their second definition. */
  duplicates: string[];
  /** Every dependency naming no step, once per (step, dependency) pair, in input order. */
  unknown: UnknownDependency[];
  /**
   * One cycle per strongly connected component that has one: a shortest cycle through the
   * component's earliest step, starting and ending there (`['a', 'b', 'a']`; a step that needs
   * itself is `['a', 'a']`). Ordered by that first step's input position.
   */
  cycles: string[][];
}

export type DagDiagnosticCode = 'duplicate-id' | 'unknown-dependency' | 'cycle';

export interface DagDiagnostic {
  code: DagDiagnosticCode;
  message: string;
  /** The step the diagnostic is about (for a cycle: its first step). */
  step: string;
}

/** The problems of a dependency graph, without the order (what validation needs). */
export interface DependencyProblems {
  /** No duplicate ids, no unknown dependencies and no cycles. */
  valid: boolean;
  duplicates: string[];
  unknown: UnknownDependency[];
  cycles: string[][];
  /** Each id's position in the input: its first definition. */
  firstDefinition: ReadonlyMap<string, number>;
  /** The input position of the step behind each entry of `unknown`. */
  unknownAt: number[];
}

/**
 * Ids, duplicates, unknown dependencies and the compressed "needs" adjacency of the steps given as
 * parallel lists (`stepIds[i]` needs `stepNeeds[i]`), so big workflows need no object per step.
 */
function buildGraph(stepIds: readonly string[], stepNeeds: readonly (readonly string[])[], durations?: readonly (number | undefined)[]) {
  // Nodes are unique ids in order of first definition (`index` gives an id's node, and
  // `definitions[v]` is node v's input position).
  const index = new IdIndex();
  const ids: string[] = [];
  const definitions: number[] = [];
  const duplicates: string[] = [];
  const duplicateSeen = new Set<string>();
  const hasDurations = durations !== undefined && durations.some((duration) => duration !== undefined);
  for (let position = 0; position < stepIds.length; position++) {
    const id = stepIds[position] as string;
    if (index.add(id) === -1) {
      if (!duplicateSeen.has(id)) {
        duplicateSeen.add(id);
        duplicates.push(id);
      }
      continue;
    }
    ids.push(id);
    definitions.push(position);
  }
  const n = ids.length;
  const first = new FirstDefinitions(index, ids, definitions);

  // Every need is looked up once: `target[e]` is the node of edge e, or -1 for an unknown id; the
  // edges of input position p start at `edgeStart[p]`.
  const edgeStart = new Int32Array(stepIds.length + 1);
  const target: number[] = [];
  let anyUnknown = false;
  for (let position = 0; position < stepIds.length; position++) {
    edgeStart[position] = target.length;
    for (const need of stepNeeds[position] ?? []) {
      const node = index.get(need);
      if (node === -1) anyUnknown = true;
      target.push(node);
    }
  }
  edgeStart[stepIds.length] = target.length;

  // Unknown dependencies are checked on every definition, so a typo in a duplicate is reported too.
  const unknown: UnknownDependency[] = [];
  const unknownAt: number[] = [];
  const unknownSeen = new Set<string>();
  for (let position = 0; anyUnknown && position < stepIds.length; position++) {
    const id = stepIds[position] as string;
    const needsHere = stepNeeds[position] ?? [];
    for (let e = edgeStart[position] as number; e < (edgeStart[position + 1] as number); e++) {
      if (target[e] !== -1) continue;
      const need = needsHere[e - (edgeStart[position] as number)] as string;
      const key = JSON.stringify([id, need]);
      if (unknownSeen.has(key)) continue;
      unknownSeen.add(key);
      const suggestion = closestId(need, ids);
      unknown.push(suggestion === undefined ? { step: id, needs: need } : { step: id, needs: need, suggestion });
      unknownAt.push(position);
    }
  }

  // Compressed adjacency, "needs" direction (node -> its dependencies), duplicates within one
  // step's needs dropped, in the order they were written.
  const needStart = new Int32Array(n + 1);
  const needList: number[] = [];
  const weight = new Float64Array(n);
  // lastSeenBy[u] === v + 1 when v already listed u (cheaper than a Set per step).
  const lastSeenBy = new Int32Array(n);
  for (let v = 0; v < n; v++) {
    const position = definitions[v] as number;
    needStart[v] = needList.length;
    for (let e = edgeStart[position] as number; e < (edgeStart[position + 1] as number); e++) {
      const u = target[e] as number;
      if (u === -1 || lastSeenBy[u] === v + 1) continue;
      lastSeenBy[u] = v + 1;
      needList.push(u);
    }
    weight[v] = hasDurations ? (durations?.[position] ?? 0) : 1;
  }
  needStart[n] = needList.length;
  const needs = Int32Array.from(needList);
  return { first, ids, n, duplicates, unknown, unknownAt, needStart, needs, weight, hasDurations };
}

/**
 * Duplicate ids, unknown dependencies and cycles, as `analyzeWorkflowDependencies` finds them, but
 * without the order, levels and critical path: what validating a big workflow file needs. The
 * steps come as parallel lists: step `i` has id `ids[i]` and needs `needs[i]`.
 */
export function findDependencyProblems(stepIds: readonly string[], stepNeeds: readonly (readonly string[])[]): DependencyProblems {
  const { first, ids, n, duplicates, unknown, unknownAt, needStart, needs } = buildGraph(stepIds, stepNeeds);
  const cycles = findCycles(n, needStart, needs).map((cycle) => cycle.map((v) => ids[v] as string));
  return {
    valid: duplicates.length === 0 && unknown.length === 0 && cycles.length === 0,
    duplicates,
    unknown,
    cycles,
    firstDefinition: first,
    unknownAt,
  };
}

/** Analyses the dependencies between `steps`. Throws `TypeError` for a negative or non-finite `durationMs`. */
export function analyzeWorkflowDependencies(steps: readonly DagStep[]): DagAnalysis {
  for (const step of steps) {
    if (step.durationMs !== undefined && (typeof step.durationMs !== 'number' || !Number.isFinite(step.durationMs) || step.durationMs < 0)) {
      throw new TypeError(
        `Expected the \`durationMs\` of step "${step.id}" to be a non-negative finite number, got \`${String(step.durationMs)}\` (${typeof step.durationMs})`,
      );
    }
  }
  const { ids, n, duplicates, unknown, needStart, needs, weight, hasDurations } = buildGraph(
    steps.map((step) => step.id),
    steps.map((step) => step.needs),
    steps.map((step) => step.durationMs),
  );

  const cycles = findCycles(n, needStart, needs).map((cycle) => cycle.map((v) => ids[v] as string));

  // Execution direction (need -> dependents), for Kahn's algorithm.
  const inDegree = new Int32Array(n);
  const dependentCount = new Int32Array(n + 1);
  for (const u of needs) dependentCount[u + 1] = (dependentCount[u + 1] ?? 0) + 1;
  for (let v = 0; v < n; v++) {
    inDegree[v] = (needStart[v + 1] ?? 0) - (needStart[v] ?? 0);
    dependentCount[v + 1] = (dependentCount[v + 1] ?? 0) + (dependentCount[v] ?? 0);
  }
  const dependentStart = dependentCount.slice();
  const dependents = new Int32Array(needs.length);
  const fill = dependentStart.slice(0, n);
  for (let v = 0; v < n; v++) {
    for (let e = needStart[v] ?? 0; e < (needStart[v + 1] ?? 0); e++) {
      const u = needs[e] ?? 0;
      dependents[fill[u] ?? 0] = v;
      fill[u] = (fill[u] ?? 0) + 1;
    }
  }

  const heap = new MinHeap(n);
  for (let v = 0; v < n; v++) if (inDegree[v] === 0) heap.push(v);
  const orderIdx: number[] = [];
  const level = new Int32Array(n).fill(-1);
  const distance = new Float64Array(n);
  const previous = new Int32Array(n).fill(-1);
  while (heap.size > 0) {
    const v = heap.pop();
    orderIdx.push(v);
    let lvl = 0;
    let best = -1;
    let bestDistance = 0;
    for (let e = needStart[v] ?? 0; e < (needStart[v + 1] ?? 0); e++) {
      const u = needs[e] ?? 0;
      lvl = Math.max(lvl, (level[u] ?? 0) + 1);
      const d = distance[u] ?? 0;
      if (best === -1 || d > bestDistance || (d === bestDistance && u < best)) {
        best = u;
        bestDistance = d;
      }
    }
    level[v] = lvl;
    distance[v] = bestDistance + (weight[v] ?? 0);
    previous[v] = best;
    for (let e = dependentStart[v] ?? 0; e < (dependentStart[v + 1] ?? 0); e++) {
      const w = dependents[e] ?? 0;
      inDegree[w] = (inDegree[w] ?? 0) - 1;
      if (inDegree[w] === 0) heap.push(w);
    }
  }

  const levels: string[][] = [];
  for (let v = 0; v < n; v++) {
    const lvl = level[v] ?? -1;
    if (lvl < 0) continue;
    while (levels.length <= lvl) levels.push([]);
    levels[lvl]?.push(ids[v] as string);
  }

  let end = -1;
  for (const v of orderIdx) {
    if (end === -1 || (distance[v] ?? 0) > (distance[end] ?? 0) || ((distance[v] ?? 0) === (distance[end] ?? 0) && v < end)) {
      end = v;
    }
  }
  const criticalIdx: number[] = [];
  for (let v = end; v !== -1; v = previous[v] ?? -1) criticalIdx.push(v);
  criticalIdx.reverse();

  return {
    valid: duplicates.length === 0 && unknown.length === 0 && cycles.length === 0,
    order: orderIdx.map((v) => ids[v] as string),
    levels,
    criticalPath: criticalIdx.map((v) => ids[v] as string),
    criticalPathMs: hasDurations ? (end === -1 ? 0 : (distance[end] ?? 0)) : null,
    duplicates,
    unknown,
    cycles,
  };
}

/** `a -> b -> c -> a`. */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(' -> ');
}

/** One diagnostic per problem in `analysis`: duplicates first, then unknown dependencies, then cycles. */
export function dagDiagnostics(analysis: Pick<DagAnalysis, 'duplicates' | 'unknown' | 'cycles'>): DagDiagnostic[] {
  const out: DagDiagnostic[] = [];
  for (const id of analysis.duplicates) {
    out.push({ code: 'duplicate-id', message: `duplicate step id "${id}"`, step: id });
  }
  for (const { step, needs, suggestion } of analysis.unknown) {
    const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
    out.push({ code: 'unknown-dependency', message: `step "${step}" needs unknown step "${needs}"${hint}`, step });
  }
  for (const cycle of analysis.cycles) {
    out.push({ code: 'cycle', message: `dependency cycle: ${formatCycle(cycle)}`, step: cycle[0] ?? '' });
  }
  return out;
}

/**
 * Edit distance between two strings (insertions, deletions and substitutions cost 1). With `max`,
 * stops early and returns `max + 1` once the distance is known to exceed it.
 */
export function levenshtein(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      current[j] = value;
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > max) return max + 1;
    previous = current;
  }
  return previous[b.length] ?? 0;
}

const SUGGESTION_DISTANCE = 2;

function closestId(unknown: string, ids: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = SUGGESTION_DISTANCE + 1;
  for (const id of ids) {
    const distance = levenshtein(unknown, id, SUGGESTION_DISTANCE);
    if (distance < bestDistance) {
      best = id;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Tarjan's strongly connected components, iterative (an explicit call stack: recursion would
 * overflow on long chains), then one shortest cycle per non-trivial component by BFS from its
 * earliest node. Enumerating every elementary cycle would be exponential; one per component is
 * enough to name the loop.
 */
function findCycles(n: number, start: Int32Array, adj: Int32Array): number[][] {
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack = new Int32Array(n);
  let sp = 0;
  const callStack = new Int32Array(n);
  const edgePos = new Int32Array(n);
  const component = new Int32Array(n).fill(-1);
  let counter = 0;
  const firstNodes: number[] = [];

  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    let csp = 0;
    index[root] = low[root] = counter++;
    stack[sp++] = root;
    onStack[root] = 1;
    callStack[csp++] = root;
    edgePos[root] = start[root] ?? 0;
    while (csp > 0) {
      const v = callStack[csp - 1] ?? 0;
      const pos = edgePos[v] ?? 0;
      if (pos < (start[v + 1] ?? 0)) {
        edgePos[v] = pos + 1;
        const w = adj[pos] ?? 0;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack[sp++] = w;
          onStack[w] = 1;
          callStack[csp++] = w;
          edgePos[w] = start[w] ?? 0;
        } else if (onStack[w] === 1) {
          low[v] = Math.min(low[v] ?? 0, index[w] ?? 0);
        }
        continue;
      }
      csp--;
      if (csp > 0) {
        const parent = callStack[csp - 1] ?? 0;
        low[parent] = Math.min(low[parent] ?? 0, low[v] ?? 0);
      }
      if (low[v] !== index[v]) continue;
      let first = n;
      let size = 0;
      let w: number;
      do {
        w = stack[--sp] ?? 0;
        onStack[w] = 0;
        component[w] = v;
        first = Math.min(first, w);
        size++;
      } while (w !== v);
      if (size > 1 || hasSelfLoop(v, start, adj)) firstNodes.push(first);
    }
  }

  firstNodes.sort((a, b) => a - b);
  // One parent array shared by every BFS (reset after each), so many small cycles stay linear.
  const parent = new Int32Array(n).fill(-1);
  return firstNodes.map((first) => shortestCycle(first, component, start, adj, parent));
}

function hasSelfLoop(v: number, start: Int32Array, adj: Int32Array): boolean {
  for (let e = start[v] ?? 0; e < (start[v + 1] ?? 0); e++) if (adj[e] === v) return true;
  return false;
}

/** BFS inside `first`'s component for the shortest path back to `first`. */
function shortestCycle(first: number, component: Int32Array, start: Int32Array, adj: Int32Array, parent: Int32Array): number[] {
  const comp = component[first];
  const queue = [first];
  parent[first] = first;
  let cycle: number[] = [first, first];
  search: for (let head = 0; head < queue.length; head++) {
    const v = queue[head] ?? 0;
    for (let e = start[v] ?? 0; e < (start[v + 1] ?? 0); e++) {
      const w = adj[e] ?? 0;
      if (component[w] !== comp) continue;
      if (w === first) {
        cycle = [];
        for (let x = v; x !== first; x = parent[x] ?? first) cycle.push(x);
        cycle.push(first);
        cycle.reverse();
        cycle.push(first);
        break search;
      }
      if (parent[w] !== -1) continue;
      parent[w] = v;
      queue.push(w);
    }
  }
  for (const v of queue) parent[v] = -1;
  return cycle;
}

/** A binary min-heap of node indices: the ready step earliest in the input goes first. */
class MinHeap {
  #items: Int32Array;
  #size = 0;

  constructor(capacity: number) {
    this.#items = new Int32Array(Math.max(1, capacity));
  }

  get size(): number {
    return this.#size;
  }

  push(value: number): void {
    const items = this.#items;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] ?? 0;
      if (p <= value) break;
      items[i] = p;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number {
    const items = this.#items;
    const top = items[0] ?? 0;
    const last = items[--this.#size] ?? 0;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.#size) break;
      const right = child + 1;
      if (right < this.#size && (items[right] ?? 0) < (items[child] ?? 0)) child = right;
      const c = items[child] ?? 0;
      if (c >= last) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
