import { data, Lexer, Parser } from '@actions/expressions';
import type { Expr } from '@actions/expressions';
import { Binary, ContextAccess, FunctionCall, Grouping, IndexAccess, Literal, Logical, Star, Unary } from '@actions/expressions/ast';
import type { FunctionInfo } from '@actions/expressions/funcs/info';
import { TokenType } from '@actions/expressions/lexer';
import type { Token } from '@actions/expressions/lexer';
import { EXPRESSION_CONTEXTS, EXPRESSION_FUNCTIONS, STATUS_FUNCTIONS } from './expression-context.js';

/** A `steps.<id>` or `needs.<id>` read with a literal id, for load-time checks. */
export interface ExpressionReference {
  context: 'steps' | 'needs';
  /** The step id as written. */
  id: string;
  /** 1-based position of the id inside the expression text. */
  column: number;
}

/** A syntax-checked expression. */
export interface ParsedExpression {
  /** The text, without `${{ }}`. */
  text: string;
  /** Literal `steps.<id>` / `needs.<id>` reads. Dynamic ones (`steps[matrix.x]`) are not listed. */
  references: ExpressionReference[];
  /** Whether it calls `success()`, `failure()`, `always()` or `cancelled()`. */
  usesStatusFunction: boolean;
}

export type ParseResult = { ok: true; expr: ParsedExpression } | { ok: false; message: string; column?: number };

const STATUS_FUNCTION_INFO: FunctionInfo[] = STATUS_FUNCTIONS.map((name) => ({ name, minArgs: 0, maxArgs: 0 }));
const ALLOWED_FUNCTIONS = new Set(EXPRESSION_FUNCTIONS);

interface Parsed {
  expr: ParsedExpression;
  ast: Expr;
}

class SyntaxProblem extends Error {
  constructor(
    message: string,
    readonly column: number | undefined,
  ) {
    super(message);
  }
}

/** 1-based column in the whole text of a token position (0-based line and column). */
function columnOf(text: string, position: { line: number; column: number }): number {
  let offset = 0;
  for (let line = 0; line < position.line; line++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) break;
    offset = next + 1;
  }
  return offset + position.column + 1;
}

function tokenColumn(text: string, token: Token): number {
  return columnOf(text, token.range.start);
}

function lex(text: string): Token[] {
  let tokens: Token[];
  try {
    tokens = new Lexer(text).lex().tokens;
  } catch (error: unknown) {
    // The lexer throws plain errors: "Unexpected symbol: 'x'. Located at position 5 within expression: ...".
    const message = error instanceof Error ? error.message : String(error);
    const position = /Located at position (\d+)/.exec(message)?.[1];
    const short = message.replace(/\. Located at position \d+ within expression:[\s\S]*$/, '');
    let wording = short.charAt(0).toLowerCase() + short.slice(1);
    if (short === 'ErrorExceededMaxLength') wording = 'expression is too long';
    else if (short.startsWith("Unexpected symbol: ''")) wording = "unterminated string: a string literal needs a closing `'`";
    throw new SyntaxProblem(wording, position === undefined ? undefined : Number(position));
  }
  for (const token of tokens) {
    // The lexer only unescapes the first `''` of a string literal; GitHub unescapes all of them.
    if (token.type === TokenType.STRING) token.value = token.lexeme.slice(1, -1).replaceAll("''", "'");
  }
  return tokens;
}

/** Walks the tree: rejects functions outside the allow-list and collects step references. */
function inspect(text: string, ast: Expr): ParsedExpression {
  const references: ExpressionReference[] = [];
  let usesStatusFunction = false;
  const visit = (node: Expr): void => {
    if (node instanceof FunctionCall) {
      const name = node.functionName.lexeme.toLowerCase();
      // The library looks functions up in a plain object, so `constructor(…)` would reach
      // Object.prototype: only names on our own list get through.
      if (!ALLOWED_FUNCTIONS.has(name)) {
        throw new SyntaxProblem(`unknown function \`${node.functionName.lexeme}\``, tokenColumn(text, node.functionName));
      }
      if ((STATUS_FUNCTIONS as readonly string[]).includes(name)) usesStatusFunction = true;
      node.args.forEach(visit);
    } else if (node instanceof IndexAccess) {
      if (node.expr instanceof ContextAccess && node.index instanceof Literal && node.index.literal.kind === data.Kind.String) {
        const context = node.expr.name.lexeme.toLowerCase();
        if (context === 'steps' || context === 'needs') {
          references.push({ context, id: (node.index.literal).value, column: tokenColumn(text, node.index.token) + (node.index.token.type === TokenType.STRING ? 1 : 0) });
        }
      }
      visit(node.expr);
      if (!(node.index instanceof Star)) visit(node.index);
    } else if (node instanceof Unary) {
      visit(node.expr);
    } else if (node instanceof Binary) {
      visit(node.left);
      visit(node.right);
    } else if (node instanceof Logical) {
      node.args.forEach(visit);
    } else if (node instanceof Grouping) {
      visit(node.group);
    }
  };
  visit(ast);
  return { text, references, usesStatusFunction };
}

function parseUncached(text: string): Parsed {
  const tokens = lex(text);
  let ast: Expr | undefined;
  try {
    ast = new Parser(tokens, [...EXPRESSION_CONTEXTS], STATUS_FUNCTION_INFO).parse();
  } catch (error: unknown) {
    if (error instanceof SyntaxProblem) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const pos = (error as { pos?: { line: number; column: number } }).pos;
    throw new SyntaxProblem(describeParserError(message), pos === undefined ? undefined : columnOf(text, pos));
  }
  if (ast === undefined) throw new SyntaxProblem('empty expression', 1);
  return { expr: inspect(text, ast), ast };
}

/** The library's wording, with our list of contexts added where it helps. */
function describeParserError(message: string): string {
  if (message.startsWith('Unrecognized named-value')) {
    const name = /'([^']*)'/.exec(message)?.[1] ?? '';
    return `unknown context \`${name}\`; available: ${EXPRESSION_CONTEXTS.join(', ')}`;
  }
  if (message.startsWith('Unrecognized function')) {
    const name = /'([^']*)'/.exec(message)?.[1] ?? '';
    return `unknown function \`${name}\``;
  }
  return message.charAt(0).toLowerCase() + message.slice(1);
}

// Conditions and templates are evaluated once per step, often with the same text.
const cache = new Map<string, Parsed | SyntaxProblem>();
const CACHE_LIMIT = 500;

/** Parses through the cache; throws `SyntaxProblem`. */
export function parseOrThrow(text: string): Parsed {
  let entry = cache.get(text);
  if (entry === undefined) {
    try {
      entry = parseUncached(text);
    } catch (error: unknown) {
      if (!(error instanceof SyntaxProblem)) throw error;
      entry = error;
    }
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(text, entry);
  }
  if (entry instanceof SyntaxProblem) throw entry;
  return entry;
}

export { SyntaxProblem };

/**
 * Checks an expression's syntax (the text inside `${{ }}`): literals, operators, property and
 * index access, the contexts `steps needs env matrix workflow run inputs`, and the allowed
 * functions. `column` is 1-based within `text`.
 * @see docs/expressions.md
 */
export function parseExpression(text: string): ParseResult {
  try {
    return { ok: true, expr: parseOrThrow(text).expr };
  } catch (error: unknown) {
    if (!(error instanceof SyntaxProblem)) throw error;
    return error.column === undefined ? { ok: false, message: error.message } : { ok: false, message: error.message, column: error.column };
  }
}
