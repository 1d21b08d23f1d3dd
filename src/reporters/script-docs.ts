import { compareText } from './group-counts.js';
import { escapeMarkdownText, fencedBlock, inlineCode } from './markdown-syntax.js';

/** One script to document: what discovery found, plus its description and `--help` output. */
export interface ScriptDocEntry {
  relativePath: string;
  group: string;
  kind: string;
  description?: string;
  help?: string;
  /** Why `--help` could not be read (it failed, timed out, or was not tried). */
  helpError?: string;
}

export interface ScriptDocOptions {
  /** @default 'Scripts' */
  title?: string;
  /** @default new Date() */
  generatedAt?: Date;
}

/**
 * Renders Markdown documentation for a folder of scripts: a title, when it was generated, a
 * contents list by folder with links, then one `## folder` section per folder and one
 * `### path` section per script with its kind, description and fenced `--help` output.
 */
export function renderScriptDocumentation(
  entries: readonly ScriptDocEntry[],
  options: ScriptDocOptions = {},
): string {
  const title = options.title ?? 'Scripts';
  const generatedAt = options.generatedAt ?? new Date();
  const slugs = new Slugger();
  slugs.slug(title);
  slugs.slug('Contents');

  const groups = new Map<string, ScriptDocEntry[]>();
  for (const entry of [...entries].sort((a, b) => compareText(a.relativePath, b.relativePath))) {
    const list = groups.get(entry.group) ?? [];
    list.push(entry);
    groups.set(entry.group, list);
  }
  const ordered = [...groups].sort((a, b) => compareText(a[0], b[0]));

  const contents: string[] = [];
  const sections: string[] = [];
  for (const [group, scripts] of ordered) {
    const heading = group === '.' ? 'Top level' : escapeMarkdownText(group);
    const groupSlug = slugs.slug(group === '.' ? 'Top level' : group);
    contents.push(`- [${heading}](#${groupSlug})`);
    sections.push(`## ${heading}`);
    for (const script of scripts) {
      const scriptSlug = slugs.slug(script.relativePath);
      contents.push(`  - [${escapeMarkdownText(script.relativePath)}](#${scriptSlug})`);
      sections.push(...renderScript(script));
    }
  }

  const count = entries.length;
  const out = [
    `# ${escapeMarkdownText(title)}`,
    `Generated ${generatedAt.toISOString()}. ${count} ${count === 1 ? 'script' : 'scripts'} in ${
      ordered.length
    } ${ordered.length === 1 ? 'folder' : 'folders'}.`,
  ];
  if (contents.length > 0) out.push('## Contents', contents.join('\n'), ...sections);
  return `${out.join('\n\n')}\n`;
}

function renderScript(script: ScriptDocEntry): string[] {
  const out = [`### ${inlineCode(script.relativePath)}`, `**Kind:** ${escapeMarkdownText(script.kind)}`];
  const description = script.description?.trim();
  // Descriptions are the authors' own prose and render as Markdown, but a line starting with `#`
  // would become a heading and break the document's outline.
  if (description) out.push(description.replace(/^(\s{0,3})(#)/gm, '$1\\$2'));
  if (script.help !== undefined && script.help.trim() !== '') {
    out.push('`--help` output:', fencedBlock(script.help.replace(/\s+$/, ''), 'text'));
  } else if (script.helpError !== undefined) {
    out.push(`_No \`--help\` output: ${escapeMarkdownText(script.helpError)}_`);
  }
  return out;
}

/**
 * Heading anchors as GitHub (github-slugger) makes them: lower case, punctuation other than `-`
 * and `_` removed, spaces to `-`, and `-1`, `-2`, … for repeats. GitLab gives the same for paths.
 */
class Slugger {
  readonly #seen = new Map<string, number>();

  slug(text: string): string {
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    let slug = base;
    let n = this.#seen.get(base) ?? 0;
    while (this.#seen.has(slug)) slug = `${base}-${++n}`;
    this.#seen.set(base, n);
    this.#seen.set(slug, 0);
    return slug;
  }
}

/**
 * The description a script gives itself: a Python module docstring (the first statement, after an
 * optional shebang, encoding line and comments), or for shell and JavaScript/TypeScript the comment
 * block at the top after the shebang (`#` lines; `//` lines or a `/* … *\/` block). `kind` is a
 * discovery kind (`python`, `shell`, `node`, `typescript`, `executable`); an `executable` is read by
 * its shebang. Returns `undefined` when there is none.
 */
export function extractDescription(source: string, kind: string): string | undefined {
  const text = source.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const lines = text.split('\n');
  let style = commentStyle(kind);
  if (lines[0]?.startsWith('#!')) {
    if (style === 'unknown') style = commentStyle(lines[0]);
    lines.shift();
  }
  let description: string | undefined;
  switch (style) {
    case 'python':
      description = pythonDocstring(lines);
      break;
    case 'slash':
      description = slashComment(lines);
      break;
    case 'hash':
    case 'unknown':
      description = hashComment(lines);
      break;
  }
  const cleaned = description === undefined ? '' : trimBlankLines(dedent(description));
  return cleaned === '' ? undefined : cleaned;
}

function commentStyle(kindOrShebang: string): 'python' | 'slash' | 'hash' | 'unknown' {
  const k = kindOrShebang.toLowerCase();
  if (/python|^py$/.test(k)) return 'python';
  if (/node|typescript|javascript|^(js|ts|mjs|cjs|mts|cts)$|deno|bun|tsx|ts-node/.test(k)) return 'slash';
  if (/shell|bash|zsh|ksh|dash|^sh$|\bsh\b|fish/.test(k)) return 'hash';
  return 'unknown';
}

function pythonDocstring(lines: string[]): string | undefined {
  let index = 0;
  // Encoding lines are comments too; blank lines and comments may come before the docstring.
  while (index < lines.length && /^\s*(#.*)?$/.test(lines[index] ?? '')) index++;
  const rest = lines.slice(index).join('\n');
  const match = /^([rRuU]?)("""|'''|"|')/.exec(rest);
  if (match === null) return undefined;
  const raw = match[1]?.toLowerCase() === 'r';
  const quote = match[2] ?? '"""';
  let body = '';
  for (let i = match[0].length; i < rest.length; i++) {
    const char = rest[i] ?? '';
    if (char === '\\' && i + 1 < rest.length) {
      body += char + (rest[i + 1] ?? '');
      i++;
      continue;
    }
    if (rest.startsWith(quote, i)) return raw ? body : unescapePython(body);
    if (quote.length === 1 && char === '\n') return undefined;
    body += char;
  }
  return undefined;
}

function unescapePython(text: string): string {
  return text.replace(/\\(\n|\\|'|"|n|t)/g, (_, char: string) =>
    char === '\n' ? '' : char === 'n' ? '\n' : char === 't' ? '\t' : char,
  );
}

// Tool directives are not descriptions.
const DIRECTIVE = /^\s*(shellcheck\s|-\*-|vim?:|@ts-|eslint|prettier-ignore|jshint|global\s|istanbul|c8\s|biome-ignore)/;

function hashComment(lines: string[]): string | undefined {
  let index = 0;
  while (index < lines.length && (lines[index] ?? '').trim() === '') index++;
  const block: string[] = [];
  for (; index < lines.length; index++) {
    const line = lines[index] ?? '';
    const match = /^\s*#(.*)$/.exec(line);
    if (match === null) break;
    const content = (match[1] ?? '').replace(/^ /, '');
    if (block.length === 0 && DIRECTIVE.test(content)) continue;
    // A rule of `#`s (or `=`/`-`) is decoration.
    block.push(/^[#=\-*\s]*$/.test(content) ? '' : content);
  }
  return block.length === 0 ? undefined : block.join('\n');
}

function slashComment(lines: string[]): string | undefined {
  let index = 0;
  const skippable = (line: string) =>
    line.trim() === '' ||
    /^\s*['"]use strict['"];?\s*$/.test(line) ||
    /^\s*\/\/\s*(@ts-|eslint|prettier|#region|biome-ignore)/.test(line) ||
    /^\s*\/\*\s*(eslint|global|jshint|istanbul|c8)\b.*\*\/\s*$/.test(line);
  while (index < lines.length && skippable(lines[index] ?? '')) index++;
  const first = lines[index] ?? '';
  if (/^\s*\/\//.test(first)) {
    const block: string[] = [];
    for (; index < lines.length; index++) {
      const match = /^\s*\/\/\/?(.*)$/.exec(lines[index] ?? '');
      if (match === null) break;
      const content = (match[1] ?? '').replace(/^ /, '');
      block.push(/^[/=\-*\s]*$/.test(content) ? '' : content);
    }
    return block.join('\n');
  }
  if (/^\s*\/\*/.test(first)) {
    const rest = lines.slice(index).join('\n');
    const end = rest.indexOf('*/');
    if (end === -1) return undefined;
    const inner = rest.slice(rest.indexOf('/*') + 2, end).replace(/^\*+/, '');
    const block = inner.split('\n').map((line) => line.replace(/^\s*\* ?/, '').replace(/\s+$/, ''));
    return jsdocText(block);
  }
  return undefined;
}

/** Keeps prose and the text of `@file`/`@fileoverview`/`@description`; drops other tags. */
function jsdocText(lines: string[]): string {
  const out: string[] = [];
  let inOtherTag = false;
  for (const line of lines) {
    const tag = /^@(\w+)\s*(.*)$/.exec(line.trim());
    if (tag !== null) {
      const name = tag[1] ?? '';
      inOtherTag = !['file', 'fileoverview', 'overview', 'description', 'desc'].includes(name);
      if (!inOtherTag && tag[2]) out.push(tag[2]);
      continue;
    }
    if (!inOtherTag) out.push(line);
  }
  return out.join('\n');
}

function dedent(text: string): string {
  const lines = text.split('\n').map((line) => line.replace(/\s+$/, ''));
  // Like inspect.cleandoc: the first line's indentation is its own; the rest share a margin.
  const rest = lines.slice(1).filter((line) => line.trim() !== '');
  const margin = rest.length === 0 ? 0 : Math.min(...rest.map((line) => /^[ \t]*/.exec(line)?.[0].length ?? 0));
  return [(lines[0] ?? '').trimStart(), ...lines.slice(1).map((line) => line.slice(margin))].join('\n');
}

function trimBlankLines(text: string): string {
  return text.replace(/^(\s*\n)+/, '').replace(/(\n\s*)+$/, '').replace(/\s+$/, '');
}
