import { StringDecoder } from 'node:string_decoder';
import pc from 'picocolors';
import { useColor } from '../util/use-color.js';
import { formatDuration } from '../core/duration.js';
import type { RunEvent } from '../core/events.js';
import { isContinuedFailure, type RunSummary, type StepResult } from '../core/result.js';
import { unreachable } from '../util/unreachable.js';
import { countByGroup, groupVerdict } from './group-counts.js';
import { lastLines } from './last-lines.js';
import { stripControlCharacters } from './strip-control-characters.js';
import { continuedCount, plural, slowestSteps, stepMessage, withContinued } from './step-message.js';

type Colors = ReturnType<typeof pc.createColors>;

/** The stream a console reporter writes to: `process.stdout`, `process.stderr` or a test double. */
export type ConsoleStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export interface ConsoleReporterOptions {
  stream: ConsoleStream;
  /** Colour output with ANSI codes. @default a terminal, or FORCE_COLOR; never with a non-empty NO_COLOR (`useColor`) */
  color?: boolean;
  /** Keep a redrawn block of running steps under the finished lines. @default stream.isTTY */
  live?: boolean;
  /** Also print step starts and every line of script output, prefixed with the step id. @default false */
  verbose?: boolean;
  /** Print `renderFinalSummary` on `run-finished`. @default true */
  finalSummary?: boolean;
  /** Environment read for `NO_COLOR`, `FORCE_COLOR` and `TERM`. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Longest unfinished output line kept in verbose mode (UTF-16 code units); beyond it the line is
 * printed in pieces ending with `…`, so memory and time do not grow with the length of a line.
 */
const MAX_PENDING_LINE = 16 * 1024;

/** Minimum time between two redraws of the live block. */
export const LIVE_REDRAW_MS = 100;
/** Running steps listed in the live block; the rest are counted on one line. */
const LIVE_MAX_ROWS = 8;
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
// Cursor up one line, then clear that whole line.
const ERASE_LINE = '\u001b[1A\u001b[2K';

interface RunningStep {
  since: number;
  attempt: number;
}

/**
 * Prints a run's events to a terminal or a log. Without `live`, one line per finished step. With
 * `live` (a TTY), finished lines scroll above a small block of running steps with their elapsed
 * time and the counts, redrawn at most every 100 ms.
 * @see docs/reports.md
 */
export class ConsoleReporter {
  readonly #stream: ConsoleStream;
  readonly #colors: Colors;
  readonly #colorEnabled: boolean;
  readonly #live: boolean;
  readonly #verbose: boolean;
  readonly #finalSummary: boolean;
  #total: number | undefined;
  #done = 0;
  #failed = 0;
  readonly #running = new Map<string, RunningStep>();
  /** Partial lines of script output per `stepId` + stream, for verbose mode. */
  readonly #partial = new Map<string, { stepId: string; stream: string; decoder: StringDecoder; text: string }>();
  #timer: NodeJS.Timeout | undefined;
  #frame = 0;
  /** Invariant: the live block is on screen as `#block` (`#blockLines` lines), the cursor just below it. */
  #block = '';
  #blockLines = 0;
  #closed = false;

  constructor(options: ConsoleReporterOptions) {
    if (typeof options !== 'object' || options === null || typeof options.stream?.write !== 'function') {
      const got = (options as Partial<ConsoleReporterOptions> | null)?.stream;
      throw new TypeError(`Expected the \`stream\` option to be a writable stream, got \`${typeof got}\``);
    }
    this.#stream = options.stream;
    const env = options.env ?? process.env;
    this.#colorEnabled = options.color ?? useColor(options.stream, env);
    this.#colors = pc.createColors(this.#colorEnabled);
    this.#live = options.live ?? options.stream.isTTY === true;
    this.#verbose = options.verbose ?? false;
    this.#finalSummary = options.finalSummary ?? true;
  }

  onEvent(event: RunEvent): void {
    if (this.#closed) return;
    const c = this.#colors;
    switch (event.type) {
      case 'run-started':
        this.#total = event.steps.length;
        this.#startTimer();
        break;
      case 'step-started':
        this.#running.set(event.stepId, { since: event.time, attempt: event.attempt });
        if (this.#verbose) {
          const attempt = event.attempt > 1 ? c.dim(` (attempt ${event.attempt})`) : '';
          this.#print([`${c.cyan('▶')} ${event.stepId}${attempt}`]);
        }
        this.#startTimer();
        break;
      case 'step-output':
        if (this.#verbose) this.#output(event.stepId, event.stream, event.chunk);
        break;
      case 'step-retrying':
        this.#print([
          `${c.yellow('↻')} ${event.stepId} ${event.message}, retrying in ${formatDuration(event.delayMs)}`,
        ]);
        break;
      case 'step-finished':
        this.#flushOutput(event.stepId);
        this.#running.delete(event.stepId);
        this.#done += 1;
        if (event.result.status === 'failed' || event.result.status === 'timed-out') this.#failed += 1;
        this.#print([this.#finishedLine(event.result)]);
        break;
      case 'run-cancelling':
        this.#print([`${c.yellow('⊘')} cancelling the run: ${event.reason}`]);
        break;
      case 'run-finished':
        this.#stop();
        if (this.#finalSummary) {
          this.#stream.write(`\n${renderFinalSummary(event.summary, { color: this.#colorEnabled })}`);
        }
        break;
      default:
        unreachable(event);
    }
  }

  /** Stops the redraw timer, removes the live block and prints any unfinished output line. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#stop();
    this.#closed = true;
  }

  #finishedLine(step: StepResult): string {
    const c = this.#colors;
    const duration = formatDuration(step.durationMs);
    // A failure the run goes on from is yellow and says why, so it does not read as the red one
    // that fails the run.
    const continued = isContinuedFailure(step);
    const bad = continued ? c.yellow : c.red;
    switch (step.status) {
      case 'succeeded': {
        const attempts = step.attempts > 1 ? c.dim(` after ${step.attempts} attempts`) : '';
        return `${c.green('✓')} ${step.id} ${c.dim(duration)}${attempts}`;
      }
      case 'failed':
        return `${bad('✗')} ${step.id} ${bad(stepMessage(step))} ${c.dim(`(${duration}${continued ? ', continue_on_error' : ''})`)}`;
      case 'timed-out':
        return `${bad('⏱')} ${step.id} ${bad(stepMessage(step))}${continued ? c.dim(' (continue_on_error)') : ''}`;
      case 'skipped':
        return `${c.dim('-')} ${step.id} ${c.dim(skippedMessage(step))}`;
      case 'cancelled':
        return `${c.yellow('⊘')} ${step.id} ${c.yellow(stepMessage(step))}`;
      case 'cached':
        return `${c.green('↺')} ${step.id} ${c.dim('cached')}`;
      default:
        return unreachable(step.status);
    }
  }

  #output(stepId: string, stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const key = `${stream}\u0000${stepId}`;
    let partial = this.#partial.get(key);
    if (partial === undefined) {
      partial = { stepId, stream, decoder: new StringDecoder('utf8'), text: '' };
      this.#partial.set(key, partial);
    }
    // Only the new text is scanned: the unfinished line kept so far is never split again.
    const text = partial.decoder.write(chunk);
    const lines: string[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const line = partial.text + text.slice(start, end);
      partial.text = '';
      lines.push(this.#outputLine(stepId, stream, line.endsWith('\r') ? line.slice(0, -1) : line));
      start = end + 1;
    }
    partial.text += text.slice(start);
    // A redrawn progress bar shows only what follows its last CR (see `#outputLine`), so what is
    // before can go; a CR at the very end is kept, as it may begin a CRLF.
    const cr = partial.text.lastIndexOf('\r', partial.text.length - 2);
    if (cr !== -1) partial.text = partial.text.slice(cr + 1);
    // A line that does not end is printed in pieces, so what is kept stays bounded.
    while (partial.text.length > MAX_PENDING_LINE) {
      // Never cut between the two halves of a surrogate pair.
      const cut = isHighSurrogate(partial.text.charCodeAt(MAX_PENDING_LINE - 1))
        ? MAX_PENDING_LINE - 1
        : MAX_PENDING_LINE;
      lines.push(this.#outputLine(stepId, stream, partial.text.slice(0, cut), true));
      partial.text = partial.text.slice(cut);
    }
    if (lines.length > 0) this.#print(lines);
  }

  #flushOutput(stepId?: string): void {
    for (const [key, partial] of this.#partial) {
      if (stepId !== undefined && partial.stepId !== stepId) continue;
      const rest = partial.text + partial.decoder.end();
      this.#partial.delete(key);
      if (rest !== '') this.#print([this.#outputLine(partial.stepId, partial.stream, rest)]);
    }
  }

  /** One line of output with its prefix; `continued` marks a piece of a longer line with `…`. */
  #outputLine(stepId: string, stream: string, line: string, continued = false): string {
    const c = this.#colors;
    const bar = stream === 'stderr' ? c.red('│') : c.dim('│');
    // Progress bars redraw with a bare CR; only the last state of the line is worth printing.
    const visible = line.slice(line.lastIndexOf('\r') + 1);
    return `${c.dim(stepId)} ${bar} ${stripControlCharacters(visible)}${continued ? c.dim('…') : ''}`;
  }

  /** Prints finished lines above the live block (or just prints them when not live). */
  #print(lines: readonly string[]): void {
    const text = lines.map((line) => `${line}\n`).join('');
    if (this.#blockLines > 0) {
      this.#stream.write(`${ERASE_LINE.repeat(this.#blockLines)}\r${text}${this.#block}`);
    } else {
      this.#stream.write(text);
    }
  }

  #startTimer(): void {
    if (!this.#live || this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => this.#redraw(), LIVE_REDRAW_MS);
    // The block is cosmetic: it must never keep the process alive.
    this.#timer.unref();
  }

  #redraw(): void {
    const lines = this.#blockContent();
    const block = lines.map((line) => `${line}\n`).join('');
    const erase = this.#blockLines > 0 ? `${ERASE_LINE.repeat(this.#blockLines)}\r` : '';
    if (erase === '' && block === '') return;
    this.#stream.write(erase + block);
    this.#block = block;
    this.#blockLines = lines.length;
  }

  #blockContent(): string[] {
    if (this.#running.size === 0) return [];
    const c = this.#colors;
    const width = Math.max(20, (this.#stream.columns ?? 80) - 1);
    const now = Date.now();
    const frame = SPINNER[this.#frame++ % SPINNER.length] ?? '*';
    const done = this.#total === undefined ? `${this.#done} done` : `${this.#done}/${this.#total} done`;
    const counts = `${done} · ${this.#running.size} running · `;
    const failed = `${this.#failed} failed`;
    // Every line must fit the terminal: a wrapped line would break the cursor-up arithmetic, so
    // text is truncated before it is coloured.
    const header = `${frame} ${counts}${failed}`;
    const lines = [
      [...header].length > width
        ? truncate(header, width)
        : `${c.cyan(frame)} ${counts}${this.#failed > 0 ? c.red(failed) : failed}`,
    ];
    const running = [...this.#running].sort((a, b) => a[1].since - b[1].since);
    const shown = running.length > LIVE_MAX_ROWS ? running.slice(0, LIVE_MAX_ROWS - 1) : running;
    for (const [id, step] of shown) {
      const elapsed = formatDuration(Math.max(0, now - step.since));
      const attempt = step.attempt > 1 ? ` (attempt ${step.attempt})` : '';
      const label = truncate(`  ${id}${attempt}`, width - elapsed.length - 1);
      lines.push(`${label} ${c.dim(elapsed)}`);
    }
    if (shown.length < running.length) {
      lines.push(c.dim(truncate(`  … and ${running.length - shown.length} more`, width)));
    }
    return lines;
  }

  #stop(): void {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    if (this.#blockLines > 0) {
      this.#stream.write(`${ERASE_LINE.repeat(this.#blockLines)}\r`);
      this.#block = '';
      this.#blockLines = 0;
    }
    this.#flushOutput();
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function truncate(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

function skippedMessage(step: StepResult): string {
  const message = stepMessage(step);
  return message.startsWith('skipped') ? message : `skipped: ${message}`;
}

export interface FinalSummaryOptions {
  /** @default false */
  color?: boolean;
}

/** Lines of stderr shown for each failure in the final summary. */
const SUMMARY_STDERR_LINES = 5;

/**
 * The end-of-run text: a totals line, `PASS`/`FAIL`/`CANCELLED succeeded/ran` per folder (skipped
 * steps are not counted as ran; a folder with a cancelled step and no failure is `CANCELLED`; one
 * whose steps were all skipped is `SKIPPED`), the five slowest steps that ran, each failure with
 * its reason, the last five lines of stderr and the log path, and a last line like
 * `12 passed, 1 failed, 1 timed out, 1 skipped in 3.40s`. Failures of steps with
 * `continue_on_error` are counted and listed with `(continue_on_error)`, and do not make a folder
 * `FAIL`, as they do not fail the run.
 */
export function renderFinalSummary(summary: RunSummary, options: FinalSummaryOptions = {}): string {
  const c = pc.createColors(options.color ?? false);
  const { counts } = summary;
  const continuedFailed = continuedCount(summary.steps, 'failed');
  const continuedTimedOut = continuedCount(summary.steps, 'timed-out');
  const out: string[] = [];
  const statusColor =
    summary.status === 'succeeded' ? c.green : summary.status === 'cancelled' ? c.yellow : c.red;
  out.push(
    `${c.bold(`Run ${summary.name}`)} ${statusColor(summary.status)} in ${formatDuration(summary.durationMs)}: ` +
      `${plural(counts.total, 'step')}, ${counts.succeeded} succeeded, ${counts.cached > 0 ? `${counts.cached} cached, ` : ''}` +
      `${withContinued(counts.failed, continuedFailed, 'failed')}, ` +
      `${withContinued(counts['timed-out'], continuedTimedOut, 'timed out')}, ${counts.cancelled} cancelled, ${counts.skipped} skipped`,
  );
  if (summary.cancelReason !== undefined) out.push(c.yellow(`Run cancelled: ${summary.cancelReason}`));

  const groups = countByGroup(summary.steps);
  if (groups.size > 0) {
    out.push('', c.bold('Folders'));
    for (const [group, g] of groups) {
      const name = groupVerdict(g);
      const verdict =
        name === 'FAIL' ? c.red(name) : name === 'CANCELLED' ? c.yellow(name) : name === 'SKIPPED' ? c.dim(name) : c.green(name);
      if (name === 'SKIPPED') {
        // Nothing ran: "0/0" would read like a pass.
        out.push(`  ${verdict} ${group} (${plural(g.skipped, 'step')} skipped)`);
        continue;
      }
      // A cached step counts as success: it is in "succeeded/ran" and said apart. A failure with
      // continue_on_error is in "ran" but not "succeeded", and said apart too.
      const notes = [
        ...(g.cached > 0 ? [`${g.cached} cached`] : []),
        ...(g.continuedOnError > 0 ? [`${g.continuedOnError} failed with continue_on_error`] : []),
      ];
      const noted = notes.length > 0 ? ` (${notes.join(', ')})` : '';
      out.push(`  ${verdict} ${group} ${g.succeeded + g.cached}/${g.total - g.skipped}${noted}`);
    }
  }

  const slowest = slowestSteps(summary.steps, 5);
  if (slowest.length > 0) {
    out.push('', c.bold('Slowest'));
    const width = Math.max(...slowest.map((step) => formatDuration(step.durationMs).length));
    for (const step of slowest) out.push(`  ${formatDuration(step.durationMs).padStart(width)}  ${step.id}`);
  }

  const failures = summary.steps.filter((s) => s.status === 'failed' || s.status === 'timed-out');
  if (failures.length > 0) {
    out.push('', c.bold((failures.every(isContinuedFailure) ? c.yellow : c.red)('Failures')));
    for (const step of failures) {
      const symbol = step.status === 'timed-out' ? '⏱' : '✗';
      const continued = isContinuedFailure(step);
      const bad = continued ? c.yellow : c.red;
      out.push(`  ${bad(symbol)} ${step.id} ${bad(stepMessage(step))}${continued ? c.dim(' (continue_on_error: the run went on)') : ''}`);
      const stderr = stripControlCharacters(lastLines(step.stderrTail, SUMMARY_STDERR_LINES)).replace(/\r?\n$/, '');
      if (stderr.trim() !== '') {
        for (const line of stderr.split(/\r?\n/)) out.push(`    ${c.dim('│')} ${line}`);
      }
      if (step.logPath !== null) out.push(`    ${c.dim(`log: ${step.logPath}`)}`);
    }
  }

  const parts = [c.green(`${counts.succeeded} passed`)];
  if (counts.cached > 0) parts.push(c.green(`${counts.cached} cached`));
  // Red only when some of them failed the run.
  if (counts.failed > 0) {
    parts.push((continuedFailed === counts.failed ? c.yellow : c.red)(withContinued(counts.failed, continuedFailed, 'failed')));
  }
  if (counts['timed-out'] > 0) {
    const timedOut = withContinued(counts['timed-out'], continuedTimedOut, 'timed out');
    parts.push((continuedTimedOut === counts['timed-out'] ? c.yellow : c.red)(timedOut));
  }
  if (counts.cancelled > 0) parts.push(c.yellow(`${counts.cancelled} cancelled`));
  if (counts.skipped > 0) parts.push(c.dim(`${counts.skipped} skipped`));
  out.push('', `${parts.join(', ')} in ${formatDuration(summary.durationMs)}`);
  return `${out.join('\n')}\n`;
}
