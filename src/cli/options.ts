import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../core/duration.js';
import type { FailurePolicy } from '../core/spec.js';
import type { RunRecordStatus } from '../store/run-store.js';

/** `--timeout 90`, `--timeout 2m`: milliseconds. */
export function durationOption(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) {
    throw new InvalidArgumentError(`Expected a number of seconds or a duration such as 90s, 2m or 500ms, got \`${value}\`.`);
  }
  return ms;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`Expected a positive integer, got \`${value}\`.`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`Expected a non-negative integer, got \`${value}\`.`);
  return n;
}

/** Repeatable and comma-separated: `-s a,b -s c` gives `[a, b, c]`. */
export function listOption(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}

export function failFastOption(value: string | boolean): FailurePolicy {
  if (value === true || value === 'no-new') return 'no-new';
  if (value === 'kill' || value === 'continue') return value;
  throw new InvalidArgumentError(`Expected \`no-new\` or \`kill\`, got \`${String(value)}\`.`);
}

export const REPORTERS = ['console', 'json', 'markdown', 'junit'] as const;
export type Reporter = (typeof REPORTERS)[number];

export function reporterOption(value: string, previous: Reporter[] | undefined): Reporter[] {
  const list = listOption(value, undefined);
  for (const item of list) {
    if (!(REPORTERS as readonly string[]).includes(item)) {
      throw new InvalidArgumentError(`Expected any of ${REPORTERS.join(', ')}, got \`${item}\`.`);
    }
  }
  return [...(previous ?? []), ...(list as Reporter[])];
}

const AGE_UNITS: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/**
 * `--older-than 30d`: milliseconds. A unit is required (w, d, h, m, s, or several: `1d12h`): a bare
 * `30` read as seconds once pruned every run of a user who meant days.
 */
export function ageOption(value: string): number {
  const text = value.trim();
  const re = /(\d+(?:\.\d+)?)([wdhms])/y;
  let total = 0;
  let match: RegExpExecArray | null;
  while (re.lastIndex < text.length && (match = re.exec(text)) !== null) {
    total += Number(match[1]) * (AGE_UNITS[match[2] ?? ''] ?? 0);
  }
  if (text === '' || re.lastIndex !== text.length) {
    throw new InvalidArgumentError(`Expected an age with a unit (w, d, h, m or s) such as 30d, 12h or 90m, got \`${value}\`.`);
  }
  return Math.round(total);
}

/** What a recorded run's status can be, in the order `orchestrator runs --help` lists them. */
export const RUN_RECORD_STATUSES = ['running', 'succeeded', 'failed', 'timed-out', 'cancelled', 'interrupted'] as const satisfies readonly RunRecordStatus[];

/** `--status failed,interrupted`: repeatable and comma-separated, each one a run status. */
export function runStatusOption(value: string, previous: RunRecordStatus[] | undefined): RunRecordStatus[] {
  const list = listOption(value, undefined);
  for (const item of list) {
    if (!(RUN_RECORD_STATUSES as readonly string[]).includes(item)) {
      throw new InvalidArgumentError(`Expected any of ${RUN_RECORD_STATUSES.join(', ')}, got \`${item}\`.`);
    }
  }
  return [...(previous ?? []), ...(list as RunRecordStatus[])];
}
