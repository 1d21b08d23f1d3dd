import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { StepSpec } from '../core/spec.js';

const sha = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

/** The variables that carry the outputs of a step's needs (`ORCHESTRATOR_OUTPUT_<STEP>_<KEY>`). */
const OUTPUT_ENV_PREFIX = 'ORCHESTRATOR_OUTPUT_';

/**
 * What goes into a step's cache key, part by part, each part hashed: which step it is (workflow
 * name and step id) and where it runs (its working folder, a script's path), the command (or the
 * script's content and interpreter, or the function's module content and target), its arguments,
 * each environment variable it declares (its `env`, with the workflow's and the defaults') or
 * names in `cache.env`, each declared input file, and each dependency's outputs.
 * Kept apart so a miss can say which part changed. Two steps never share an entry: identical
 * scripts in two folders (or two projects sharing a state folder) do not stand in for each other.
 */
export async function cacheComponents(
  step: StepSpec,
  env: NodeJS.ProcessEnv,
  needsOutputs: Readonly<Record<string, Record<string, string>>>,
  workflow: string,
): Promise<Record<string, string>> {
  const parts: Record<string, string> = { kind: step.kind, step: sha(`${workflow}\0${step.id}`), cwd: sha(path.resolve(step.cwd)) };
  switch (step.kind) {
    case 'command':
      parts.command = sha(`${step.shell ?? '/bin/sh'}\0${step.command}`);
      break;
    case 'script':
      parts.path = sha(path.resolve(step.path));
      parts.script = sha(await readFile(step.path).catch(() => Buffer.from('<missing>')));
      parts.args = sha(JSON.stringify(step.args));
      if (step.interpreter) parts.interpreter = sha(step.interpreter.join('\0'));
      break;
    case 'module':
      parts.module = sha(await readFile(step.module).catch(() => Buffer.from('<missing>')));
      parts.args = sha(JSON.stringify([step.export, step.args]));
      break;
    case 'python':
      parts.args = sha(JSON.stringify([step.target, step.args, step.kwargs]));
      break;
    case 'function':
      // The function's source is the best identity an in-process function has.
      parts.function = sha(step.fn.toString());
      break;
    case 'workflow':
      parts.workflow = sha(JSON.stringify(step.workflow, (_k, v: unknown) => (typeof v === 'function' ? String(v) : v)));
      break;
  }
  // The environment the step declares (the workflow's `env`, `defaults.env`, its own `env`): each
  // value is written in the file and changes what the step does, so each is part of the key,
  // hashed (values may be secrets; a miss names only the variable). The outputs of its needs,
  // which also reach it as variables, are their own part below.
  for (const [name, value] of Object.entries(step.env)) {
    if (!name.startsWith(OUTPUT_ENV_PREFIX)) parts[`env:${name}`] = sha(value);
  }
  // Variables from the orchestrator's own environment count only when the step names them.
  for (const name of step.cache?.env ?? []) parts[`env:${name}`] = sha(step.env[name] ?? env[name] ?? '<unset>');
  if (step.cache && step.cache.inputs.length > 0) {
    // (Loaded here: only steps with declared input files need it, and it costs every start ~5 ms.)
    const { glob } = await import('tinyglobby');
    const files = await glob(step.cache.inputs.map(escapeUnclosedBrackets), { cwd: step.cwd, dot: true, onlyFiles: true });
    for (const file of files.sort()) {
      parts[`file:${file}`] = sha(await readFile(path.join(step.cwd, file)).catch(() => Buffer.from('<unreadable>')));
    }
  }
  for (const need of Object.keys(needsOutputs).sort()) parts[`needs:${need}`] = sha(JSON.stringify(needsOutputs[need]));
  return parts;
}

/**
 * `[` escaped where no `]` closes it within its path segment, so it is matched literally, as
 * picomatch reads it anyway. tinyglobby appends `/**` to a pattern (to take in a folder's files)
 * and an unclosed `[` swallowed that `/`: the pattern became one segment with a `/` in it, which
 * its folder pruning takes to match every folder, so it read every folder under the patterns'
 * common root: with an absolute input beside it (`/etc/hosts`, `*.csv[`), the whole file system,
 * until the heap ran out.
 */
export function escapeUnclosedBrackets(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? '';
    if (char === '\\') {
      out += pattern.slice(i, i + 2);
      i++;
      continue;
    }
    if (char === '[' && !closesInSegment(pattern, i)) {
      out += '\\[';
      continue;
    }
    out += char;
  }
  return out;
}

/** Whether the `[` at `open` has a `]` after it before the next `/` (a `]` first in the class counts as a member). */
function closesInSegment(pattern: string, open: number): boolean {
  let i = open + 1;
  if (pattern[i] === '!' || pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  for (; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '/') return false;
    if (char === '\\') i++;
    else if (char === ']') return true;
  }
  return false;
}

/** The key itself: one hash over every part, in a fixed order. */
export function cacheKey(components: Readonly<Record<string, string>>): string {
  const text = Object.keys(components)
    .sort()
    .map((k) => `${k}=${components[k] ?? ''}`)
    .join('\n');
  return sha(text);
}

/**
 * What a person can read about the parts of a key that are not secret, next to the hashed parts,
 * so a miss can say what changed and not only that it did: the command and shell, a script's path
 * (as written) and interpreter, the arguments (JSON), a module's path and export, a Python target
 * and keyword arguments, and per dependency which output names it had (each with a short hash of
 * its value, never the value). Environment variable values are never kept: `cache.env` parts stay
 * hashes alone. None of it goes into the key.
 */
export function cacheDetails(step: StepSpec, needsOutputs: Readonly<Record<string, Record<string, string>>>): Record<string, string> {
  const details: Record<string, string> = {};
  switch (step.kind) {
    case 'command':
      details.command = step.command;
      details.shell = step.shell ?? '/bin/sh';
      break;
    case 'script':
      details.path = step.relativePath || step.path;
      details.args = JSON.stringify(step.args);
      if (step.interpreter) details.interpreter = JSON.stringify(step.interpreter);
      break;
    case 'module':
      details.module = path.relative(step.cwd, step.module) || step.module;
      details.export = step.export;
      details.args = JSON.stringify(step.args);
      break;
    case 'python':
      details.target = step.target;
      details.args = JSON.stringify(step.args);
      details.kwargs = JSON.stringify(step.kwargs);
      break;
    case 'function':
    case 'workflow':
      break;
  }
  for (const need of Object.keys(needsOutputs).sort()) {
    const outputs = needsOutputs[need] ?? {};
    const names: Record<string, string> = {};
    for (const name of Object.keys(outputs).sort()) names[name] = sha(outputs[name] ?? '').slice(0, 16);
    details[`needs:${need}`] = JSON.stringify(names);
  }
  return details;
}

/** The longest a value is shown in an explanation before it is cut with `…`. */
const SHOWN = 80;
/** At most this many argument lines; the rest are counted. */
const MAX_ARGUMENT_LINES = 5;

/**
 * What differs between an earlier key's parts and this one's, in words a person can act on. With
 * the earlier entry's details (entries from before they were kept have none) and this key's, a
 * change names what changed, like a diff: `argument 3 changed: "3" -> "4"`, `command changed:
 * "make build" -> "make build -j4"`, the script file whose content changed, a dependency's output
 * names. Without them it says which part changed (`arguments changed`).
 */
export function explainChange(
  before: Readonly<Record<string, string>> | undefined,
  now: Readonly<Record<string, string>>,
  beforeDetails?: Readonly<Record<string, string>>,
  nowDetails?: Readonly<Record<string, string>>,
): string[] {
  if (!before) return ['no cache entry for this step yet'];
  const lines: string[] = [];
  const describe = (key: string): string => {
    if (key.startsWith('file:')) return `input file ${key.slice(5)}`;
    if (key.startsWith('env:')) return `environment variable ${key.slice(4)}`;
    if (key.startsWith('needs:')) return `outputs of dependency ${key.slice(6)}`;
    if (key === 'cwd') return 'working folder';
    if (key === 'path') return 'script path';
    if (key === 'step') return 'step (workflow name or id)';
    return key === 'args' ? 'arguments' : key;
  };
  for (const { name, change } of keyChanges(before, now)) {
    if (change === 'changed') lines.push(...(describeChange(name, beforeDetails ?? {}, nowDetails ?? {}) ?? [`${describe(name)} changed`]));
    else lines.push(`${describe(name)} ${change}`);
  }
  return lines.length > 0 ? lines : ['nothing changed, but the entry was missing'];
}

/**
 * The keys of `now` that are not in `before` (added) or hold another value (changed), in sorted
 * order, then the keys of `before` that are gone (removed).
 */
function keyChanges(
  before: Readonly<Record<string, unknown>>,
  now: Readonly<Record<string, unknown>>,
  same: (a: unknown, b: unknown) => boolean = (a, b) => a === b,
): { name: string; change: 'added' | 'changed' | 'removed' }[] {
  const changes: { name: string; change: 'added' | 'changed' | 'removed' }[] = [];
  for (const name of Object.keys(now).sort()) {
    if (!(name in before)) changes.push({ name, change: 'added' });
    else if (!same(before[name], now[name])) changes.push({ name, change: 'changed' });
  }
  for (const name of Object.keys(before).sort()) if (!(name in now)) changes.push({ name, change: 'removed' });
  return changes;
}

/** The lines for one changed part from the details, or undefined when they cannot say more. */
function describeChange(key: string, before: Readonly<Record<string, string>>, now: Readonly<Record<string, string>>): string[] | undefined {
  // Content is hashed, not kept: name the file (its path is this key's, the same as before or
  // reported as a changed path).
  if (key === 'script') return now.path === undefined ? undefined : [`script content changed (${now.path})`];
  if (key === 'module') return now.module === undefined ? undefined : [`module content changed (${now.module})`];
  const changed = (name: string, label: string): string[] => {
    const a = before[name];
    const b = now[name];
    return a === undefined || b === undefined || a === b ? [] : [`${label} changed: ${shownPair(a, b)}`];
  };
  let lines: string[] = [];
  switch (key) {
    case 'command':
      lines = [...changed('command', 'command'), ...changed('shell', 'shell')];
      break;
    case 'path':
      lines = changed('path', 'script path');
      break;
    case 'interpreter':
      lines = listChange(before.interpreter, now.interpreter, 'interpreter');
      break;
    case 'args':
      lines = [
        ...changed('export', 'export'),
        ...changed('target', 'target'),
        ...argumentLines(parsed(before.args), parsed(now.args)),
        ...keywordLines(parsed(before.kwargs), parsed(now.kwargs)),
      ];
      break;
    default:
      if (key.startsWith('needs:')) lines = outputLines(key.slice(6), parsed(before[key]), parsed(now[key]));
  }
  return lines.length > 0 ? lines : undefined;
}

function parsed(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** An interpreter (an argument list) before and after, as one command prefix each. */
function listChange(before: string | undefined, now: string | undefined, label: string): string[] {
  const a = parsed(before);
  const b = parsed(now);
  if (!Array.isArray(a) || !Array.isArray(b)) return [];
  const text = (list: unknown[]): string => list.map(String).join(' ');
  return text(a) === text(b) ? [] : [`${label} changed: ${shownPair(text(a), text(b))}`];
}

/**
 * Argument by argument, numbered from 1: what is the same at the start and at the end is left out,
 * the rest is paired up as changed, and what is left over is added (numbered as now) or removed
 * (numbered as before).
 */
function argumentLines(before: unknown, now: unknown): string[] {
  if (!Array.isArray(before) || !Array.isArray(now)) return [];
  const a = before.map(shownJson);
  const b = now.map(shownJson);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  const lines: string[] = [];
  const changedCount = Math.min(a.length, b.length) - start - end;
  for (let i = 0; i < changedCount; i++) lines.push(`argument ${start + i + 1} changed: ${shownPair(a[start + i] ?? '', b[start + i] ?? '', false)}`);
  for (let i = start + changedCount; i < b.length - end; i++) lines.push(`argument ${i + 1} added: ${shown(b[i] ?? '')}`);
  for (let i = start + changedCount; i < a.length - end; i++) lines.push(`argument ${i + 1} removed: ${shown(a[i] ?? '')}`);
  if (lines.length > MAX_ARGUMENT_LINES) {
    const more = lines.length - (MAX_ARGUMENT_LINES - 1);
    return [...lines.slice(0, MAX_ARGUMENT_LINES - 1), `… and ${more} more argument changes`];
  }
  return lines;
}

/** A Python step's keyword arguments, by name. */
function keywordLines(before: unknown, now: unknown): string[] {
  if (!isRecord(before) || !isRecord(now)) return [];
  return keyChanges(before, now, (a, b) => shownJson(a) === shownJson(b)).map(({ name, change }) => {
    if (change === 'added') return `keyword argument ${name} added: ${shown(shownJson(now[name]))}`;
    if (change === 'changed') return `keyword argument ${name} changed: ${shownPair(shownJson(before[name]), shownJson(now[name]), false)}`;
    return `keyword argument ${name} removed`;
  });
}

/** A dependency's outputs by name only: values may be anything, so they are never shown. */
function outputLines(need: string, before: unknown, now: unknown): string[] {
  if (!isRecord(before) || !isRecord(now)) return [];
  const parts = keyChanges(before, now).map(({ name, change }) => `${name} ${change}`);
  return parts.length > 0 ? [`outputs of dependency ${need} changed: ${parts.join(', ')}`] : [];
}

/** An argument as JSON: strings quoted, numbers and objects as written. */
function shownJson(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** A value cut to {@link SHOWN} characters with `…`. */
function shown(text: string): string {
  return text.length > SHOWN ? `${text.slice(0, SHOWN - 1)}…` : text;
}

/**
 * `"before" -> "after"`, quoted (as JSON, so a newline shows as `\n`) unless already JSON. When
 * either is long, both are cut to a window that starts a little before the first character that
 * differs, so the change is in sight.
 */
function shownPair(before: string, now: string, quote = true): string {
  const a = quote ? JSON.stringify(before) : before;
  const b = quote ? JSON.stringify(now) : now;
  if (a.length <= SHOWN && b.length <= SHOWN) return `${a} -> ${b}`;
  let first = 0;
  while (first < a.length && first < b.length && a[first] === b[first]) first++;
  const from = first > SHOWN / 2 ? first - 20 : 0;
  const window = (text: string): string => {
    const cut = text.slice(from, from + SHOWN - (from > 0 ? 1 : 0));
    return `${from > 0 ? '…' : ''}${cut}${from + cut.length < text.length ? '…' : ''}`;
  };
  return `${window(a)} -> ${window(b)}`;
}
