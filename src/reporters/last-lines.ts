/**
 * The last `count` lines of `text`. A trailing line break does not count as an extra empty line, and
 * it is kept when the text had one. CRLF line breaks are kept as they are.
 */
export function lastLines(text: string, count: number): string {
  if (count <= 0 || text === '') return '';
  const trailing = text.endsWith('\n') ? '\n' : '';
  const body = trailing ? text.slice(0, -1) : text;
  let index = body.length;
  for (let seen = 0; seen < count; seen++) {
    const previous = body.lastIndexOf('\n', index - 1);
    if (previous === -1) return text;
    index = previous;
  }
  return body.slice(index + 1) + trailing;
}

/** Number of lines in `text`, not counting a final empty line after a trailing line break. */
export function countLines(text: string): number {
  if (text === '') return 0;
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  let lines = 1;
  for (let i = body.indexOf('\n'); i !== -1; i = body.indexOf('\n', i + 1)) lines++;
  return lines;
}
