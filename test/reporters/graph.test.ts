import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { escapeMermaidLabel, quoteDot, renderGraph, type GraphJson, type GraphStep } from '../../src/reporters/graph.js';

const workflow: GraphStep[] = [
  { id: 'build', needs: [], kind: 'command' },
  { id: 'lint', needs: [], kind: 'script' },
  { id: 'test', needs: ['build'], kind: 'function' },
  { id: 'deploy', needs: ['test', 'lint'], kind: 'workflow' },
];

/** Ids that would break a naive renderer. */
const NASTY = ['say "hi"', 'a\\b', 'end', 'x --> y', '#quot; #35;', '<b>bold</b> & `code`', 'line\nbreak', 'a;b:c'];

/** Mermaid's own entity decoding for labels (`#quot;`, `#35;`), for checking round trips. */
function decodeMermaid(label: string): string {
  const named: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>' };
  return label.replace(/#(\w+);/g, (whole, code: string) =>
    /^\d+$/.test(code) ? String.fromCodePoint(Number(code)) : (named[code] ?? whole),
  );
}

/** The parts of a Mermaid flowchart this renderer writes; throws on any other line. */
function parseMermaid(text: string) {
  const lines = text.split('\n');
  expect(lines[0]).toBe('flowchart TD');
  expect(lines.at(-1), 'ends with a newline').toBe('');
  const nodes = new Map<string, string>();
  const edges: [string, string][] = [];
  const classDefs = new Map<string, string>();
  const classes = new Map<string, string>();
  for (const line of lines.slice(1, -1)) {
    let m: RegExpExecArray | null;
    if ((m = /^ {2}(s\d+)(?:\["([^"]*)"\]|\("([^"]*)"\)|\[\["([^"]*)"\]\])$/.exec(line))) {
      nodes.set(m[1] as string, decodeMermaid(m[2] ?? m[3] ?? m[4] ?? ''));
    } else if ((m = /^ {2}(s\d+) --> (s\d+)$/.exec(line))) {
      edges.push([m[1] as string, m[2] as string]);
    } else if ((m = /^ {2}classDef (\w+) ([\w#:,. -]+)$/.exec(line))) {
      classDefs.set(m[1] as string, m[2] as string);
    } else if ((m = /^ {2}class ((?:s\d+,)*s\d+) (\w+)$/.exec(line))) {
      for (const node of (m[1] as string).split(',')) classes.set(node, m[2] as string);
    } else {
      throw new Error(`unexpected Mermaid line: ${JSON.stringify(line)}`);
    }
  }
  return { nodes, edges, classDefs, classes };
}

/**
 * A strict parser for the DOT subset the renderer writes, following Graphviz's lexer for quoted
 * strings (only `\"` is an escape; `\\` stays as two characters). Throws on anything else.
 */
function parseDot(text: string) {
  const tokens: { type: 'id' | 'punct'; value: string }[] = [];
  for (let i = 0; i < text.length; ) {
    const char = text[i] as string;
    if (/\s/.test(char)) {
      i++;
    } else if (char === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted string');
        const c = text[i] as string;
        if (c === '"') break;
        if (c === '\n') throw new Error('raw newline inside a quoted string');
        if (c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) {
          value += text[i + 1] === '"' ? '"' : '\\\\';
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      i++;
      tokens.push({ type: 'id', value });
    } else if (text.startsWith('->', i)) {
      tokens.push({ type: 'punct', value: '->' });
      i += 2;
    } else if ('{}[]=;,'.includes(char)) {
      tokens.push({ type: 'punct', value: char });
      i++;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      if (!m) throw new Error(`unexpected character ${JSON.stringify(char)} at ${i}`);
      tokens.push({ type: 'id', value: m[0] });
      i += m[0].length;
    }
  }
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (type: 'id' | 'punct', value?: string): string => {
    const token = tokens[pos++];
    if (token?.type !== type || (value !== undefined && token.value !== value)) {
      throw new Error(`expected ${value ?? type}, got ${JSON.stringify(token)}`);
    }
    return token.value;
  };
  const attrs = (): Record<string, string> => {
    const out: Record<string, string> = {};
    if (peek()?.value !== '[') return out;
    take('punct', '[');
    while (peek()?.value !== ']') {
      const key = take('id');
      take('punct', '=');
      out[key] = take('id');
      if (peek()?.value === ',') take('punct', ',');
    }
    take('punct', ']');
    return out;
  };
  take('id', 'digraph');
  const name = take('id');
  take('punct', '{');
  const graph: Record<string, string> = {};
  const nodes = new Map<string, Record<string, string>>();
  const edges: [string, string][] = [];
  let nodeDefaults: Record<string, string> = {};
  while (peek()?.value !== '}') {
    const first = take('id');
    if (peek()?.value === '=') {
      take('punct', '=');
      graph[first] = take('id');
    } else if (first === 'node') {
      nodeDefaults = attrs();
    } else if (peek()?.value === '->') {
      take('punct', '->');
      edges.push([first, take('id')]);
      attrs();
    } else {
      nodes.set(first, attrs());
    }
    take('punct', ';');
  }
  take('punct', '}');
  if (pos !== tokens.length) throw new Error('text after the closing brace');
  return { name, graph, nodeDefaults, nodes, edges };
}

const hasDot = spawnSync('dot', ['-V']).status === 0;

describe('renderGraph: mermaid', () => {
  it('writes a flowchart with safe node ids, quoted labels and need --> step edges', () => {
    const text = renderGraph(workflow, 'mermaid');
    expect(text).toBe(
      [
        'flowchart TD',
        '  s0["build"]',
        '  s1["lint"]',
        '  s2("test")',
        '  s3[["deploy"]]',
        '  s0 --> s2',
        '  s2 --> s3',
        '  s1 --> s3',
        '',
      ].join('\n'),
    );
  });

  it('escapes labels so any step id round-trips and no id leaks into the syntax', () => {
    const steps: GraphStep[] = NASTY.map((id, i) => ({ id, needs: i > 0 ? [NASTY[i - 1] as string] : [] }));
    const { nodes, edges } = parseMermaid(renderGraph(steps, 'mermaid'));
    expect([...nodes.values()]).toEqual(NASTY.map((id) => id.replace('\n', ' ')));
    expect(edges).toHaveLength(NASTY.length - 1);
    expect(escapeMermaidLabel('say "hi" #1')).toBe('say #quot;hi#quot; #35;1');
  });

  it('colours nodes by status with one classDef per status used', () => {
    const text = renderGraph(workflow, 'mermaid', {
      statuses: { build: 'succeeded', lint: 'timed-out', test: 'failed', deploy: 'cancelled', ghost: 'failed' },
    });
    const { classDefs, classes } = parseMermaid(text);
    expect([...classDefs.keys()]).toEqual(['succeeded', 'failed', 'timed_out', 'cancelled']);
    expect(classDefs.get('succeeded')).toContain('fill:#dcfce7');
    expect(classDefs.get('failed')).toContain('stroke:#dc2626');
    expect(classDefs.get('cancelled')).toContain('stroke-dasharray:5 5');
    expect(Object.fromEntries(classes)).toEqual({ s0: 'succeeded', s1: 'timed_out', s2: 'failed', s3: 'cancelled' });
  });

  it('ignores statuses that are not run statuses', () => {
    const { classDefs, classes } = parseMermaid(renderGraph(workflow, 'mermaid', { statuses: { build: 'x;y' } }));
    expect(classDefs.size).toBe(0);
    expect(classes.size).toBe(0);
  });

  it('draws a dependency on a missing step as a dashed node', () => {
    const { nodes, edges, classes } = parseMermaid(renderGraph([{ id: 'deploy', needs: ['buid'] }], 'mermaid'));
    expect(Object.fromEntries(nodes)).toEqual({ s0: 'deploy', s1: 'buid (missing)' });
    expect(edges).toEqual([['s1', 's0']]);
    expect(classes.get('s1')).toBe('missing');
  });
});

describe('renderGraph: dot', () => {
  it("draws function steps as ellipses, a workflow file's `function:` steps (kind `module`) too", () => {
    const steps: GraphStep[] = [
      { id: 'inline', needs: [], kind: 'function' },
      { id: 'called', needs: [], kind: 'module' },
      { id: 'shell', needs: [], kind: 'command' },
    ];
    const dot = parseDot(renderGraph(steps, 'dot'));
    expect(dot.nodes.get('inline')).toEqual({ shape: 'ellipse' });
    expect(dot.nodes.get('called')).toEqual({ shape: 'ellipse' });
    expect(dot.nodes.get('shell')).toEqual({});
    expect(renderGraph(steps, 'mermaid')).toContain('  s1("called")\n  s2["shell"]\n');
  });

  it('writes a left-to-right digraph with quoted ids', () => {
    const dot = parseDot(renderGraph(workflow, 'dot'));
    expect(dot.name).toBe('workflow');
    expect(dot.graph).toEqual({ rankdir: 'LR' });
    expect(dot.nodeDefaults).toEqual({ shape: 'box' });
    expect([...dot.nodes.keys()]).toEqual(['build', 'lint', 'test', 'deploy']);
    expect(dot.nodes.get('deploy')).toEqual({ shape: 'box3d' });
    expect(dot.edges).toEqual([
      ['build', 'test'],
      ['test', 'deploy'],
      ['lint', 'deploy'],
    ]);
  });

  it('escapes quotes and backslashes so any id stays one token', () => {
    const steps: GraphStep[] = NASTY.map((id, i) => ({ id, needs: i > 0 ? [NASTY[i - 1] as string] : [] }));
    const dot = parseDot(renderGraph(steps, 'dot'));
    // In DOT, `\\` stays two characters in the id (and is drawn as one in the label).
    const expected = NASTY.map((id) => id.replace(/\\/g, '\\\\').replace('\n', '\\n'));
    expect([...dot.nodes.keys()]).toEqual(expected);
    expect(dot.edges).toHaveLength(NASTY.length - 1);
    expect(quoteDot('say "hi" \\o/')).toBe('"say \\"hi\\" \\\\o/"');
  });

  it('fills nodes by status and marks missing dependencies', () => {
    const dot = parseDot(
      renderGraph([...workflow, { id: 'docs', needs: ['biuld'] }], 'dot', { statuses: { build: 'failed', deploy: 'cancelled' } }),
    );
    expect(dot.nodes.get('build')).toMatchObject({ style: 'filled', fillcolor: '#fee2e2' });
    expect(dot.nodes.get('deploy')).toMatchObject({ shape: 'box3d', style: 'filled,dashed' });
    expect(dot.nodes.get('biuld')).toMatchObject({ label: 'biuld (missing)', style: 'filled,dashed' });
    expect(dot.edges).toContainEqual(['biuld', 'docs']);
  });

  it.skipIf(!hasDot)('is accepted by Graphviz', () => {
    const steps: GraphStep[] = NASTY.map((id, i) => ({ id, needs: i > 0 ? [NASTY[i - 1] as string] : [] }));
    const result = spawnSync('dot', ['-Tcanon'], { input: renderGraph(steps, 'dot', { statuses: { end: 'failed' } }), encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('renderGraph: json', () => {
  it('gives the order, levels, critical path, edges and steps with their level', () => {
    const json = JSON.parse(renderGraph(workflow, 'json', { statuses: { build: 'succeeded' } })) as GraphJson;
    expect(json).toEqual({
      valid: true,
      order: ['build', 'lint', 'test', 'deploy'],
      levels: [['build', 'lint'], ['test'], ['deploy']],
      criticalPath: ['build', 'test', 'deploy'],
      cycles: [],
      unknown: [],
      edges: [
        { from: 'build', to: 'test' },
        { from: 'test', to: 'deploy' },
        { from: 'lint', to: 'deploy' },
      ],
      steps: [
        { id: 'build', needs: [], level: 0, kind: 'command', status: 'succeeded' },
        { id: 'lint', needs: [], level: 0, kind: 'script' },
        { id: 'test', needs: ['build'], level: 1, kind: 'function' },
        { id: 'deploy', needs: ['test', 'lint'], level: 2, kind: 'workflow' },
      ],
    });
  });

  it('reports cycles and unknown dependencies, with no level for blocked steps', () => {
    const json = JSON.parse(
      renderGraph(
        [
          { id: 'a', needs: ['b'] },
          { id: 'b', needs: ['a', 'nope'] },
          { id: 'c', needs: [] },
        ],
        'json',
      ),
    ) as GraphJson;
    expect(json.valid).toBe(false);
    expect(json.cycles).toEqual([['a', 'b', 'a']]);
    expect(json.unknown).toEqual([{ step: 'b', needs: 'nope' }]);
    expect(json.edges).toEqual([
      { from: 'b', to: 'a' },
      { from: 'a', to: 'b' },
    ]);
    expect(json.steps.map((s) => s.level)).toEqual([null, null, 0]);
  });
});

it('rejects an unknown format', () => {
  expect(() => renderGraph(workflow, 'svg' as 'dot')).toThrow(
    new TypeError('Expected the `format` option to be one of `mermaid`, `dot`, `json`, got `svg` (string)'),
  );
});
