import type { RunSummary, StepResult } from '../core/result.js';
import { renderGraph } from './graph.js';

/**
 * Text safe inside a Mermaid gantt title, section or task name. The gantt lexer ends those at `:`,
 * `#`, `;` and line breaks and reads `x%` as the start of a comment, so those become look-alikes
 * (`∶` U+2236, `＃` U+FF03, `﹔` U+FE54, `％` U+FF05) and control characters become spaces.
 */
export function escapeGanttText(text: string): string {
  const cleaned = Array.from(text, (char) => {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) return ' ';
    return GANTT_REPLACEMENTS[char] ?? char;
  })
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
  if (cleaned === '') return '(unnamed)';
  // A name that starts like a gantt keyword (case-insensitive) would be read as that statement;
  // a zero-width space in front keeps it a task name and looks the same.
  return GANTT_KEYWORD.test(cleaned) ? `\u200b${cleaned}` : cleaned;
}

const GANTT_REPLACEMENTS: Record<string, string> = { ':': '\u2236', '#': '\uff03', ';': '\ufe54', '%': '\uff05' };

const GANTT_KEYWORD =
  /^(gantt|dateformat|inclusiveenddates|topaxis|axisformat|tickinterval|includes|excludes|todaymarker|weekday|weekend|title|accdescr|acctitle|accdescription|section|click|href|call|vert|\d{4}-\d{2}-\d{2})/i;

/**
 * A Mermaid `gantt` chart of a run: one task per step that started, in sections by `group` (sorted,
 * the top level `.` first as "Top level"), times as epoch milliseconds (`dateFormat x`). Failed and
 * timed-out steps are tagged `crit`, succeeded ones `done`; cancelled steps that had started are
 * drawn untagged; steps that never started (skipped, cancelled before starting) are left out. A bar
 * runs from `startedAt` for `durationMs`, so it shows the same duration as the tables.
 *
 * @see docs/graph.md
 */
export function renderGantt(summary: RunSummary): string {
  const lines = ['gantt', `  title ${escapeGanttText(summary.name)}`, '  dateFormat x', '  axisFormat %H:%M:%S', '  todayMarker off'];
  const sections = new Map<string, { step: StepResult; start: number; end: number; index: number }[]>();
  summary.steps.forEach((step, index) => {
    const start = step.startedAt === null ? NaN : Date.parse(step.startedAt);
    if (Number.isNaN(start)) return;
    // The bar is as long as `durationMs`, the duration every table shows, not finishedAt - startedAt
    // (which can differ, e.g. by time spent between retries or in the cache lookup).
    const end = start + Math.max(0, step.durationMs);
    const tasks = sections.get(step.group) ?? [];
    tasks.push({ step, start, end, index });
    sections.set(step.group, tasks);
  });
  let taskNumber = 0;
  for (const group of [...sections.keys()].sort(compareText)) {
    lines.push(`  section ${escapeGanttText(group === '.' ? 'Top level' : group)}`);
    const tasks = (sections.get(group) ?? []).sort((a, b) => a.start - b.start || a.index - b.index);
    for (const { step, start, end } of tasks) {
      const tag = ganttTag(step);
      const data = [...(tag === undefined ? [] : [tag]), `t${taskNumber++}`, String(start), String(end)];
      lines.push(`    ${escapeGanttText(step.name)} :${data.join(', ')}`);
    }
  }
  return lines.join('\n') + '\n';
}

function ganttTag(step: StepResult): 'crit' | 'done' | undefined {
  switch (step.status) {
    case 'failed':
    case 'timed-out':
      return 'crit';
    case 'succeeded':
      return 'done';
    default:
      return undefined;
  }
}

/**
 * The workflow's dependency graph as a Mermaid flowchart, coloured by each step's final status in
 * `summary`. `needs` maps step ids to their dependencies (the summary does not keep them).
 */
export function renderMermaidDag(summary: RunSummary, needs: Record<string, readonly string[]>): string {
  const statuses: Record<string, string> = {};
  for (const step of summary.steps) statuses[step.id] = step.status;
  const steps = summary.steps.map((step) => ({ id: step.id, needs: needs[step.id] ?? [], kind: step.kind }));
  return renderGraph(steps, 'mermaid', { statuses });
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
