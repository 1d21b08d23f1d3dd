import { stripControlCharacters } from './strip-control-characters.js';

/** Longest run of `char` in `text`. */
function longestRun(text: string, char: string): number {
  let longest = 0;
  let current = 0;
  for (const c of text) {
    current = c === char ? current + 1 : 0;
    if (current > longest) longest = current;
  }
  return longest;
}

/**
 * A fenced code block whose fence is longer than any backtick run in `content`, so the content can
 * never close it early. Terminal colour codes are removed.
 */
export function fencedBlock(content: string, info = ''): string {
  const text = stripControlCharacters(content).replace(/\r\n?/g, '\n');
  const fence = '`'.repeat(Math.max(3, longestRun(text, '`') + 1));
  const body = text.endsWith('\n') || text === '' ? text : `${text}\n`;
  return `${fence}${info}\n${body}${fence}`;
}

/**
 * The fence of a fenced code block left open at the end of `markdown` (CommonMark: a line of 3 or
 * more backticks or tildes indented at most 3 spaces opens one; the same character at least as many
 * times, with nothing but spaces after it, closes it), or `null` when every block is closed. Used to
 * close a block that truncating a report cut in two.
 */
export function openFence(markdown: string): string | null {
  let open: string | null = null;
  for (const line of markdown.split('\n')) {
    const match = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line.replace(/\r$/, ''));
    if (match === null) continue;
    const fence = match[1] ?? '';
    const rest = match[2] ?? '';
    if (open === null) {
      // A backtick fence's info string may not hold a backtick.
      if (!(fence.startsWith('`') && rest.includes('`'))) open = fence;
    } else if (fence[0] === open[0] && fence.length >= open.length && rest.trim() === '') {
      open = null;
    }
  }
  return open;
}

/** An inline code span that survives backticks in `text` (CommonMark's rule: a longer delimiter). */
export function inlineCode(text: string): string {
  const flat = stripControlCharacters(text).replace(/\r?\n|\r/g, ' ');
  const ticks = '`'.repeat(longestRun(flat, '`') + 1);
  // A space on each side is stripped by renderers; it keeps content that starts or ends with a
  // backtick from merging with the delimiter.
  const pad = flat.startsWith('`') || flat.endsWith('`') || flat.trim() === '' ? ' ' : '';
  return `${ticks}${pad}${flat}${pad}${ticks}`;
}

/** Escapes Markdown punctuation in plain text and joins lines, so it renders as written. */
export function escapeMarkdownText(text: string): string {
  return stripControlCharacters(text)
    .replace(/\r?\n|\r/g, ' ')
    .replace(/[\\`*_[\]<>|~#!]/g, (char) => `\\${char}`);
}

/**
 * One row of a GFM table. Each cell is already-formatted Markdown; `|` is escaped (also inside code
 * spans, where GFM's table parser still splits on it) and line breaks become spaces.
 */
export function tableRow(cells: readonly string[]): string {
  const escaped = cells.map((cell) =>
    cell
      .replace(/\r?\n|\r/g, ' ')
      // A pipe after an even number of backslashes would end the cell; after an odd number it is
      // already escaped (escapeMarkdownText does that).
      .replace(/(\\*)\|/g, (match, slashes: string) => (slashes.length % 2 === 0 ? `${slashes}\\|` : match)),
  );
  return `| ${escaped.join(' | ')} |`;
}

/** A GFM table: header, alignment row (`r` right-aligns a column) and rows. */
export function table(header: readonly string[], rows: readonly string[][], align = ''): string {
  const rule = header.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  return [tableRow(header), `| ${rule.join(' | ')} |`, ...rows.map(tableRow)].join('\n');
}
