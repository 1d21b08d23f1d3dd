import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderMarkdownReport, writeMarkdownReport } from '../../src/reporters/markdown-report.js';
import { fencedBlock, inlineCode, tableRow } from '../../src/reporters/markdown-syntax.js';
import { lines, makeStep, makeSummary, mixedSummary } from './summary-factory.js';

/** The text of a `## heading` section, up to the next `## ` heading. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  expect(start, `section "${heading}" is missing`).toBeGreaterThan(-1);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
}

/** Cells of a GFM table row, split only on pipes that are not backslash-escaped. */
function cells(row: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < row.length; i++) {
    const char = row[i];
    if (char === '\\') {
      current += char + (row[i + 1] ?? '');
      i++;
    } else if (char === '|') {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.slice(1, -1).map((cell) => cell.trim());
}

/** Every fenced block: its fence, and whether any line inside could have closed it early. */
function fences(markdown: string): { fence: string; body: string[] }[] {
  const out: { fence: string; body: string[] }[] = [];
  const all = markdown.split('\n');
  for (let i = 0; i < all.length; i++) {
    const open = /^(`{3,})/.exec(all[i] ?? '');
    if (open === null) continue;
    const fence = open[1] ?? '';
    const body: string[] = [];
    for (i++; i < all.length && !new RegExp(`^${fence}\`*\\s*$`).test(all[i] ?? ''); i++) body.push(all[i] ?? '');
    out.push({ fence, body });
  }
  return out;
}

describe('renderMarkdownReport', () => {
  const markdown = renderMarkdownReport(mixedSummary());

  it('starts with a title holding the run name and status', () => {
    expect(markdown.split('\n')[0]).toBe('# ❌ nightly: failed');
    expect(renderMarkdownReport(makeSummary([makeStep({ id: 'a.sh' })])).split('\n')[0]).toBe(
      '# ✅ nightly: succeeded',
    );
  });

  it('has a totals table', () => {
    const rows = section(markdown, 'Totals').split('\n').filter((line) => line.startsWith('|'));
    expect(cells(rows[0] ?? '')).toEqual(['Steps', 'Succeeded', 'Failed', 'Timed out', 'Cancelled', 'Skipped', 'Duration']);
    expect(cells(rows[2] ?? '')).toEqual(['6', '2', '1', '1', '1', '1', '3.40s']);
  });

  it('has one row per folder: FAIL for failed or timed-out steps, else CANCELLED for cancelled ones', () => {
    const rows = section(markdown, 'Folders').split('\n').filter((line) => line.startsWith('| `'));
    expect(rows.map(cells)).toEqual([
      ['`etl`', '❌ FAIL', '3', '1', '1', '1', '0', '0'],
      ['`reports`', '⊘ CANCELLED', '3', '1', '0', '0', '1', '1'],
    ]);
  });

  it('never marks a folder whose steps were cancelled as passed', () => {
    const report = renderMarkdownReport(
      makeSummary([
        makeStep({ id: 'build/b.sh', status: 'cancelled', reason: 'fail-fast' }),
        makeStep({ id: 'lint/a.sh', status: 'failed', reason: 'exit-non-zero', exitCode: 1 }),
        makeStep({ id: 'lint/c.sh', status: 'cancelled', reason: 'cancelled' }),
        makeStep({ id: 'test/d.sh', status: 'skipped', reason: 'skipped-by-config' }),
      ]),
    );
    const rows = section(report, 'Folders').split('\n').filter((line) => line.startsWith('| `'));
    expect(rows.map((row) => cells(row).slice(0, 2))).toEqual([
      ['`build`', '⊘ CANCELLED'],
      ['`lint`', '❌ FAIL'],
      // Nothing in it ran: not a pass either.
      ['`test`', '⏭️ SKIPPED'],
    ]);
  });

  it('counts cached steps in a Cached column, so the status columns add up to the total', () => {
    const cachedRun = renderMarkdownReport(
      makeSummary([
        makeStep({ id: 'build/a.sh', status: 'cached' }),
        makeStep({ id: 'build/b.sh' }),
        makeStep({ id: 'lint/c.sh', status: 'cached' }),
      ]),
    );
    const totals = section(cachedRun, 'Totals').split('\n').filter((line) => line.startsWith('|'));
    expect(cells(totals[0] ?? '')).toEqual(['Steps', 'Succeeded', 'Cached', 'Failed', 'Timed out', 'Cancelled', 'Skipped', 'Duration']);
    expect(cells(totals[2] ?? '')).toEqual(['3', '1', '2', '0', '0', '0', '0', '3.40s']);
    const folders = section(cachedRun, 'Folders').split('\n').filter((line) => line.startsWith('|'));
    expect(cells(folders[0] ?? '')).toEqual(['Folder', 'Result', 'Total', 'Succeeded', 'Cached', 'Failed', 'Timed out', 'Cancelled', 'Skipped']);
    expect(folders.slice(2).map(cells)).toEqual([
      ['`build`', '✅ PASS', '2', '1', '1', '0', '0', '0', '0'],
      ['`lint`', '✅ PASS', '1', '0', '1', '0', '0', '0', '0'],
    ]);
    // Every row has as many cells as its header.
    for (const rows of [totals, folders]) for (const row of rows) expect(cells(row)).toHaveLength(cells(rows[0] ?? '').length);
  });

  it('lists the five slowest steps, slowest first', () => {
    const rows = section(markdown, 'Slowest steps').split('\n').filter((line) => line.startsWith('| `'));
    expect(rows.map((row) => cells(row)[0])).toEqual([
      '`etl/slow.py`',
      '`etl/load.py`',
      '`reports/a\\|b.sh`',
      '`reports/x.sh`',
      '`etl/bad.sh`',
    ]);
  });

  it('leaves cached steps out of the slowest steps: they did not run', () => {
    const report = renderMarkdownReport(
      makeSummary([makeStep({ id: 'restored.sh', status: 'cached', durationMs: 0 }), makeStep({ id: 'ran.sh', durationMs: 30 })]),
    );
    const rows = section(report, 'Slowest steps').split('\n').filter((line) => line.startsWith('| `'));
    expect(rows.map((row) => cells(row)[0])).toEqual(['`ran.sh`']);
  });

  it('a failure with continue_on_error: its folder passes, the counts say so, and it is listed apart from the failures', () => {
    const report = renderMarkdownReport(
      makeSummary(
        [
          makeStep({ id: 'optional.sh', status: 'failed', reason: 'exit-non-zero', message: 'exited with code 5', exitCode: 5, continuedOnError: true, stderrTail: 'flaky mirror\n' }),
          makeStep({ id: 'next.sh' }),
        ],
        { status: 'succeeded' },
      ),
    );
    expect(report.split('\n')[0]).toBe('# ✅ nightly: succeeded');
    const totals = section(report, 'Totals').split('\n').filter((line) => line.startsWith('|'));
    expect(cells(totals[2] ?? '').slice(0, 3)).toEqual(['2', '1', '1 (continue_on_error)']);
    const folders = section(report, 'Folders').split('\n').filter((line) => line.startsWith('| `'));
    expect(folders.map((row) => cells(row).slice(0, 5))).toEqual([['`.`', '✅ PASS', '2', '1', '1 (continue_on_error)']]);
    expect(report).not.toContain('## Failures');
    const continued = section(report, 'Continued on error');
    expect(continued).toContain('### `optional.sh`');
    expect(continued).toContain('- **Reason:** exited with code 5');
    expect(continued).toContain('flaky mirror');
  });

  it('escapes pipes so every table row keeps its column count', () => {
    const tableLines = markdown.split('\n').filter((line) => line.startsWith('|'));
    let columns = 0;
    for (const line of tableLines) {
      if (/^\| (Steps|Folder|Step) \|/.test(line)) columns = cells(line).length;
      expect(cells(line), line).toHaveLength(columns);
    }
    expect(tableRow(['a|b', '`c|d`', 'e\\|f'])).toBe('| a\\|b | `c\\|d` | e\\|f |');
  });

  it('describes each failure with reason, exit, log path and the last 10 lines of stderr', () => {
    const failures = section(markdown, 'Failures');
    expect(failures).toContain('### `etl/bad.sh`');
    expect(failures).toContain('- **Reason:** exited with code 3');
    expect(failures).toContain('- **Exit:** code 3');
    expect(failures).toContain('- **Log:** `/runs/r1/logs/etl__bad.sh.log`');
    expect(failures).toContain('### `etl/slow.py`');
    expect(failures).toContain('- **Exit:** signal SIGKILL, orchestrator sent SIGKILL after SIGTERM was ignored');
    const block = fences(failures)[0];
    expect(block?.body).toHaveLength(10);
    expect(block?.body[0]).toBe('err 6');
    expect(block?.body.at(-1)).toBe('last line');
    expect(failures).not.toContain('err 5\n');
  });

  it('uses a fence longer than any backtick run in the content', () => {
    for (const { fence, body } of fences(markdown)) {
      const longest = Math.max(0, ...body.map((line) => Math.max(0, ...(line.match(/`+/g) ?? []).map((run) => run.length))));
      expect(fence.length).toBeGreaterThan(longest);
    }
    // The stderr block with a four-backtick run inside needs a five-backtick fence.
    expect(fences(markdown).map((f) => f.fence)).toContain('`````');
    expect(fencedBlock('a ``` b', 'text')).toBe('````text\na ``` b\n````');
    expect(fencedBlock('plain\n')).toBe('```\nplain\n```');
  });

  it('removes terminal colour codes and control characters from stderr', () => {
    expect(markdown).not.toContain('\u001b');
    expect(markdown).not.toContain('\u0007');
    expect(markdown).toContain('esc' + 'red');
  });

  it('lists cancelled and skipped steps with their reasons', () => {
    expect(section(markdown, 'Cancelled')).toContain('- `reports/x.sh`: cancelled: the run was interrupted');
    expect(section(markdown, 'Skipped')).toContain('- `reports/old.sh`: skipped by config: replaced by new.sh');
  });

  it('leaves out sections with nothing in them', () => {
    const ok = renderMarkdownReport(makeSummary([makeStep({ id: 'a.sh', stdoutTail: lines('x', 3) })]));
    expect(ok).not.toContain('## Failures');
    expect(ok).not.toContain('## Skipped');
    expect(ok).not.toContain('## Cancelled');
  });

  it('shows the run cancel reason', () => {
    const text = renderMarkdownReport({ ...mixedSummary(), status: 'cancelled', cancelReason: 'SIGINT received' });
    expect(text).toContain('**Run cancelled:** SIGINT received');
  });

  it('makes code spans that survive backticks', () => {
    expect(inlineCode('a`b')).toBe('``a`b``');
    expect(inlineCode('`x')).toBe('`` `x ``');
  });
});

describe('writeMarkdownReport', () => {
  it('writes summary.md', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'md-report-'));
    try {
      const file = await writeMarkdownReport(mixedSummary(), dir);
      expect(file).toBe(path.join(dir, 'summary.md'));
      expect(await readFile(file, 'utf8')).toBe(renderMarkdownReport(mixedSummary()));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('summary.md graph and timeline sizes', () => {
  const chain = (count: number) =>
    makeSummary(Array.from({ length: count }, (_, i) => makeStep({ id: `s${i}`, ...(i > 0 ? { needs: [`s${i - 1}`] } : {}) })));

  it('draws the graph and the timeline of a small workflow', () => {
    const markdown = renderMarkdownReport(chain(20));
    expect(section(markdown, 'Graph')).toContain('```mermaid\nflowchart');
    expect(section(markdown, 'Timeline')).toContain('```mermaid\ngantt');
  });

  it('says so instead of drawing a graph Mermaid would refuse (over 500 edges), and a timeline over 200 steps', () => {
    const markdown = renderMarkdownReport(chain(2_000));
    const graph = section(markdown, 'Graph');
    expect(graph).not.toContain('```mermaid');
    expect(graph).toContain("The workflow's graph (2000 steps, 1999 dependencies) is too big to draw here");
    expect(graph).toContain('orchestrator graph');
    const timeline = section(markdown, 'Timeline');
    expect(timeline).not.toContain('```mermaid');
    expect(timeline).toContain('Left out: 2000 steps, more than the 200');
    // A 25,000-step workflow made a 2 MB report before.
    expect(markdown.length).toBeLessThan(100_000);
  });

  it('leaves out a graph under the edge limit whose diagram is over 50,000 characters', () => {
    const long = 'x'.repeat(200);
    const summary = makeSummary(
      Array.from({ length: 300 }, (_, i) => makeStep({ id: `${long}${i}`, ...(i > 0 ? { needs: [`${long}${i - 1}`] } : {}) })),
    );
    expect(section(renderMarkdownReport(summary), 'Graph')).toContain('is too big to draw here');
  });
});
