import { LineCounter, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SourceLocator } from '../../src/config/source-locator.js';
import { readSimpleYaml } from '../../src/workflow-file/read-simple-yaml.js';
import { allFieldPaths } from '../helpers/field-paths.js';

function lines(...rows: string[]): string {
  return `${rows.join('\n')}\n`;
}

/** What the loader gets from the `yaml` package, or `undefined` when it reports anything. */
function viaYaml(text: string): { value: unknown } | undefined {
  const doc = parseDocument(text, { lineCounter: new LineCounter(), prettyErrors: false });
  if (doc.errors.length > 0 || doc.warnings.length > 0) return undefined;
  return { value: doc.toJS({ maxAliasCount: 100 }) as unknown };
}

/** A small deterministic PRNG, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const SCALARS = [
  'x', 'echo hi', 'true', 'True', 'FALSE', 'null', '~', 'Null', '12', '-3', '+4', '0o17', '0x1F', '1.5', '.5', '1e3', '-.inf', '.NaN',
  '90s', '1m30s', '"quoted"', "'single ''q'''", '"a: b"', "'#'", 'a:b', 'a #comment', 'echo ${{ steps.a.outputs.v }}', '[a, b]',
  '[]', '[ 1, "two", three ]', '[a, [b]]', '{ a: 1 }', '|', '>-', '&anchor x', '*alias', '!tag x', '"esc\\n"', '- x', 'a: b', '@x',
  '`x`', '%x', '? x', ': x', 'x:', 'a, b', '', '# only comment', '"unclosed', "'unclosed", '[a,]', '[a,,b]', '[a b, c d]', '007', 'é ü',
];
const KEYS = ['id', 'run', 'needs', 'name', '$schema', 'a.b', 'A_B-c', '"quoted key"', "'k'", 'true', 'null', '1', '-k', 'k k', '__proto__', 'dup'];

/** A random document of mappings and sequences, with some lines that leave the subset. */
function document(next: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const out: string[] = [];
  const block = (indent: number, depth: number, kind: 'map' | 'seq'): void => {
    const count = 1 + Math.floor(next() * 3);
    const pad = ' '.repeat(indent);
    for (let i = 0; i < count; i++) {
      const nested = depth < 3 && next() < 0.3;
      const prefix = kind === 'map' ? `${pad}${pick(KEYS)}:` : `${pad}-`;
      if (nested) {
        const inner: 'map' | 'seq' = next() < 0.5 ? 'map' : 'seq';
        if (kind === 'seq' && inner === 'map' && next() < 0.7) {
          // Compact mapping: `- key: value` then the other keys under it.
          out.push(`${prefix} ${pick(KEYS)}: ${pick(SCALARS)}`);
          if (next() < 0.7) block(indent + 2, depth + 1, 'map');
        } else {
          out.push(prefix + (next() < 0.1 ? ' # note' : ''));
          const sameIndent = kind === 'map' && inner === 'seq' && next() < 0.3;
          block(sameIndent ? indent : indent + 2 + (next() < 0.1 ? 1 : 0), depth + 1, inner);
        }
      } else {
        out.push(`${prefix} ${pick(SCALARS)}`);
      }
      if (next() < 0.05) out.push('');
      if (next() < 0.05) out.push(`${pad}# comment`);
    }
  };
  block(0, 0, next() < 0.8 ? 'map' : 'seq');
  if (next() < 0.05) out.splice(Math.floor(next() * out.length), 0, pick(['---', '...', '  extra', '\tx: 1', 'x: 1\r']));
  return `${out.join('\n')}\n`;
}

describe('readSimpleYaml', () => {
  it('reads the shape of generated workflow files as yaml does', () => {
    const text = lines(
      '# big',
      'name: big',
      'concurrency: 64',
      'steps:',
      '  - id: s0',
      '    run: "true"',
      '  - id: s1',
      '    run: echo ${{ steps.s0.outputs.v }} # comment',
      '    needs: [s0]',
      '    env:',
      '      A: 1',
      '      B: \'it\'\'s\'',
      '    tags:',
      '    - a',
      '    - b',
    );
    const fast = readSimpleYaml(text);
    expect(fast).toBeDefined();
    expect(fast).toEqual(viaYaml(text));
  });

  it('leaves everything outside the subset to the yaml parser', () => {
    for (const text of [
      '',
      'x\n',
      '---\nname: x\n',
      'name: x\nname: y\n',
      'a:\n',
      'a: |\n  text\n',
      'a: &x 1\nb: *x\n',
      'a: { b: 1 }\n',
      'a: "x\\ty"\n',
      'a: b\n  c\n',
      'a:\tb\n',
      'a: b\r\n',
      'a: b: c\n',
      '- a\n-\n  b: 1\n',
      'a: [b,\n  c]\n',
    ]) {
      expect(readSimpleYaml(text), JSON.stringify(text)).toBeUndefined();
    }
  });

  it('never disagrees with yaml on random documents', () => {
    const next = random(20_240_611);
    let read = 0;
    for (let i = 0; i < 4000; i++) {
      const text = document(next);
      const fast = readSimpleYaml(text);
      if (fast === undefined) continue;
      read += 1;
      expect(viaYaml(text), text).toEqual(fast);
    }
    // The generator must exercise the fast path, not only the fallback.
    expect(read).toBeGreaterThan(500);
  });

  it('gives every field the position the yaml document gives it', () => {
    const next = random(7_654_321);
    let compared = 0;
    for (let i = 0; i < 5000; i++) {
      const text = document(next);
      const fast = readSimpleYaml(text, { positions: true });
      if (fast === undefined) continue;
      const lineCounter = new LineCounter();
      const yaml = new SourceLocator(parseDocument(text, { lineCounter, prettyErrors: false }), lineCounter);
      for (const path of allFieldPaths(fast.value)) {
        for (const want of ['key', 'value'] as const) {
          expect(fast.locator.locate(path, want), `${want} of ${JSON.stringify(path)} in\n${text}`).toEqual(yaml.locate(path, want));
        }
        const range = yaml.valueRange(path);
        const scalar = range !== undefined && typeof path.reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key], fast.value) !== 'object';
        if (scalar) expect(fast.locator.valueRange(path), `range of ${JSON.stringify(path)} in\n${text}`).toEqual(range);
        compared += 1;
      }
      const offset = Math.floor(next() * text.length);
      expect(fast.locator.position(offset)).toEqual(yaml.position(offset));
    }
    expect(compared).toBeGreaterThan(2000);
  });
});
