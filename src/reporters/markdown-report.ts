import { renderGantt, renderMermaidDag } from './timeline.js';
import { formatDuration } from '../core/duration.js';
import { isContinuedFailure, type RunSummary, type StepResult } from '../core/result.js';
import type { FinalStatus } from '../core/status.js';
import { countByGroup, groupVerdict, type GroupVerdict } from './group-counts.js';
import { lastLines } from './last-lines.js';
import { escapeMarkdownText, fencedBlock, inlineCode, table } from './markdown-syntax.js';
import { continuedCount, exitDescription, slowestSteps, stepMessage, withContinued } from './step-message.js';
import { writeReportFile } from './write-report-file.js';

/** Lines of stderr shown for each failure. */
export const MARKDOWN_STDERR_LINES = 10;
/** Steps listed under "Slowest steps". */
export const MARKDOWN_SLOWEST_COUNT = 5;

const STATUS_ICONS: Record<FinalStatus, string> = {
  succeeded: '✅',
  failed: '❌',
  'timed-out': '⏱️',
  cancelled: '⊘',
  skipped: '⏭️',
  cached: '♻️',
};

const VERDICT_ICONS: Record<GroupVerdict, string> = {
  PASS: STATUS_ICONS.succeeded,
  FAIL: STATUS_ICONS.failed,
  CANCELLED: STATUS_ICONS.cancelled,
  SKIPPED: STATUS_ICONS.skipped,
};

/**
 * Renders the run as Markdown (GitHub-flavoured): title with the run's name and status, totals,
 * one row per folder, the five slowest steps that ran, each failure with its stderr tail and log
 * path (failures of steps with `continue_on_error` in a section of their own), and the cancelled
 * and skipped steps with their reasons. This is also the GitHub step summary.
 * @see docs/reports.md
 */
/** Above this many steps the timeline is left out: a Gantt chart of thousands of bars helps nobody. */
export const MARKDOWN_TIMELINE_MAX_STEPS = 200;

/**
 * The largest graph put in the report: Mermaid refuses to draw more than 500 edges or 50,000
 * characters of diagram by default (GitHub shows an error box instead), and a 25,000-step
 * workflow made a 2 MB report, twice GitHub's limit for a step summary.
 */
export const MARKDOWN_GRAPH_LIMITS = { edges: 500, chars: 50_000 } as const;

export function renderMarkdownReport(summary: RunSummary): string {
  const out: string[] = [];
  out.push(`# ${STATUS_ICONS[summary.status]} ${escapeMarkdownText(summary.name)}: ${summary.status}`);
  const facts = [
    `**Run:** ${inlineCode(summary.runId)}`,
    ...(summary.source === null ? [] : [`**Source:** ${inlineCode(summary.source)}`]),
    `**Started:** ${summary.startedAt}`,
    `**Duration:** ${formatDuration(summary.durationMs)}`,
  ];
  out.push(facts.join(' · '));
  if (summary.cancelReason !== undefined) {
    out.push(`**Run cancelled:** ${escapeMarkdownText(summary.cancelReason)}`);
  }

  // Cached steps count as success but are counted apart; the column is there only when some are,
  // so the per-status columns always add up to the total.
  const { counts } = summary;
  const withCached = counts.cached > 0;
  const cachedHeader = withCached ? ['Cached'] : [];
  const cachedCell = (c: { cached: number }): string[] => (withCached ? [String(c.cached)] : []);
  out.push(
    '## Totals',
    table(
      ['Steps', 'Succeeded', ...cachedHeader, 'Failed', 'Timed out', 'Cancelled', 'Skipped', 'Duration'],
      [
        [
          String(counts.total),
          String(counts.succeeded),
          ...cachedCell(counts),
          withContinued(counts.failed, continuedCount(summary.steps, 'failed')),
          withContinued(counts['timed-out'], continuedCount(summary.steps, 'timed-out')),
          String(counts.cancelled),
          String(counts.skipped),
          formatDuration(summary.durationMs),
        ],
      ],
      withCached ? 'rrrrrrrr' : 'rrrrrrr',
    ),
  );

  const groups = countByGroup(summary.steps);
  if (groups.size > 0) {
    const rows = [...groups].map(([group, c]) => {
      const own = c.continuedOnError > 0 ? summary.steps.filter((step) => step.group === group) : [];
      return [
        inlineCode(group),
        `${VERDICT_ICONS[groupVerdict(c)]} ${groupVerdict(c)}`,
        String(c.total),
        String(c.succeeded),
        ...cachedCell(c),
        withContinued(c.failed, continuedCount(own, 'failed')),
        withContinued(c['timed-out'], continuedCount(own, 'timed-out')),
        String(c.cancelled),
        String(c.skipped),
      ];
    });
    out.push(
      '## Folders',
      table(
        ['Folder', 'Result', 'Total', 'Succeeded', ...cachedHeader, 'Failed', 'Timed out', 'Cancelled', 'Skipped'],
        rows,
        withCached ? '  rrrrrrr' : '  rrrrrr',
      ),
    );
  }

  const slowest = slowestSteps(summary.steps, MARKDOWN_SLOWEST_COUNT);
  if (slowest.length > 0) {
    out.push(
      '## Slowest steps',
      table(
        ['Step', 'Folder', 'Status', 'Duration'],
        slowest.map((step) => [
          inlineCode(step.id),
          inlineCode(step.group),
          step.status,
          formatDuration(step.durationMs),
        ]),
        '   r',
      ),
    );
  }

  // Workflows (steps with dependencies) get their graph, coloured by status, when Mermaid can draw it.
  const edges = summary.steps.reduce((total, s) => total + (s.needs?.length ?? 0), 0);
  if (edges > 0) {
    const tooBig = `The workflow's graph (${summary.steps.length} steps, ${edges} dependencies) is too big to draw here: \`orchestrator graph <workflow file> --format mermaid|dot|json\` gives it whole.`;
    if (edges > MARKDOWN_GRAPH_LIMITS.edges) {
      out.push('## Graph', tooBig);
    } else {
      const needs = Object.fromEntries(summary.steps.map((s) => [s.id, s.needs ?? []]));
      const diagram = renderMermaidDag(summary, needs).trimEnd();
      out.push('## Graph', diagram.length > MARKDOWN_GRAPH_LIMITS.chars ? tooBig : fencedBlock(diagram, 'mermaid'));
    }
  }
  if (summary.steps.some((s) => s.startedAt !== null)) {
    out.push(
      '## Timeline',
      summary.steps.length <= MARKDOWN_TIMELINE_MAX_STEPS
        ? fencedBlock(renderGantt(summary).trimEnd(), 'mermaid')
        : `Left out: ${summary.steps.length} steps, more than the ${MARKDOWN_TIMELINE_MAX_STEPS} a timeline is drawn for. Each step's start and end are in summary.json.`,
    );
  }

  const failures = summary.steps.filter((s) => (s.status === 'failed' || s.status === 'timed-out') && !isContinuedFailure(s));
  if (failures.length > 0) {
    out.push('## Failures');
    for (const step of failures) out.push(...renderFailure(step));
  }
  // Apart from the failures: these did not fail the run, but their details are still wanted.
  const continued = summary.steps.filter(isContinuedFailure);
  if (continued.length > 0) {
    out.push('## Continued on error', 'These steps failed but have `continue_on_error`: the run did not fail for them.');
    for (const step of continued) out.push(...renderFailure(step));
  }

  const cancelled = summary.steps.filter((s) => s.status === 'cancelled');
  if (cancelled.length > 0) out.push('## Cancelled', reasonList(cancelled));
  const skipped = summary.steps.filter((s) => s.status === 'skipped');
  if (skipped.length > 0) out.push('## Skipped', reasonList(skipped));

  return `${out.join('\n\n')}\n`;
}

function renderFailure(step: StepResult): string[] {
  const lines = [
    `- **Status:** ${step.status}${step.reason === undefined ? '' : ` (${inlineCode(step.reason)})`}`,
    `- **Reason:** ${escapeMarkdownText(stepMessage(step))}`,
    `- **Exit:** ${exitDescription(step)}`,
    `- **Duration:** ${formatDuration(step.durationMs)}${step.attempts > 1 ? ` (attempt ${step.attempts})` : ''}`,
    `- **Log:** ${step.logPath === null ? 'not written' : inlineCode(step.logPath)}`,
  ];
  if (step.command.length > 0) lines.push(`- **Command:** ${inlineCode(step.command.join(' '))}`);
  const stderr = lastLines(step.stderrTail, MARKDOWN_STDERR_LINES);
  const block =
    stderr.trim() === ''
      ? '_No stderr output._'
      : `Last ${MARKDOWN_STDERR_LINES} lines of stderr:\n\n${fencedBlock(stderr, 'text')}`;
  return [`### ${inlineCode(step.id)}`, lines.join('\n'), block];
}

function reasonList(steps: readonly StepResult[]): string {
  return steps.map((step) => `- ${inlineCode(step.id)}: ${escapeMarkdownText(stepMessage(step))}`).join('\n');
}

/** Writes `<dir>/summary.md` and returns its path. */
export async function writeMarkdownReport(summary: RunSummary, dir: string): Promise<string> {
  return writeReportFile(dir, 'summary.md', renderMarkdownReport(summary));
}
