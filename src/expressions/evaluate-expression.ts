import { data, Evaluator } from '@actions/expressions';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import type { ExpressionContext } from './expression-context.js';
import { coerceToString, fromExpressionData, isTruthy, SafeDictionary, toExpressionData } from './expression-data.js';
import { ExpressionError } from './expression-error.js';
import { parseOrThrow, SyntaxProblem } from './parse-expression.js';
import { conditionExpression, scanTemplates, unterminatedError } from './templates.js';

function statusFunction(name: string, value: () => boolean): FunctionDefinition {
  return { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value()) };
}

function functionsFor(context: ExpressionContext): Map<string, FunctionDefinition> {
  return new Map<string, FunctionDefinition>([
    ['success', statusFunction('success', () => context.status.success)],
    ['failure', statusFunction('failure', () => context.status.failure)],
    ['cancelled', statusFunction('cancelled', () => context.status.cancelled)],
    ['always', statusFunction('always', () => true)],
    [
      // The library's fromJSON builds prototype-backed dictionaries that drop keys such as
      // `constructor`; ours keeps every key.
      'fromjson',
      {
        name: 'fromJSON',
        minArgs: 1,
        maxArgs: 1,
        call: (...args) => {
          const text = args[0]?.coerceString() ?? '';
          if (text.trim() === '') throw new Error('fromJSON: empty input');
          return toExpressionData(JSON.parse(text));
        },
      },
    ],
  ]);
}

function contextData(context: ExpressionContext): SafeDictionary {
  const dictionary = new SafeDictionary();
  dictionary.add('steps', toExpressionData(context.steps));
  dictionary.add('needs', toExpressionData(context.needs));
  dictionary.add('env', toExpressionData(context.env));
  dictionary.add('matrix', toExpressionData(context.matrix));
  dictionary.add('workflow', toExpressionData(context.workflow));
  dictionary.add('run', toExpressionData(context.run));
  dictionary.add('inputs', toExpressionData(context.inputs ?? {}));
  return dictionary;
}

function parse(text: string) {
  try {
    return parseOrThrow(text);
  } catch (error: unknown) {
    if (error instanceof SyntaxProblem) throw new ExpressionError(`invalid expression \`${text}\`: ${error.message}`, text, error.column);
    throw error;
  }
}

function evaluateData(text: string, context: ExpressionContext, dictionary = contextData(context)): data.ExpressionData {
  const { ast } = parse(text);
  try {
    return new Evaluator(ast, dictionary, functionsFor(context)).evaluate();
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ExpressionError(`cannot evaluate \`${text}\`: ${message}`, text, undefined, { cause: error });
  }
}

/** An expression given as `${{ x }}` is the expression `x`. */
function unwrap(text: string): string {
  return conditionExpression(text).expression;
}

/**
 * Evaluates one expression (with or without `${{ }}` around it) and returns plain JS: string,
 * number, boolean, null, arrays and objects. A missing property is `null`. Throws `ExpressionError`
 * for a syntax error (an unknown context included) or a failing function.
 * @example evaluateExpression("steps.build.outputs.version", context) // '1.4.2'
 * @see docs/expressions.md
 */
export function evaluateExpression(text: string, context: ExpressionContext): unknown {
  return fromExpressionData(evaluateData(unwrap(text), context));
}

export interface EvaluateConditionOptions {
  /**
   * GitHub's rule: a condition that calls none of `success()`, `failure()`, `always()`,
   * `cancelled()` runs only when `success()` is also true. @default true
   */
  implicitSuccess?: boolean;
}

/**
 * Evaluates an `if`, written with or without `${{ }}`, to a boolean by GitHub's truthiness
 * (`null`, `false`, `0`, `NaN`, `''` are false). Without a status function the condition is
 * `success() && (<if>)`, as in GitHub Actions.
 * @see docs/expressions.md
 */
export function evaluateCondition(text: string, context: ExpressionContext, options: EvaluateConditionOptions = {}): boolean {
  const expression = unwrap(text);
  const { expr } = parse(expression);
  if ((options.implicitSuccess ?? true) && !expr.usesStatusFunction && !context.status.success) return false;
  return isTruthy(evaluateData(expression, context));
}

/**
 * Replaces every `${{ expr }}` in `text` with its value as text (GitHub's coercion: `null` → '',
 * objects and arrays as JSON). Text without templates comes back unchanged.
 * @see docs/expressions.md
 */
export function renderTemplate(text: string, context: ExpressionContext): string {
  const { templates, unterminated } = scanTemplates(text);
  if (unterminated !== undefined) throw unterminatedError(text, unterminated);
  if (templates.length === 0) return text;
  const dictionary = contextData(context);
  let result = '';
  let from = 0;
  for (const template of templates) {
    result += text.slice(from, template.start) + coerceToString(evaluateData(template.expr, context, dictionary));
    from = template.end;
  }
  return result + text.slice(from);
}
