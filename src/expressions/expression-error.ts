/**
 * A `${{ }}` expression that does not parse (unknown context or function, bad syntax) or fails to
 * evaluate (`fromJSON` of text that is not JSON, a `format` with a missing argument).
 * @see docs/expressions.md
 */
export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
  /** The expression text, without `${{ }}`. */
  readonly expression: string;
  /** 1-based position of the problem inside `expression`, when known. */
  readonly column: number | undefined;

  constructor(message: string, expression: string, column?: number, options?: ErrorOptions) {
    super(message, options);
    this.expression = expression;
    this.column = column;
  }
}
