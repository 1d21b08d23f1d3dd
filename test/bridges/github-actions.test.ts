import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  detectCi,
  escapeCommandData,
  escapeCommandProperty,
  githubAnnotations,
  groupLines,
  isGitHubActions,
  writeStepSummary,
} from '../../src/bridges/github-actions.js';
import { renderMarkdownReport } from '../../src/reporters/markdown-report.js';
import { makeStep, makeSummary, mixedSummary } from '../reporters/summary-factory.js';

describe('CI detection', () => {
  it('recognises GitHub Actions only by GITHUB_ACTIONS=true', () => {
    expect(isGitHubActions({ GITHUB_ACTIONS: 'true' })).toBe(true);
    expect(isGitHubActions({ GITHUB_ACTIONS: 'false' })).toBe(false);
    expect(isGitHubActions({})).toBe(false);
  });

  it('names the provider from its environment variables', () => {
    expect(detectCi({ GITHUB_ACTIONS: 'true', CI: 'true' })).toBe('github');
    expect(detectCi({ GITLAB_CI: 'true', CI: 'true' })).toBe('gitlab');
    expect(detectCi({ JENKINS_URL: 'https://ci.example.com/' })).toBe('jenkins');
    expect(detectCi({ CI: 'true' })).toBe('generic');
    expect(detectCi({ CI: '1' })).toBe('generic');
  });

  it('returns null outside CI, including CI=false', () => {
    expect(detectCi({})).toBeNull();
    expect(detectCi({ CI: 'false' })).toBeNull();
    expect(detectCi({ CI: '' })).toBeNull();
    expect(detectCi({ GITHUB_ACTIONS: 'false' })).toBeNull();
  });
});

describe('githubAnnotations', () => {
  const annotations = githubAnnotations(mixedSummary());

  it('writes ::error for failed and timed-out steps and ::warning for cancelled ones', () => {
    expect(annotations.map((line) => line.slice(0, line.indexOf(' ')))).toEqual(['::error', '::error', '::warning']);
    expect(annotations.join('\n')).not.toContain('old.sh');
    expect(annotations.join('\n')).not.toContain('load.py');
  });

  it('puts the file, relative to the run source, and the id and reason in the title', () => {
    expect(annotations[0]).toMatch(
      /^::error file=scripts\/etl\/bad\.sh,title=etl\/bad\.sh exited with code 3::etl\/bad\.sh exited with code 3%0Alog: \/runs\/r1\/logs\/etl__bad\.sh\.log%0A%0A/,
    );
    expect(annotations[1]).toMatch(/^::error file=scripts\/etl\/slow\.py,title=etl\/slow\.py timed out after 2\.00s/);
    expect(annotations[2]).toMatch(/^::warning file=scripts\/reports\/x\.sh,title=reports\/x\.sh cancelled%3A the run/);
  });

  it('keeps each annotation on one line with the end of stderr in it', () => {
    for (const line of annotations) expect(line).not.toMatch(/[\r\n]/);
    expect(annotations[0]).toContain('%0Alast line');
    expect(annotations[0]).toContain('err 11');
    expect(annotations[0]).not.toContain('err 10%0A');
    expect(annotations[0]).not.toContain('\u0007');
  });

  it('escapes %, CR and LF in the message and also : and , in properties', () => {
    const [line] = githubAnnotations(
      makeSummary([
        makeStep({
          id: 'a,b:c%.sh',
          path: 'a,b:c%.sh',
          status: 'failed',
          reason: 'exit-non-zero',
          message: '100% bad: yes,\r\nreally',
          exitCode: 1,
          logPath: null,
        }),
      ], { source: null }),
    );
    expect(line).toBe(
      '::error file=a%2Cb%3Ac%25.sh,title=a%2Cb%3Ac%25.sh 100%25 bad%3A yes%2C%0D%0Areally::a,b:c%25.sh 100%25 bad: yes,%0D%0Areally',
    );
    expect(escapeCommandData('50%\n')).toBe('50%25%0A');
    expect(escapeCommandProperty('a:b,c')).toBe('a%3Ab%2Cc');
  });

  it('uses pathPrefix when given and leaves out file= for steps without a path', () => {
    const summary = makeSummary([
      makeStep({ id: 'x.sh', status: 'failed', reason: 'exit-non-zero', exitCode: 2 }),
      makeStep({ id: 'cmd', path: undefined, status: 'failed', reason: 'exit-non-zero', exitCode: 2 }),
    ], { source: '/abs/scripts' });
    expect(githubAnnotations(summary)[0]).toMatch(/^::error file=x\.sh,title=/);
    expect(githubAnnotations(summary, { pathPrefix: 'tools/jobs' })[0]).toMatch(/^::error file=tools\/jobs\/x\.sh,/);
    expect(githubAnnotations(summary)[1]).toMatch(/^::error title=cmd exited with code 2::/);
  });

  it('writes ::warning, not ::error, for a failure the run went on from (continue_on_error)', () => {
    const summary = makeSummary([
      makeStep({ id: 'optional', status: 'failed', reason: 'exit-non-zero', exitCode: 5, continuedOnError: true }),
      makeStep({ id: 'next' }),
    ]);
    const [line, ...rest] = githubAnnotations(summary);
    expect(rest).toEqual([]);
    expect(line).toMatch(/^::warning file=scripts\/optional,title=optional /);
  });

  it('writes nothing for a run that passed', () => {
    expect(githubAnnotations(makeSummary([makeStep({ id: 'ok.sh' })]))).toEqual([]);
  });
});

describe('groupLines', () => {
  it('wraps lines in ::group:: and ::endgroup::', () => {
    expect(groupLines('etl/load.py: output', ['a', 'b'])).toEqual(['::group::etl/load.py: output', 'a', 'b', '::endgroup::']);
  });

  it('stops workflow commands when a line could be read as one', () => {
    const out = groupLines('output', ['fine', '::add-mask::x', '  ::error::spoofed']);
    expect(out[0]).toBe('::group::output');
    const stop = /^::stop-commands::(.+)$/.exec(out[1] ?? '');
    expect(stop).not.toBeNull();
    expect(out.slice(2, 5)).toEqual(['fine', '::add-mask::x', '  ::error::spoofed']);
    expect(out[5]).toBe(`::${stop?.[1] ?? ''}::`);
    expect(out[6]).toBe('::endgroup::');
  });
});

describe('writeStepSummary', () => {
  it('appends the Markdown report to GITHUB_STEP_SUMMARY', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'step-summary-'));
    try {
      const file = path.join(dir, 'step_summary.md');
      await writeFile(file, '# Earlier step\n\n');
      const env = { GITHUB_STEP_SUMMARY: file };
      expect(await writeStepSummary(mixedSummary(), env)).toBe(file);
      const text = await readFile(file, 'utf8');
      expect(text).toBe(`# Earlier step\n\n${renderMarkdownReport(mixedSummary())}\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does nothing without GITHUB_STEP_SUMMARY', async () => {
    expect(await writeStepSummary(mixedSummary(), {})).toBeNull();
    expect(await writeStepSummary(mixedSummary(), { GITHUB_STEP_SUMMARY: '' })).toBeNull();
  });

  it('keeps a huge summary under GitHub’s 1 MiB limit', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'step-summary-'));
    try {
      const file = path.join(dir, 'step_summary.md');
      const steps = Array.from({ length: 8000 }, (_, i) =>
        makeStep({ id: `s${i}-${'x'.repeat(100)}.sh`, status: 'skipped', reason: 'skipped-by-config', message: 'skipped by config: '.padEnd(100, 'y') }),
      );
      await writeStepSummary(makeSummary(steps), { GITHUB_STEP_SUMMARY: file });
      const text = await readFile(file, 'utf8');
      expect(Buffer.byteLength(text)).toBeLessThan(1024 * 1024);
      expect(text).toContain('_Summary truncated');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('closes a fenced block that the truncation cut in two, with the same fence', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'step-summary-'));
    try {
      const file = path.join(dir, 'step_summary.md');
      // One failure whose stderr (in a ```` fence, as it holds ```) runs past the limit.
      const stderr = `${'e'.repeat(150_000)} \`\`\`\n`.repeat(10);
      const step = makeStep({ id: 'big.sh', status: 'failed', exitCode: 1, reason: 'exit-non-zero', stderrTail: stderr });
      const summary = makeSummary([step]);
      expect(renderMarkdownReport(summary)).toContain('````text\n');
      await writeStepSummary(summary, { GITHUB_STEP_SUMMARY: file });
      const text = await readFile(file, 'utf8');
      expect(Buffer.byteLength(text)).toBeLessThan(1024 * 1024);
      const before = text.slice(0, text.indexOf('_Summary truncated'));
      // The block is closed with four backticks before the note, so the note is Markdown again.
      expect(before.trimEnd().split('\n').at(-1)).toBe('````');
      expect(before.split('\n').filter((line) => /^`{3,}/.test(line)).slice(-2)).toEqual(['````text', '````']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
