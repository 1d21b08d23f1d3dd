import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { StepSpec } from '../core/spec.js';

const sha = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

/**
 * What goes into a step's cache key, part by part, each part hashed: which step it is (workflow
 * name and step id) and where it runs (its working folder, a script's path), the command (or the
 * script's content and interpreter, or the function's module content and target), its arguments,
 * each declared environment variable, each declared input file, and each dependency's outputs.
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

/** What differs between an earlier key's parts and this one's, in words a person can act on. */
export function explainChange(before: Readonly<Record<string, string>> | undefined, now: Readonly<Record<string, string>>): string[] {
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
  for (const key of Object.keys(now).sort()) {
    if (!(key in before)) lines.push(`${describe(key)} added`);
    else if (before[key] !== now[key]) lines.push(`${describe(key)} changed`);
  }
  for (const key of Object.keys(before).sort()) if (!(key in now)) lines.push(`${describe(key)} removed`);
  return lines.length > 0 ? lines : ['nothing changed, but the entry was missing'];
}
