import { describe, expect, it } from 'vitest';
import {
  analyzeWorkflowDependencies,
  dagDiagnostics,
  findDependencyProblems,
  formatCycle,
  levenshtein,
  type DagStep,
} from '../../src/core/dag.js';

const step = (id: string, ...needs: string[]): DagStep => ({ id, needs });

/** A small deterministic PRNG (mulberry32), so random graphs are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** True when some path from `from` reaches `to` along "needs" edges (plain DFS, for small graphs). */
function reaches(steps: readonly DagStep[], from: string, to: string): boolean {
  const needs = new Map(steps.map((s) => [s.id, s.needs]));
  const seen = new Set<string>();
  const stack = [...(needs.get(from) ?? [])];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(needs.get(id) ?? []));
  }
  return false;
}

describe('analyzeWorkflowDependencies', () => {
  it('orders a valid workflow and groups it into parallel levels', () => {
    const analysis = analyzeWorkflowDependencies([
      step('deploy', 'test', 'lint'),
      step('build'),
      step('test', 'build'),
      step('lint'),
    ]);
    expect(analysis.valid).toBe(true);
    expect(analysis.order).toEqual(['build', 'test', 'lint', 'deploy']);
    expect(analysis.levels).toEqual([['build', 'lint'], ['test'], ['deploy']]);
    expect(analysis.duplicates).toEqual([]);
    expect(analysis.unknown).toEqual([]);
    expect(analysis.cycles).toEqual([]);
  });

  it('returns an input that is already in dependency order unchanged', () => {
    const steps = [step('a'), step('b'), step('c', 'a'), step('d', 'b'), step('e', 'c', 'd')];
    expect(analyzeWorkflowDependencies(steps).order).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('breaks ties between ready steps by input order', () => {
    const analysis = analyzeWorkflowDependencies([step('z'), step('y', 'z'), step('x'), step('w', 'x')]);
    // After z, both y and x are ready: y comes first in the input.
    expect(analysis.order).toEqual(['z', 'y', 'x', 'w']);
  });

  it('handles an empty workflow', () => {
    expect(analyzeWorkflowDependencies([])).toEqual({
      valid: true,
      order: [],
      levels: [],
      criticalPath: [],
      criticalPathMs: null,
      duplicates: [],
      unknown: [],
      cycles: [],
    });
  });

  it('counts a dependency listed twice once', () => {
    const analysis = analyzeWorkflowDependencies([step('a'), step('b', 'a', 'a')]);
    expect(analysis.valid).toBe(true);
    expect(analysis.order).toEqual(['a', 'b']);
    expect(analysis.levels).toEqual([['a'], ['b']]);
  });

  describe('critical path', () => {
    it('is the longest chain by step count when no durations are given', () => {
      const analysis = analyzeWorkflowDependencies([
        step('a'),
        step('b', 'a'),
        step('c', 'b'),
        step('d', 'a'),
        step('e', 'd', 'c'),
      ]);
      expect(analysis.criticalPath).toEqual(['a', 'b', 'c', 'e']);
      expect(analysis.criticalPathMs).toBeNull();
    });

    it('follows the heaviest chain by durationMs', () => {
      const analysis = analyzeWorkflowDependencies([
        { id: 'checkout', needs: [], durationMs: 100 },
        { id: 'lint', needs: ['checkout'], durationMs: 5000 },
        { id: 'build', needs: ['checkout'], durationMs: 2000 },
        { id: 'test', needs: ['build'], durationMs: 2000 },
        { id: 'deploy', needs: ['lint', 'test'], durationMs: 300 },
      ]);
      expect(analysis.criticalPath).toEqual(['checkout', 'lint', 'deploy']);
      expect(analysis.criticalPathMs).toBe(5400);
    });

    it('breaks ties by input order', () => {
      const analysis = analyzeWorkflowDependencies([
        { id: 'a', needs: [], durationMs: 10 },
        { id: 'b', needs: [], durationMs: 10 },
        { id: 'c', needs: ['b', 'a'], durationMs: 1 },
      ]);
      expect(analysis.criticalPath).toEqual(['a', 'c']);
      expect(analysis.criticalPathMs).toBe(11);
    });

    it('weighs steps without a duration 0 when others have one', () => {
      const analysis = analyzeWorkflowDependencies([
        { id: 'a', needs: [] },
        { id: 'b', needs: ['a'] },
        { id: 'c', needs: [], durationMs: 50 },
      ]);
      expect(analysis.criticalPath).toEqual(['c']);
      expect(analysis.criticalPathMs).toBe(50);
    });

    it('rejects a negative or non-finite duration', () => {
      expect(() => analyzeWorkflowDependencies([{ id: 'a', needs: [], durationMs: -1 }])).toThrow(
        new TypeError('Expected the `durationMs` of step "a" to be a non-negative finite number, got `-1` (number)'),
      );
      expect(() => analyzeWorkflowDependencies([{ id: 'a', needs: [], durationMs: NaN }])).toThrow(TypeError);
    });
  });

  describe('problems', () => {
    it('reports each duplicate id once and analyses the first definition', () => {
      const analysis = analyzeWorkflowDependencies([
        step('test'),
        step('build'),
        step('test', 'build'),
        step('test'),
        step('build'),
      ]);
      expect(analysis.valid).toBe(false);
      expect(analysis.duplicates).toEqual(['test', 'build']);
      expect(analysis.order).toEqual(['test', 'build']);
    });

    it('reports each unknown dependency with the step that names it and a suggestion', () => {
      const analysis = analyzeWorkflowDependencies([
        step('build'),
        step('deploy', 'buid', 'publish', 'buid'),
        step('docs', 'biuld'),
      ]);
      expect(analysis.valid).toBe(false);
      expect(analysis.unknown).toEqual([
        { step: 'deploy', needs: 'buid', suggestion: 'build' },
        { step: 'deploy', needs: 'publish' },
        { step: 'docs', needs: 'biuld', suggestion: 'build' },
      ]);
      // Unknown dependencies do not hold the step back in the order.
      expect(analysis.order).toEqual(['build', 'deploy', 'docs']);
    });

    it('reports a step that needs itself as a cycle of one', () => {
      const analysis = analyzeWorkflowDependencies([step('a', 'a'), step('b')]);
      expect(analysis.valid).toBe(false);
      expect(analysis.cycles).toEqual([['a', 'a']]);
      expect(analysis.order).toEqual(['b']);
    });

    it('writes a cycle in the needs direction, starting at its earliest step', () => {
      // a needs b, b needs c, c needs a.
      const analysis = analyzeWorkflowDependencies([step('a', 'b'), step('b', 'c'), step('c', 'a')]);
      expect(analysis.cycles).toEqual([['a', 'b', 'c', 'a']]);

      const rotated = analyzeWorkflowDependencies([step('c', 'a'), step('a', 'b'), step('b', 'c')]);
      expect(rotated.cycles).toEqual([['c', 'a', 'b', 'c']]);
    });

    it('reports one shortest cycle per strongly connected component, in input order', () => {
      const analysis = analyzeWorkflowDependencies([
        step('root'),
        step('x', 'y', 'root'),
        step('y', 'z'),
        step('z', 'x', 'w'),
        step('w', 'x'), // second loop through x in the same component: x -> y -> z -> w -> x
        step('p', 'q'),
        step('q', 'p'),
        step('after', 'p'),
      ]);
      expect(analysis.cycles).toEqual([
        ['x', 'y', 'z', 'x'],
        ['p', 'q', 'p'],
      ]);
      // Steps on a cycle and steps that need one are left out of the order and levels.
      expect(analysis.order).toEqual(['root']);
      expect(analysis.levels).toEqual([['root']]);
      expect(analysis.criticalPath).toEqual(['root']);
    });

    it('picks the shortest way back when a component has several', () => {
      const analysis = analyzeWorkflowDependencies([
        step('a', 'b', 'e'),
        step('b', 'c'),
        step('c', 'd'),
        step('d', 'a'),
        step('e', 'a'),
      ]);
      expect(analysis.cycles).toEqual([['a', 'e', 'a']]);
    });

    it('keeps the acyclic part of an invalid workflow in order', () => {
      const analysis = analyzeWorkflowDependencies([
        step('setup'),
        step('a', 'setup', 'b'),
        step('b', 'a'),
        step('report', 'setup'),
      ]);
      expect(analysis.valid).toBe(false);
      expect(analysis.order).toEqual(['setup', 'report']);
      expect(analysis.levels).toEqual([['setup'], ['report']]);
    });

    it('agrees with a brute-force check on random small graphs', () => {
      const next = random(42);
      for (let round = 0; round < 300; round++) {
        const size = 1 + Math.floor(next() * 8);
        const ids = Array.from({ length: size }, (_, i) => `n${i}`);
        const steps = ids.map((id) => ({
          id,
          needs: ids.filter(() => next() < 0.2),
        }));
        const analysis = analyzeWorkflowDependencies(steps);
        const onCycle = ids.filter((id) => reaches(steps, id, id));
        const blocked = ids.filter((id) => onCycle.some((c) => c === id || reaches(steps, id, c)));

        expect(analysis.valid, JSON.stringify(steps)).toBe(onCycle.length === 0);
        expect([...analysis.order].sort(), JSON.stringify(steps)).toEqual(ids.filter((id) => !blocked.includes(id)).sort());
        const position = new Map(analysis.order.map((id, i) => [id, i]));
        for (const s of steps) {
          for (const need of s.needs) {
            if (position.has(s.id)) expect(position.get(need)).toBeLessThan(position.get(s.id) as number);
          }
        }
        for (const cycle of analysis.cycles) {
          expect(cycle[0]).toBe(cycle.at(-1));
          for (let i = 0; i + 1 < cycle.length; i++) {
            expect(steps.find((s) => s.id === cycle[i])?.needs, formatCycle(cycle)).toContain(cycle[i + 1]);
          }
          expect(new Set(cycle.slice(1)).size, 'a reported cycle is elementary').toBe(cycle.length - 1);
        }
        // Every step on a cycle shares a component with the start of a reported cycle.
        for (const id of onCycle) {
          expect(
            analysis.cycles.some((c) => c[0] === id || (reaches(steps, id, c[0] as string) && reaches(steps, c[0] as string, id))),
            `${id} is on a cycle that was not reported (${JSON.stringify(steps)})`,
          ).toBe(true);
        }
      }
    });
  });

  describe('performance', () => {
    it('analyses 100,000 layered steps with random dependencies in well under a second', () => {
      const next = random(7);
      const count = 100_000;
      const steps: DagStep[] = [];
      for (let i = 0; i < count; i++) {
        const needs: string[] = [];
        // Up to three dependencies among the 1,000 steps before this one.
        for (let k = 0; k < 3 && i > 0; k++) needs.push(`step-${Math.max(0, i - 1 - Math.floor(next() * 1000))}`);
        steps.push({ id: `step-${i}`, needs, durationMs: Math.floor(next() * 100) });
      }
      const started = performance.now();
      const analysis = analyzeWorkflowDependencies(steps);
      const elapsed = performance.now() - started;
      expect(elapsed, `expected 100,000 steps to be analysed in under 2000 ms (well under 1 s normally), took ${elapsed.toFixed(0)} ms`).toBeLessThan(2000);
      expect(analysis.valid).toBe(true);
      expect(analysis.order).toHaveLength(count);
      expect(analysis.criticalPath.length).toBeGreaterThan(1);
    });

    it('handles a 100,000-step chain and a 100,000-step cycle without overflowing the stack', () => {
      const count = 100_000;
      const chain = Array.from({ length: count }, (_, i) => step(`s${i}`, ...(i > 0 ? [`s${i - 1}`] : [])));
      let started = performance.now();
      const analysis = analyzeWorkflowDependencies(chain);
      let elapsed = performance.now() - started;
      expect(elapsed, `expected a 100,000-step chain in under 2000 ms, took ${elapsed.toFixed(0)} ms`).toBeLessThan(2000);
      expect(analysis.levels).toHaveLength(count);
      expect(analysis.criticalPath).toHaveLength(count);

      const ring = chain.map((s, i) => (i === 0 ? step('s0', `s${count - 1}`) : s));
      started = performance.now();
      const cyclic = analyzeWorkflowDependencies(ring);
      elapsed = performance.now() - started;
      expect(elapsed, `expected a 100,000-step cycle in under 2000 ms, took ${elapsed.toFixed(0)} ms`).toBeLessThan(2000);
      expect(cyclic.cycles).toHaveLength(1);
      expect(cyclic.cycles[0]).toHaveLength(count + 1);
      expect(cyclic.cycles[0]?.slice(0, 3)).toEqual(['s0', `s${count - 1}`, `s${count - 2}`]);
      expect(cyclic.order).toEqual([]);
    });
  });
});

describe('formatCycle', () => {
  it('joins the steps with arrows', () => {
    expect(formatCycle(['a', 'b', 'c', 'a'])).toBe('a -> b -> c -> a');
  });
});

describe('dagDiagnostics', () => {
  it('gives one diagnostic per problem: duplicates, then unknown dependencies, then cycles', () => {
    const analysis = analyzeWorkflowDependencies([
      step('build'),
      step('test', 'build'),
      step('test'),
      step('deploy', 'buid', 'nowhere'),
      step('a', 'b'),
      step('b', 'c'),
      step('c', 'a'),
    ]);
    expect(dagDiagnostics(analysis)).toEqual([
      { code: 'duplicate-id', message: 'duplicate step id "test"', step: 'test' },
      { code: 'unknown-dependency', message: 'step "deploy" needs unknown step "buid" (did you mean "build"?)', step: 'deploy' },
      { code: 'unknown-dependency', message: 'step "deploy" needs unknown step "nowhere"', step: 'deploy' },
      { code: 'cycle', message: 'dependency cycle: a -> b -> c -> a', step: 'a' },
    ]);
  });

  it('is empty for a valid workflow', () => {
    expect(dagDiagnostics(analyzeWorkflowDependencies([step('a'), step('b', 'a')]))).toEqual([]);
  });
});

describe('levenshtein', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(levenshtein('build', 'build')).toBe(0);
    expect(levenshtein('buid', 'build')).toBe(1);
    expect(levenshtein('biuld', 'build')).toBe(2);
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('', 'abc')).toBe(3);
  });

  it('stops at the limit', () => {
    expect(levenshtein('abcdef', 'uvwxyz', 2)).toBe(3);
    expect(levenshtein('a', 'abcdefgh', 2)).toBe(3);
    expect(levenshtein('buid', 'build', 2)).toBe(1);
  });
});

describe('findDependencyProblems', () => {
  it('maps each id to its first definition, as a read-only Map, and finds duplicates, unknown needs and cycles', () => {
    const problems = findDependencyProblems(['a', 'b', 'a', 'c', 'd'], [[], ['a'], ['zz'], ['d'], ['c']]);
    const first = problems.firstDefinition;
    expect(first.size).toBe(4);
    expect(first.get('a')).toBe(0);
    expect(first.get('c')).toBe(3);
    expect(first.get('zz')).toBeUndefined();
    expect(first.has('d')).toBe(true);
    expect(first.has('zz')).toBe(false);
    expect([...first]).toEqual([['a', 0], ['b', 1], ['c', 3], ['d', 4]]);
    expect([...first.keys()]).toEqual(['a', 'b', 'c', 'd']);
    expect([...first.values()]).toEqual([0, 1, 3, 4]);
    const seen: string[] = [];
    first.forEach((position, id, map) => seen.push(`${id}@${position}:${map === first}`));
    expect(seen).toEqual(['a@0:true', 'b@1:true', 'c@3:true', 'd@4:true']);
    expect(problems.duplicates).toEqual(['a']);
    expect(problems.unknown).toEqual([{ step: 'a', needs: 'zz', suggestion: 'a' }]);
    expect(problems.unknownAt).toEqual([2]);
    expect(problems.cycles).toEqual([['c', 'd', 'c']]);
    expect(problems.valid).toBe(false);
  });
});
