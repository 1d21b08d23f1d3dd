import { describeValue } from './describe-value.js';

/**
 * What is wrong with an environment variable name, or undefined: a name cannot be empty, and `=`
 * or a null byte in it would set another variable (`A=B` sets `A`) or fail the step at start.
 */
export function envNameProblem(name: string): string | undefined {
  if (name === '') return `expected a variable name, got ${describeValue(name)}`;
  if (name.includes('=')) return `expected a variable name without "=", got ${describeValue(name)}`;
  if (name.includes('\0')) return `expected a variable name without null bytes, got ${describeValue(name)}`;
  return undefined;
}

/** What is wrong with an environment variable's value, or undefined: it cannot hold a null byte. */
export function envValueProblem(value: unknown): string | undefined {
  if (typeof value === 'string' && value.includes('\0')) return `expected a value without null bytes, got ${describeValue(value)}`;
  return undefined;
}
