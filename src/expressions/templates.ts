import { ExpressionError } from './expression-error.js';

/** One `${{ expr }}` in a text. */
export interface TemplateMatch {
  /** The expression inside, trimmed. */
  expr: string;
  /** Offset of `${{` in the text. */
  start: number;
  /** Offset just after `}}`. */
  end: number;
  /** Offset of `expr` in the text (for columns inside the expression). */
  exprStart: number;
}

export interface TemplateScan {
  templates: TemplateMatch[];
  /** Offset of a `${{` that has no closing `}}`, when there is one (scanning stops there). */
  unterminated?: number;
}

/** End of the `'…'` literal that starts at `quote` (`''` is an escaped quote), or -1. */
function stringEnd(text: string, quote: number): number {
  let i = quote + 1;
  while (i < text.length) {
    if (text[i] === "'") {
      if (text[i + 1] === "'") i += 2;
      else return i;
    } else {
      i++;
    }
  }
  return -1;
}

/**
 * Finds every `${{ … }}`. A `}}` inside a string literal (`'}}'`) does not close the template, as
 * in GitHub's own scanner.
 */
export function scanTemplates(text: string): TemplateScan {
  const templates: TemplateMatch[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf('${{', from);
    if (start < 0) return { templates };
    let i = start + 3;
    let close = -1;
    while (i < text.length) {
      if (text[i] === "'") {
        const end = stringEnd(text, i);
        if (end < 0) break;
        i = end + 1;
      } else if (text.startsWith('}}', i)) {
        close = i;
        break;
      } else {
        i++;
      }
    }
    if (close < 0) return { templates, unterminated: start };
    const inner = text.slice(start + 3, close);
    const leading = inner.length - inner.trimStart().length;
    templates.push({ expr: inner.trim(), start, end: close + 2, exprStart: start + 3 + leading });
    from = close + 2;
  }
}

/**
 * Every `${{ expr }}` in `text`, in order. Throws `ExpressionError` for a `${{` without `}}`.
 * @see docs/expressions.md
 */
export function findTemplates(text: string): { expr: string; start: number; end: number }[] {
  const { templates, unterminated } = scanTemplates(text);
  if (unterminated !== undefined) throw unterminatedError(text, unterminated);
  return templates.map(({ expr, start, end }) => ({ expr, start, end }));
}

/** Whether `text` holds a `${{` at all. */
export function hasTemplates(text: string): boolean {
  return text.includes('${{');
}

export function unterminatedError(text: string, offset: number): ExpressionError {
  return new ExpressionError('`${{` has no closing `}}`', text, offset + 1);
}

/**
 * The expression of an `if`, written with or without `${{ }}`: `steps.a.outputs.ok == 'true'` and
 * `${{ steps.a.outputs.ok == 'true' }}` are the same. `offset` is where the expression starts in
 * `text`. Mixing text and templates (`${{ a }} && ${{ b }}`) is an error: GitHub would treat it as
 * a non-empty string, which is always true.
 */
export function conditionExpression(text: string): { expression: string; offset: number } {
  if (!hasTemplates(text)) {
    const leading = text.length - text.trimStart().length;
    return { expression: text.trim(), offset: leading };
  }
  const { templates, unterminated } = scanTemplates(text);
  if (unterminated !== undefined) throw unterminatedError(text, unterminated);
  const [only] = templates;
  if (only === undefined || templates.length > 1 || text.slice(0, only.start).trim() !== '' || text.slice(only.end).trim() !== '') {
    throw new ExpressionError(
      'a condition must be one expression: write `a && b` or `${{ a && b }}`, not text mixed with `${{ }}`',
      text,
      (templates[0]?.start ?? 0) + 1,
    );
  }
  return { expression: only.expr, offset: only.exprStart };
}
