import { stripVTControlCharacters } from 'node:util';
import { isContinuedFailure, type RunSummary, type StepResult } from '../core/result.js';
import { unreachable } from '../util/unreachable.js';
import { countByGroup } from './group-counts.js';
import { lastLines } from './last-lines.js';
import { exitDescription, stepMessage } from './step-message.js';
import { writeReportFile } from './write-report-file.js';

// Everything outside XML 1.0's Char production: C0 controls other than tab, LF and CR, lone
// surrogates (the `u` flag makes a valid pair one code point, so only lone halves match), and
// U+FFFE/U+FFFF. A single one of these makes the whole file unreadable to every parser.
const INVALID_XML_CHARS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Removes terminal colour codes and every character XML 1.0 cannot hold. */
export function toXmlSafeText(text: string): string {
  return stripVTControlCharacters(text).replace(INVALID_XML_CHARS, '');
}

/** Escapes text content. `>` is escaped too, so `]]>` can never appear. */
export function escapeXmlText(text: string): string {
  return toXmlSafeText(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    // A parser turns a raw CR (or CRLF) into LF; the reference keeps it.
    .replace(/\r/g, '&#13;');
}

/** Escapes an attribute value; tab and line breaks are kept as references, not normalised to spaces. */
export function escapeXmlAttribute(text: string): string {
  return escapeXmlText(text)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;');
}

function attributes(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => ` ${key}="${escapeXmlAttribute(String(value))}"`)
    .join('');
}

/** Lines of stderr in a `<failure>` body; `<system-err>` holds the whole tail. */
export const JUNIT_FAILURE_STDERR_LINES = 20;

const seconds = (ms: number) => (Math.max(0, ms) / 1000).toFixed(3);

/** Jenkins' schema wants `xs:dateTime` without a zone; the value is UTC. */
function junitTimestamp(iso: string | null | undefined): string | undefined {
  if (iso === null || iso === undefined) return undefined;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().slice(0, 19);
}

/**
 * Renders the run as JUnit XML in the common Jenkins-style schema, which GitHub test-report
 * actions, GitLab and Jenkins all read: one `<testsuite>` per folder and one `<testcase>` per step.
 * Failed and timed-out steps get `<failure>` (`type` is the failure reason, e.g. `exit-non-zero` or
 * `timed-out`); skipped and cancelled steps get `<skipped>`, and so do failures of steps with
 * `continue_on_error` (the message says they failed), so `failures` counts exactly the steps that
 * fail the run. `errors` is always 0.
 * @see docs/reports.md
 */
export function renderJUnit(summary: RunSummary): string {
  const { counts } = summary;
  const continued = summary.steps.filter(isContinuedFailure).length;
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites${attributes({
      name: summary.name,
      tests: counts.total,
      failures: counts.failed + counts['timed-out'] - continued,
      errors: 0,
      skipped: counts.skipped + counts.cancelled + continued,
      time: seconds(summary.durationMs),
      timestamp: junitTimestamp(summary.startedAt),
    })}>`,
  );
  let id = 0;
  for (const [group, c] of countByGroup(summary.steps)) {
    const steps = summary.steps.filter((step) => step.group === group);
    const started = steps
      .map((step) => step.startedAt)
      .filter((time): time is string => time !== null)
      .sort()[0];
    out.push(
      `  <testsuite${attributes({
        name: group,
        tests: c.total,
        failures: c.failed + c['timed-out'] - c.continuedOnError,
        errors: 0,
        skipped: c.skipped + c.cancelled + c.continuedOnError,
        time: seconds(steps.reduce((sum, step) => sum + step.durationMs, 0)),
        timestamp: junitTimestamp(started ?? summary.startedAt),
        id: id++,
      })}>`,
    );
    for (const step of steps) out.push(...renderTestCase(step));
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

function renderTestCase(step: StepResult): string[] {
  const open = `    <testcase${attributes({
    name: step.id,
    classname: step.group,
    time: seconds(step.durationMs),
    file: step.path,
  })}`;
  const children: string[] = [];
  const message = stepMessage(step);
  switch (step.status) {
    case 'failed':
    case 'timed-out': {
      if (isContinuedFailure(step)) {
        // Not <failure>: CI test views fail the build on any failure, and this step did not fail
        // the run. <skipped> keeps it visible (GitHub, GitLab and Jenkins list skipped tests with
        // their message) without turning a green run red; its output stays in system-out/err.
        children.push(`      <skipped${attributes({ message: `${step.status} (continue_on_error): ${message}` })}/>`);
        break;
      }
      const details = [
        `${step.id} ${message}`,
        `exit: ${exitDescription(step)}`,
        ...(step.logPath === null ? [] : [`log: ${step.logPath}`]),
      ];
      const tail = lastLines(step.stderrTail, JUNIT_FAILURE_STDERR_LINES);
      const stderr = tail === '' ? '' : `\n\nLast lines of stderr:\n${tail}`;
      children.push(
        `      <failure${attributes({ message, type: step.reason ?? step.status })}>${escapeXmlText(
          details.join('\n') + stderr,
        )}</failure>`,
      );
      break;
    }
    case 'skipped':
    case 'cancelled':
      children.push(`      <skipped${attributes({ message })}/>`);
      break;
    case 'succeeded':
    case 'cached':
      break;
    default:
      unreachable(step.status);
  }
  if (step.stdoutTail !== '') children.push(`      <system-out>${escapeXmlText(step.stdoutTail)}</system-out>`);
  if (step.stderrTail !== '') children.push(`      <system-err>${escapeXmlText(step.stderrTail)}</system-err>`);
  if (children.length === 0) return [`${open}/>`];
  return [`${open}>`, ...children, '    </testcase>'];
}

/** Writes `<dir>/junit.xml` and returns its path. */
export async function writeJUnitReport(summary: RunSummary, dir: string): Promise<string> {
  return writeReportFile(dir, 'junit.xml', renderJUnit(summary));
}
