import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunEvent } from '../../src/core/events.js';
import type { RunSummary, StepResult } from '../../src/core/result.js';
import { ConsoleReporter, LIVE_REDRAW_MS, renderFinalSummary } from '../../src/reporters/console-reporter.js';
import { makeStep, makeSummary, mixedSummary } from './summary-factory.js';

/** A real writable stream that says it is a terminal and keeps what was written. */
class FakeTerminal extends Writable {
  readonly chunks: string[] = [];
  constructor(
    readonly isTTY: boolean,
    readonly columns = 80,
  ) {
    super();
  }
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk.toString());
    callback();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/** What a terminal would show after `output`: handles text, CR, LF, cursor-up and clear-line. */
function screen(output: string): string[] {
  const rows: string[] = [''];
  let row = 0;
  let col = 0;
  const chars = [...output];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i] ?? '';
    if (char === '\u001b' && chars[i + 1] === '[') {
      let j = i + 2;
      let param = '';
      while (/[0-9;?]/.test(chars[j] ?? '')) param += chars[j++] ?? '';
      const command = chars[j];
      if (command === 'A') row = Math.max(0, row - Number(param || 1));
      else if (command === 'K' && param === '2') rows[row] = '';
      else if (command !== 'm') throw new Error(`unexpected escape ${param}${command ?? ''}`);
      i = j;
    } else if (char === '\n') {
      row++;
      col = 0;
      rows[row] ??= '';
    } else if (char === '\r') {
      col = 0;
    } else {
      const line = (rows[row] ?? '').padEnd(col);
      rows[row] = line.slice(0, col) + char + line.slice(col + 1);
      col++;
    }
  }
  while (rows.length > 0 && rows.at(-1) === '') rows.pop();
  // The spinner frame depends on how many redraws happened; `*` stands for any frame.
  return rows.map((line) => line.replace(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /, '* '));
}

const time = () => Date.now();
const runStarted = (summary: RunSummary): RunEvent => ({
  type: 'run-started',
  runId: summary.runId,
  time: time(),
  name: summary.name,
  source: summary.source,
  steps: summary.steps.map((step) => ({ id: step.id, name: step.name, kind: 'script', group: step.group, needs: [] })),
});
const stepStarted = (id: string): RunEvent => ({
  type: 'step-started', runId: 'r1', time: time(), stepId: id, attempt: 1, command: ['bash', id], pid: 123,
});
const stepFinished = (result: StepResult): RunEvent => ({
  type: 'step-finished', runId: 'r1', time: time(), stepId: result.id, attempt: result.attempts, result,
});
const output = (id: string, stream: 'stdout' | 'stderr', chunk: Buffer): RunEvent => ({
  type: 'step-output', runId: 'r1', time: time(), stepId: id, attempt: 1, stream, chunk,
});
const runFinished = (summary: RunSummary): RunEvent => ({ type: 'run-finished', runId: 'r1', time: time(), summary });

// Built from a string: a control character in a regex literal is a lint error.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);

describe('ConsoleReporter without live mode', () => {
  it('prints one plain line per finished step', () => {
    const stream = new FakeTerminal(false);
    const reporter = new ConsoleReporter({ stream, env: {}, finalSummary: false });
    const summary = mixedSummary();
    reporter.onEvent(runStarted(summary));
    for (const step of summary.steps) reporter.onEvent(stepStarted(step.id));
    for (const step of summary.steps) reporter.onEvent(stepFinished(step));
    reporter.onEvent(runFinished(summary));
    reporter.close();
    expect(stream.text).toBe(
      [
        '✓ etl/load.py 1.23s',
        '✗ etl/bad.sh exited with code 3 (50ms)',
        '⏱ etl/slow.py timed out after 2.00s (SIGKILL after SIGTERM was ignored)',
        '⊘ reports/x.sh cancelled: the run was interrupted',
        '- reports/old.sh skipped by config: replaced by new.sh',
        '✓ reports/a|b.sh 700ms',
        '',
      ].join('\n'),
    );
  });

  it('prints the final summary when the run finishes', () => {
    const stream = new FakeTerminal(false);
    const reporter = new ConsoleReporter({ stream, env: {} });
    reporter.onEvent(runFinished(mixedSummary()));
    expect(stream.text).toBe(`\n${renderFinalSummary(mixedSummary())}`);
  });

  it('says when a step succeeded only after retries, and when it is retried', () => {
    const stream = new FakeTerminal(false);
    const reporter = new ConsoleReporter({ stream, env: {} });
    reporter.onEvent({
      type: 'step-retrying', runId: 'r1', time: 0, stepId: 'flaky.sh', attempt: 1, delayMs: 500,
      reason: 'exit-non-zero', message: 'exited with code 1',
    });
    reporter.onEvent(stepFinished(makeStep({ id: 'flaky.sh', attempts: 2, durationMs: 20 })));
    expect(stream.text).toBe('↻ flaky.sh exited with code 1, retrying in 500ms\n✓ flaky.sh 20ms after 2 attempts\n');
  });

  it('prints script output line by line in verbose mode, even when chunks split lines and characters', () => {
    const stream = new FakeTerminal(false);
    const reporter = new ConsoleReporter({ stream, env: {}, verbose: true, finalSummary: false });
    reporter.onEvent(stepStarted('a.py'));
    const bytes = Buffer.from('héllo\nwor');
    const split = bytes.indexOf(0xa9); // the second byte of "é"
    reporter.onEvent(output('a.py', 'stdout', bytes.subarray(0, split)));
    reporter.onEvent(output('a.py', 'stdout', bytes.subarray(split)));
    reporter.onEvent(output('a.py', 'stderr', Buffer.from('oops\n')));
    reporter.onEvent(output('a.py', 'stdout', Buffer.from('ld\r\n10%\r50%\r100%\nunterminated')));
    reporter.onEvent(stepFinished(makeStep({ id: 'a.py', durationMs: 5 })));
    expect(stream.text.split('\n')).toEqual([
      '▶ a.py',
      'a.py │ héllo',
      'a.py │ oops',
      'a.py │ world',
      'a.py │ 100%',
      'a.py │ unterminated',
      '✓ a.py 5ms',
      '',
    ]);
  });

  it('prints a very long unterminated line in bounded pieces as it arrives, keeping nothing but the tail', () => {
    const limit = 16 * 1024;
    const stream = new FakeTerminal(false);
    const reporter = new ConsoleReporter({ stream, env: {}, verbose: true, finalSummary: false });
    // 100 KiB without a newline, in 1 KiB chunks, with a 4-byte character cut across two chunks.
    const line = `${'x'.repeat(50 * 1024 - 1)}😀${'y'.repeat(50 * 1024 - 1)}`;
    const bytes = Buffer.from(line);
    for (let at = 0; at < bytes.length; at += 1000) {
      reporter.onEvent(output('big.sh', 'stdout', bytes.subarray(at, at + 1000)));
      // What is still pending never grows past the limit (bytes: one 4-byte character): the rest is printed.
      const fed = Math.min(at + 1000, bytes.length);
      const printed = stream.text.split('\n').map((row) => row.replace(/^big\.sh │ /, '').replace(/…$/, ''));
      expect(fed - Buffer.byteLength(printed.join(''))).toBeLessThanOrEqual(limit + 4);
    }
    reporter.onEvent(output('big.sh', 'stdout', Buffer.from('z\n')));
    reporter.close();
    const rows = stream.text.split('\n').slice(0, -1);
    for (const row of rows) expect(row.startsWith('big.sh │ ')).toBe(true);
    const pieces = rows.map((row) => row.slice('big.sh │ '.length));
    for (const piece of pieces.slice(0, -1)) {
      expect(piece.endsWith('…')).toBe(true);
      expect(piece.length - 1).toBeLessThanOrEqual(limit);
    }
    expect(pieces.at(-1)?.endsWith('z')).toBe(true);
    expect(pieces.map((piece) => piece.replace(/…$/, '')).join('')).toBe(`${line}z`);
  });

  it('still prints a normal line that arrives in many chunks once, as one line', () => {
    const stream = new FakeTerminal(false);
    const reporter = new ConsoleReporter({ stream, env: {}, verbose: true, finalSummary: false });
    const text = 'a fairly ordinary line of output from a script, ✓ done';
    for (const byte of Buffer.from(`${text}\nnext\n`)) reporter.onEvent(output('a.sh', 'stdout', Buffer.from([byte])));
    reporter.close();
    expect(stream.text).toBe(`a.sh │ ${text}\na.sh │ next\n`);
  });

  it('does not cut a progress bar redrawn with CR into pieces: only its last state is printed', () => {
    const stream = new FakeTerminal(false);
    const reporter = new ConsoleReporter({ stream, env: {}, verbose: true, finalSummary: false });
    for (let i = 0; i <= 20_000; i++) reporter.onEvent(output('p.sh', 'stdout', Buffer.from(`\r${i}/20000`)));
    reporter.onEvent(output('p.sh', 'stdout', Buffer.from('\r\n')));
    reporter.close();
    expect(stream.text).toBe('p.sh │ 20000/20000\n');
  });

  it('ignores output when not verbose, and ignores events after close', () => {
    const stream = new FakeTerminal(false);
    const reporter = new ConsoleReporter({ stream, env: {} });
    reporter.onEvent(output('a.py', 'stdout', Buffer.from('noise\n')));
    reporter.close();
    reporter.close();
    reporter.onEvent(stepFinished(makeStep({ id: 'a.py' })));
    expect(stream.text).toBe('');
  });
});

describe('ConsoleReporter defaults', () => {
  const failed = makeStep({ id: 'bad.sh', status: 'failed', reason: 'exit-non-zero', exitCode: 3 });

  it('colours and goes live on a TTY', () => {
    const stream = new FakeTerminal(true);
    const reporter = new ConsoleReporter({ stream, env: {} });
    reporter.onEvent(stepFinished(failed));
    reporter.close();
    expect(stream.text).toMatch(ANSI);
  });

  it('does not colour when NO_COLOR is set; an empty NO_COLOR counts as unset (no-color.org)', () => {
    const stream = new FakeTerminal(true);
    const reporter = new ConsoleReporter({ stream, env: { NO_COLOR: '1' }, live: false });
    reporter.onEvent(stepFinished(failed));
    expect(stream.text).toBe('✗ bad.sh exited with code 3 (1.00s)\n');
    const other = new FakeTerminal(true);
    new ConsoleReporter({ stream: other, env: { NO_COLOR: '' }, live: false }).onEvent(stepFinished(failed));
    expect(other.text).toMatch(ANSI);
  });

  it('colours a pipe when FORCE_COLOR is set (CI logs that render colour)', () => {
    const stream = new FakeTerminal(false);
    new ConsoleReporter({ stream, env: { FORCE_COLOR: '1' }, live: false }).onEvent(stepFinished(failed));
    expect(stream.text).toMatch(ANSI);
  });

  it('neither colours nor goes live when the stream is not a TTY', () => {
    const stream = new FakeTerminal(false);
    const reporter = new ConsoleReporter({ stream, env: {} });
    reporter.onEvent(stepStarted('slow.sh'));
    reporter.onEvent(stepFinished(failed));
    expect(stream.text).not.toMatch(ANSI);
  });

  it('rejects a missing stream with a TypeError', () => {
    expect(() => new ConsoleReporter({} as never)).toThrow(TypeError);
  });
});

describe('ConsoleReporter live mode', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('redraws a block of running steps at most every 100 ms, with finished lines above it', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const stream = new FakeTerminal(true, 60);
    const reporter = new ConsoleReporter({ stream, color: false, env: {}, finalSummary: false });
    const summary = mixedSummary();
    reporter.onEvent(runStarted(summary));
    reporter.onEvent(stepStarted('etl/load.py'));
    expect(stream.chunks, 'events alone never draw the block').toEqual([]);
    vi.advanceTimersByTime(500);
    expect(stream.chunks, 'one redraw per 100 ms').toHaveLength(5);
    reporter.onEvent(stepStarted('etl/bad.sh'));
    expect(stream.chunks).toHaveLength(5);

    vi.advanceTimersByTime(LIVE_REDRAW_MS);
    expect(screen(stream.text)).toEqual(['* 0/6 done · 2 running · 0 failed', '  etl/load.py 600ms', '  etl/bad.sh 100ms']);

    const writes = stream.chunks.length;
    const bad = summary.steps[1];
    if (bad === undefined) throw new Error('fixture changed');
    reporter.onEvent(stepFinished(bad));
    expect(stream.chunks.length).toBe(writes + 1);
    vi.advanceTimersByTime(LIVE_REDRAW_MS - 1);
    expect(stream.chunks.length, 'no redraw before 100 ms have passed').toBe(writes + 1);
    vi.advanceTimersByTime(1);
    expect(stream.chunks.length).toBe(writes + 2);
    expect(screen(stream.text)).toEqual([
      '✗ etl/bad.sh exited with code 3 (50ms)',
      '* 1/6 done · 1 running · 1 failed',
      '  etl/load.py 700ms',
    ]);

    reporter.onEvent(runFinished(summary));
    expect(vi.getTimerCount(), 'the redraw timer stops with the run').toBe(0);
    expect(screen(stream.text)).toEqual(['✗ etl/bad.sh exited with code 3 (50ms)']);
    reporter.close();
  });

  it('lists at most eight rows and truncates lines to the terminal width', () => {
    vi.useFakeTimers({ now: 0 });
    const stream = new FakeTerminal(true, 30);
    const reporter = new ConsoleReporter({ stream, color: true, env: {}, finalSummary: false });
    for (let i = 0; i < 12; i++) reporter.onEvent(stepStarted(`folder/a-very-long-script-name-${i}.py`));
    vi.advanceTimersByTime(LIVE_REDRAW_MS);
    const rows = screen(stream.text);
    expect(rows).toHaveLength(9);
    expect(rows[0]).toBe('* 0 done · 12 running · 0 fa…');
    expect(rows[1]).toBe('  folder/a-very-long-s… 100ms');
    expect(rows[8]).toBe('  … and 5 more');
    for (const row of rows) expect([...row].length).toBeLessThan(30);
    reporter.close();
    expect(screen(stream.text)).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not keep the process alive: its timer is unref’d', () => {
    const stream = new FakeTerminal(true);
    const count = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    const before = count();
    const reporter = new ConsoleReporter({ stream, env: {} });
    reporter.onEvent(stepStarted('a.sh'));
    expect(count()).toBe(before);
    reporter.close();
  });
});

describe('renderFinalSummary', () => {
  const text = renderFinalSummary(mixedSummary(), { color: false });
  const all = text.split('\n');

  it('starts with a totals line and ends with the counts and duration', () => {
    expect(all[0]).toBe('Run nightly failed in 3.40s: 6 steps, 2 succeeded, 1 failed, 1 timed out, 1 cancelled, 1 skipped');
    expect(all.at(-2)).toBe('2 passed, 1 failed, 1 timed out, 1 cancelled, 1 skipped in 3.40s');
    expect(text).not.toMatch(ANSI);
  });

  it('gives PASS/FAIL/CANCELLED with succeeded/ran for each folder', () => {
    expect(all).toContain('  FAIL etl 1/3');
    // reports/x.sh was cancelled: the folder did not pass.
    expect(all).toContain('  CANCELLED reports 1/2');
  });

  it('never says PASS for a folder whose steps were cancelled; a failure still makes it FAIL', () => {
    // --fail-fast -j 1: lint failed, so build/b.sh never ran.
    const folders = renderFinalSummary(
      makeSummary([
        makeStep({ id: 'build/b.sh', status: 'cancelled', reason: 'fail-fast' }),
        makeStep({ id: 'lint/a.sh', status: 'failed', reason: 'exit-non-zero', exitCode: 1 }),
        makeStep({ id: 'lint/c.sh', status: 'cancelled', reason: 'cancelled' }),
        makeStep({ id: 'test/d.sh' }),
      ]),
    )
      .split('\n')
      .filter((line) => /^ {2}[A-Z]+ /.test(line));
    expect(folders).toEqual(['  CANCELLED build 0/1', '  FAIL lint 0/2', '  PASS test 1/1']);
  });

  it('lists the five slowest steps', () => {
    const start = all.indexOf('Slowest');
    expect(all.slice(start + 1, start + 6)).toEqual([
      '  2.00s  etl/slow.py',
      '  1.23s  etl/load.py',
      '  700ms  reports/a|b.sh',
      '  300ms  reports/x.sh',
      '   50ms  etl/bad.sh',
    ]);
  });

  it('shows each failure with its reason, the last 5 lines of stderr and the log path', () => {
    const start = all.indexOf('Failures');
    expect(all.slice(start + 1, start + 10)).toEqual([
      '  ✗ etl/bad.sh exited with code 3',
      '    │ err 11',
      '    │ err 12',
      '    │ fence ``` and ```` inside | pipe',
      `    │ <tag attr="x"> & 'q' ]]> bell escred lone\uFFFD ok\u{1F600}`,
      '    │ last line',
      '    log: /runs/r1/logs/etl__bad.sh.log',
      '  ⏱ etl/slow.py timed out after 2.00s (SIGKILL after SIGTERM was ignored)',
      '    log: /runs/r1/logs/etl__slow.py.log',
    ]);
  });

  it('counts cached steps in the totals, each folder and the last line', () => {
    const cached = renderFinalSummary(
      makeSummary([makeStep({ id: 'build/a.sh', status: 'cached' }), makeStep({ id: 'build/b.sh' })], { durationMs: 1200 }),
    ).split('\n');
    expect(cached[0]).toBe('Run nightly succeeded in 1.20s: 2 steps, 1 succeeded, 1 cached, 0 failed, 0 timed out, 0 cancelled, 0 skipped');
    expect(cached).toContain('  PASS build 2/2 (1 cached)');
    expect(cached.at(-2)).toBe('1 passed, 1 cached in 1.20s');
  });

  it('a failure with continue_on_error is said apart everywhere, and its folder passes', () => {
    const lines = renderFinalSummary(
      makeSummary(
        [
          makeStep({ id: 'optional.sh', status: 'failed', reason: 'exit-non-zero', message: 'exited with code 5', exitCode: 5, continuedOnError: true }),
          makeStep({ id: 'next.sh' }),
        ],
        { status: 'succeeded', durationMs: 1200 },
      ),
    ).split('\n');
    expect(lines[0]).toBe('Run nightly succeeded in 1.20s: 2 steps, 1 succeeded, 1 failed (continue_on_error), 0 timed out, 0 cancelled, 0 skipped');
    expect(lines).toContain('  PASS . 1/2 (1 failed with continue_on_error)');
    expect(lines).toContain('  ✗ optional.sh exited with code 5 (continue_on_error: the run went on)');
    expect(lines.at(-2)).toBe('1 passed, 1 failed (continue_on_error) in 1.20s');
  });

  it('says "1 step", not "1 steps"', () => {
    const one = renderFinalSummary(makeSummary([makeStep({ id: 'a.sh' })], { durationMs: 1200 })).split('\n');
    expect(one[0]).toBe('Run nightly succeeded in 1.20s: 1 step, 1 succeeded, 0 failed, 0 timed out, 0 cancelled, 0 skipped');
  });

  it('shows a folder whose steps were all skipped as SKIPPED, not as a pass of 0/0', () => {
    const folders = renderFinalSummary(
      makeSummary([
        makeStep({ id: 'legacy/a.sh', status: 'skipped', reason: 'skipped-by-config', startedAt: null, durationMs: 0 }),
        makeStep({ id: 'legacy/b.sh', status: 'skipped', reason: 'skipped-by-config', startedAt: null, durationMs: 0 }),
        makeStep({ id: 'main/c.sh' }),
      ]),
    )
      .split('\n')
      .filter((line) => /^ {2}[A-Z]+ /.test(line));
    expect(folders).toEqual(['  SKIPPED legacy (2 steps skipped)', '  PASS main 1/1']);
  });

  it('leaves cached steps out of the slowest list: they did not run', () => {
    const lines = renderFinalSummary(
      makeSummary([makeStep({ id: 'restored.sh', status: 'cached', durationMs: 0 }), makeStep({ id: 'ran.sh', durationMs: 30 })]),
    ).split('\n');
    const start = lines.indexOf('Slowest');
    expect(lines.slice(start + 1, lines.indexOf('', start))).toEqual(['  30ms  ran.sh']);
  });

  it('is short for a run that passed and coloured when asked', () => {
    const ok = renderFinalSummary(makeSummary([makeStep({ id: 'a.sh' })], { durationMs: 1200 }), { color: true });
    expect(ok).toMatch(ANSI);
    expect(ok).not.toContain('Failures');
    expect(stripVTControlCharacters(ok).trimEnd().split('\n').at(-1)).toBe('1 passed in 1.20s');
  });
});
