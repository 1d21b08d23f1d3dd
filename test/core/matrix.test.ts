import { describe, expect, it } from 'vitest';
import {
  expandMatrix,
  expandStepMatrix,
  MATRIX_MAX_COMBINATIONS,
  matrixStepId,
  type MatrixSpec,
} from '../../src/core/matrix.js';

describe('expandMatrix', () => {
  it('builds the cartesian product with the first axis varying slowest', () => {
    expect(expandMatrix({ os: ['linux', 'macos'], node: [20, 22], debug: [false] })).toEqual([
      { os: 'linux', node: 20, debug: false },
      { os: 'linux', node: 22, debug: false },
      { os: 'macos', node: 20, debug: false },
      { os: 'macos', node: 22, debug: false },
    ]);
  });

  it('drops every combination that matches all keys of an exclude entry', () => {
    const combos = expandMatrix({
      os: ['linux', 'macos', 'windows'],
      node: [18, 20],
      exclude: [{ os: 'windows' }, { os: 'macos', node: 18 }],
    });
    expect(combos).toEqual([
      { os: 'linux', node: 18 },
      { os: 'linux', node: 20 },
      { os: 'macos', node: 20 },
    ]);
  });

  it('applies include entries as GitHub Actions documents', () => {
    // The example from GitHub's "Expanding or adding matrix configurations" documentation.
    const combos = expandMatrix({
      fruit: ['apple', 'pear'],
      animal: ['cat', 'dog'],
      include: [
        { color: 'green' },
        { color: 'pink', animal: 'cat' },
        { fruit: 'apple', shape: 'circle' },
        { fruit: 'banana' },
        { fruit: 'banana', animal: 'cat' },
      ],
    });
    expect(combos).toEqual([
      { fruit: 'apple', animal: 'cat', color: 'pink', shape: 'circle' },
      { fruit: 'apple', animal: 'dog', color: 'green', shape: 'circle' },
      { fruit: 'pear', animal: 'cat', color: 'pink' },
      { fruit: 'pear', animal: 'dog', color: 'green' },
      { fruit: 'banana' },
      { fruit: 'banana', animal: 'cat' },
    ]);
  });

  it('never lets an include overwrite an axis value', () => {
    const combos = expandMatrix({ os: ['linux'], include: [{ os: 'macos', experimental: true }] });
    expect(combos).toEqual([{ os: 'linux' }, { os: 'macos', experimental: true }]);
  });

  it('applies include after exclude, so an include can bring a combination back', () => {
    const combos = expandMatrix({
      os: ['linux', 'macos'],
      exclude: [{ os: 'macos' }],
      include: [{ os: 'macos', arch: 'arm64' }],
    });
    expect(combos).toEqual([{ os: 'linux' }, { os: 'macos', arch: 'arm64' }]);
  });

  it('makes each include its own combination when there are no axes', () => {
    expect(expandMatrix({ include: [{ os: 'linux', node: 20 }, { os: 'macos' }, { os: 'linux', node: 20 }] })).toEqual([
      { os: 'linux', node: 20 },
      { os: 'macos' },
    ]);
  });

  it('matches include and exclude values by their text, as duplicates and step ids do', () => {
    // Before: `{ os: 1 }` matched no `'1'`, so it was added as a combination of its own with the same id.
    const included = expandMatrix({ os: ['1', '2'], include: [{ os: 1, extra: 'x' }] });
    expect(included).toEqual([
      { os: '1', extra: 'x' },
      { os: '2' },
    ]);
    expect(new Set(included.map((values) => matrixStepId('t', values))).size).toBe(included.length);
    expect(expandMatrix({ node: [20, 22], exclude: [{ node: '20' }] })).toEqual([{ node: 22 }]);
    expect(expandMatrix({ debug: [true, false], exclude: [{ debug: 'true' }] })).toEqual([{ debug: false }]);
    // Only keys the combination has match: an include naming a missing key is not a match.
    expect(expandMatrix({ os: ['a'], include: [{ os: 'a', arch: 'undefined' }] })).toEqual([{ os: 'a', arch: 'undefined' }]);
  });

  it('does not change the matrix it is given', () => {
    const matrix: MatrixSpec = { os: ['linux'], include: [{ os: 'linux', extra: 'x' }] };
    const copy = structuredClone(matrix);
    expandMatrix(matrix);
    expect(matrix).toEqual(copy);
  });

  describe('errors', () => {
    it('rejects an axis with no values, naming it', () => {
      expect(() => expandMatrix({ os: ['linux'], node: [] })).toThrow(
        new TypeError('Matrix axis "node" has no values: give it at least one or remove it'),
      );
    });

    it('rejects a matrix with no axes and no include', () => {
      expect(() => expandMatrix({})).toThrow(TypeError);
      expect(() => expandMatrix({ exclude: [{ os: 'linux' }] })).toThrow(/no axes/);
    });

    it('rejects values that are not strings, numbers or booleans, naming the axis', () => {
      const bad = (values: unknown[]) => () => expandMatrix({ os: values } as unknown as MatrixSpec);
      expect(bad(['linux', { name: 'x' }])).toThrow(
        new TypeError('Expected matrix axis "os" to hold strings, numbers or booleans, got `{"name":"x"}` (object) at index 1'),
      );
      expect(bad([null])).toThrow(/axis "os".*\(null\) at index 0/);
      expect(bad([['a']])).toThrow(/axis "os".*\(array\)/);
      expect(bad([NaN])).toThrow(/axis "os"/);
      expect(() => expandMatrix({ os: 'linux' } as unknown as MatrixSpec)).toThrow(
        new TypeError('Expected matrix axis "os" to be a list of values, got `"linux"` (string)'),
      );
    });

    it('rejects non-scalar values in include and exclude', () => {
      expect(() => expandMatrix({ os: ['linux'], include: [{ env: { a: 1 } }] } as unknown as MatrixSpec)).toThrow(
        /`include\[0\]\.env` to be a string, number or boolean/,
      );
      expect(() => expandMatrix({ os: ['linux'], exclude: ['linux'] } as unknown as MatrixSpec)).toThrow(/`exclude\[0\]` to be an object/);
    });

    it('rejects an exclude key that is not an axis', () => {
      expect(() => expandMatrix({ os: ['linux', 'macos'], exclude: [{ oss: 'macos' }] })).toThrow(
        new TypeError('Matrix `exclude[0]` names "oss", which is not an axis (axes: "os")'),
      );
    });

    it('rejects a value listed twice, including as a number and a string', () => {
      expect(() => expandMatrix({ os: ['linux', 'linux'] })).toThrow(/axis "os" lists `linux` more than once/);
      expect(() => expandMatrix({ node: [20, '20'] })).toThrow(/axis "node" lists `20` more than once/);
    });

    it('rejects a matrix whose exclude removes everything', () => {
      expect(() => expandMatrix({ os: ['linux'], exclude: [{ os: 'linux' }] })).toThrow(/removes every combination/);
    });

    it(`allows ${MATRIX_MAX_COMBINATIONS} combinations and rejects more`, () => {
      const values = (count: number) => Array.from({ length: count }, (_, i) => i);
      expect(expandMatrix({ a: values(16), b: values(16) })).toHaveLength(256);
      expect(() => expandMatrix({ a: values(16), b: values(16), include: [{ a: 99 }] })).toThrow(
        new TypeError('The matrix has 257 combinations; at most 256 are allowed'),
      );
      // Exclude can bring a larger product under the limit.
      expect(expandMatrix({ a: values(16), b: values(17), exclude: [{ b: 16 }] })).toHaveLength(256);
    });

    it('rejects a product too large to build before exclude', () => {
      const values = Array.from({ length: 300 }, (_, i) => i);
      expect(() => expandMatrix({ a: values, b: values, exclude: [{ a: 1 }] })).toThrow(
        /90000 combinations before `exclude`.*at most 65536/,
      );
    });
  });
});

describe('matrixStepId', () => {
  it('lists the values after the base id, in order', () => {
    expect(matrixStepId('test', { os: 'linux', py: 3.11, debug: true })).toBe('test (os=linux, py=3.11, debug=true)');
  });

  it('quotes string values that would make the id ambiguous', () => {
    expect(matrixStepId('test', { name: 'a, b=c', empty: '', pad: ' x', plain: 'ubuntu-22.04' })).toBe(
      'test (name="a, b=c", empty="", pad=" x", plain=ubuntu-22.04)',
    );
  });
});

describe('expandStepMatrix', () => {
  interface Step {
    id: string;
    name: string;
    needs: string[];
    command: string;
  }
  const step = (id: string, needs: string[] = [], extra: { matrixSpec?: MatrixSpec } = {}): Step & { matrixSpec?: MatrixSpec } => ({
    id,
    name: id,
    needs,
    command: `run ${id}`,
    ...extra,
  });

  it('replaces a matrix step with one step per combination and makes dependents wait for all of them', () => {
    const steps = [
      step('build'),
      step('test', ['build'], { matrixSpec: { os: ['linux', 'macos'], node: [20] } }),
      step('deploy', ['test', 'build', 'test']),
    ];
    const expanded = expandStepMatrix(steps);
    expect(expanded).toEqual([
      { id: 'build', name: 'build', needs: [], command: 'run build' },
      {
        id: 'test (os=linux, node=20)',
        name: 'test (os=linux, node=20)',
        needs: ['build'],
        command: 'run test',
        matrix: { os: 'linux', node: 20 },
        matrixOf: 'test',
      },
      {
        id: 'test (os=macos, node=20)',
        name: 'test (os=macos, node=20)',
        needs: ['build'],
        command: 'run test',
        matrix: { os: 'macos', node: 20 },
        matrixOf: 'test',
      },
      { id: 'deploy', name: 'deploy', needs: ['test (os=linux, node=20)', 'test (os=macos, node=20)', 'build'], command: 'run deploy' },
    ]);
    expect(expanded.some((s) => 'matrixSpec' in s)).toBe(false);
    // The input is left alone.
    expect(steps[2]?.needs).toEqual(['test', 'build', 'test']);
  });

  it('expands a matrix step that needs another matrix step', () => {
    const expanded = expandStepMatrix([
      step('build', [], { matrixSpec: { arch: ['x64', 'arm64'] } }),
      step('package', ['build'], { matrixSpec: { format: ['zip'] } }),
    ]);
    expect(expanded.map((s) => [s.id, s.needs])).toEqual([
      ['build (arch=x64)', []],
      ['build (arch=arm64)', []],
      ['package (format=zip)', ['build (arch=x64)', 'build (arch=arm64)']],
    ]);
  });

  it('names the step when its matrix is invalid', () => {
    expect(() => expandStepMatrix([step('test', [], { matrixSpec: { os: [] } })])).toThrow(
      new TypeError('Step "test": Matrix axis "os" has no values: give it at least one or remove it'),
    );
  });

  it('returns steps without a matrix unchanged', () => {
    const steps = [step('a'), step('b', ['a'])];
    const expanded = expandStepMatrix(steps);
    expect(expanded[0]).toBe(steps[0]);
    expect(expanded[1]).toBe(steps[1]);
  });
});
