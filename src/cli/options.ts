import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../core/duration.js';
import type { FailurePolicy } from '../core/spec.js';

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
