import { describe, expect, it } from 'vitest';
import { escapeGanttText, renderGantt, renderMermaidDag } from '../../src/reporters/timeline.js';
import { makeStep, makeSummary, mixedSummary } from './summary-factory.js';

const T0 = Date.parse('2024-05-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

/** Task lines as Mermaid's gantt lexer splits them: name up to `:`, then tags, id, start, end. */
function tasks(gantt: string) {
  const out: { section: string; name: string; tags: string[]; id: string; start: number; end: number }[] = [];
  let section = '';
  for (const line of gantt.split('\n')) {
    const sectionMatch = /^ {2}section ([^#:\n;]+)$/.exec(line);
    if (sectionMatch) {
      section = sectionMatch[1] as string;
      continue;
    }
    if (!line.startsWith('    ')) continue;
    const m = /^ {4}([^#:\n;]+) :([^#\n;]+)$/.exec(line);
    expect(m, `task line the gantt lexer would misread: ${JSON.stringify(line)}`).not.toBeNull();
    const data = (m?.[2] as string).split(',').map((part) => part.trim());
    const [id, start, end] = data.slice(-3) as [string, string, string];
    out.push({ section, name: m?.[1] as string, tags: data.slice(0, -3), id, start: Number(start), end: Number(end) });
  }
  return out;
}

describe('renderGantt', () => {
  it('writes a gantt header with epoch-millisecond dates', () => {
    const lines = renderGantt(mixedSummary()).split('\n');
    expect(lines.slice(0, 5)).toEqual(['gantt', '  title nightly', '  dateFormat x', '  axisFormat %H:%M:%S', '  todayMarker off']);
  });

  it('draws one task per started step, in sections by group, tagged by status', () => {
    const summary = makeSummary([
      makeStep({ id: 'etl/load.py', startedAt: at(0), finishedAt: at(1230), durationMs: 1230 }),
      makeStep({ id: 'etl/bad.sh', status: 'failed', startedAt: at(100), finishedAt: at(150), durationMs: 50 }),
      makeStep({ id: 'etl/slow.py', status: 'timed-out', startedAt: at(50), finishedAt: at(2050), durationMs: 2000 }),
      makeStep({ id: 'reports/x.sh', status: 'cancelled', startedAt: at(10), finishedAt: at(310), durationMs: 300 }),
      makeStep({ id: 'reports/old.sh', status: 'skipped', startedAt: null, finishedAt: null }),
      makeStep({ id: 'reports/never.sh', status: 'cancelled', startedAt: null, finishedAt: null }),
      makeStep({ id: 'setup.sh', startedAt: at(0), finishedAt: at(5), durationMs: 5 }),
    ]);
    expect(tasks(renderGantt(summary))).toEqual([
      { section: 'Top level', name: 'setup.sh', tags: ['done'], id: 't0', start: T0, end: T0 + 5 },
      { section: 'etl', name: 'etl/load.py', tags: ['done'], id: 't1', start: T0, end: T0 + 1230 },
      { section: 'etl', name: 'etl/slow.py', tags: ['crit'], id: 't2', start: T0 + 50, end: T0 + 2050 },
      { section: 'etl', name: 'etl/bad.sh', tags: ['crit'], id: 't3', start: T0 + 100, end: T0 + 150 },
      { section: 'reports', name: 'reports/x.sh', tags: [], id: 't4', start: T0 + 10, end: T0 + 310 },
    ]);
  });

  it('uses the duration when a started step has no finish time', () => {
    const summary = makeSummary([makeStep({ id: 'a', startedAt: at(0), finishedAt: null, durationMs: 700 })]);
    expect(tasks(renderGantt(summary))[0]).toMatchObject({ start: T0, end: T0 + 700 });
  });

  it('ends each bar at start + durationMs, the duration the tables show, not at finishedAt', () => {
    // finishedAt - startedAt can be longer than the step's duration (e.g. waiting between retries).
    const summary = makeSummary([makeStep({ id: 'a', startedAt: at(0), finishedAt: at(5000), durationMs: 1200 })]);
    expect(tasks(renderGantt(summary))[0]).toMatchObject({ start: T0, end: T0 + 1200 });
  });

  it('escapes names so the gantt lexer reads each one as a single task name', () => {
    const names = ['a: b # c; d', 'two\nlines', 'x%y', 'section two', 'Title case', '2024-01-01 backup', 'gantt.py', ''];
    const summary = makeSummary(names.map((name, i) => makeStep({ id: `s${i}`, name, group: 'g:1#x', startedAt: at(i), finishedAt: at(i + 1) })));
    const gantt = renderGantt(summary);
    const parsed = tasks(gantt);
    expect(parsed.map((t) => t.name)).toEqual(names.map(escapeGanttText));
    expect(parsed.every((t) => t.section === 'g\u22361\uff03x')).toBe(true);
    expect(escapeGanttText('a: b # c; d')).toBe('a\u2236 b \uff03 c\ufe54 d');
    expect(escapeGanttText('two\nlines')).toBe('two lines');
    expect(escapeGanttText('x%y')).toBe('x\uff05y');
    expect(escapeGanttText('')).toBe('(unnamed)');
    // Names that start like a gantt statement get an invisible prefix; others are left alone.
    for (const keywordLike of ['section two', 'Title case', '2024-01-01 backup', 'gantt.py']) {
      expect(escapeGanttText(keywordLike)).toBe(`\u200b${keywordLike}`);
    }
    expect(escapeGanttText('build')).toBe('build');
    // The title is escaped the same way.
    expect(renderGantt(makeSummary([], { name: 'nightly: #1; run' }))).toContain('  title nightly\u2236 \uff031\ufe54 run\n');
  });

  it('has no tasks when nothing started', () => {
    const summary = makeSummary([makeStep({ id: 'a', status: 'skipped', startedAt: null, finishedAt: null })]);
    expect(tasks(renderGantt(summary))).toEqual([]);
  });
});

describe('renderMermaidDag', () => {
  it('renders the dependency graph coloured by the run’s statuses', () => {
    const summary = makeSummary([
      makeStep({ id: 'build' }),
      makeStep({ id: 'test', status: 'failed' }),
      makeStep({ id: 'deploy', status: 'skipped', startedAt: null, finishedAt: null }),
    ]);
    const text = renderMermaidDag(summary, { test: ['build'], deploy: ['test'] });
    expect(text).toBe(
      [
        'flowchart TD',
        '  s0["build"]',
        '  s1["test"]',
        '  s2["deploy"]',
        '  s0 --> s1',
        '  s1 --> s2',
        '  classDef succeeded fill:#dcfce7,stroke:#16a34a,color:#14532d',
        '  classDef failed fill:#fee2e2,stroke:#dc2626,color:#7f1d1d',
        '  classDef skipped fill:#f3f4f6,stroke:#9ca3af,color:#4b5563',
        '  class s0 succeeded',
        '  class s1 failed',
        '  class s2 skipped',
        '',
      ].join('\n'),
    );
  });
});
