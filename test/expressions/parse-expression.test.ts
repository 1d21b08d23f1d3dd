import { describe, expect, it } from 'vitest';
import { EXPRESSION_FUNCTIONS, evaluateExpression, ExpressionError, parseExpression } from '../../src/expressions/index.js';
import { makeContext } from './context.js';

describe('parseExpression', () => {
  it('accepts the documented grammar and lists literal step reads', () => {
    const result = parseExpression("steps.lint.outputs.ok == 'true' && needs['build'].result != 'failure' || always()");
    expect(result).toEqual({
      ok: true,
      expr: {
        text: "steps.lint.outputs.ok == 'true' && needs['build'].result != 'failure' || always()",
        references: [
          { context: 'steps', id: 'lint', column: 7 },
          { context: 'needs', id: 'build', column: 43 },
        ],
        usesStatusFunction: true,
      },
    });
  });

  it('does not list dynamic reads, which cannot be checked before the run', () => {
    const result = parseExpression('steps[matrix.os].outputs.x');
    expect(result.ok && result.expr.references).toEqual([]);
  });

  it.each([
    ['', 'empty expression', 1],
    ['foo.bar', 'unknown context `foo`; available: steps, needs, env, matrix, workflow, run, inputs', 1],
    ["matrix.os == 'x' && github.sha", 'unknown context `github`', 21],
    ['steps.a.outputs.n = 3', "unexpected symbol: '='", 19],
    ["'unterminated", "unterminated string: a string literal needs a closing `'`", 1],
    ['(1 == 1', 'unexpected end of expression', undefined],
    ['1 ==', 'unexpected end of expression', 3],
    ["contains('a')", 'too few parameters supplied', 1],
    ['success(1)', 'too many parameters supplied', 1],
    ['steps.a.', 'unexpected', undefined],
    ["hashFiles('**/package-lock.json')", 'unknown function `hashFiles`', 1],
    ['1 == 1 2', "unexpected symbol: '2'", 8],
  ])('rejects %j: %s', (text, message, column) => {
    const result = parseExpression(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain(message);
    if (column !== undefined) expect(result.column).toBe(column);
  });

  it('counts columns across lines of a multi-line expression', () => {
    const result = parseExpression("always() &&\n  nope.x");
    expect(result).toMatchObject({ ok: false, column: 15 });
  });
});

describe('no escape to the process', () => {
  const context = makeContext();

  it.each([
    'steps.constructor',
    'steps.__proto__',
    "steps['constructor']['constructor']",
    'env.constructor',
    'env.__proto__.polluted',
    'matrix.toString',
    'steps.build.outputs.hasOwnProperty',
    'inputs.valueOf',
    'run.id.length',
    "('abc').length",
    'steps.build.constructor.name',
  ])('%s is null', (text) => {
    expect(evaluateExpression(text, context)).toBeNull();
  });

  it.each([
    'constructor(1)',
    '__proto__()',
    'toString()',
    'valueOf()',
    'eval(1)',
    'require(1)',
    'Function(1)',
    'hashFiles(1)',
  ])('%s is a syntax error: only the allowed functions exist', (text) => {
    const result = parseExpression(text);
    expect(result).toMatchObject({ ok: false, column: 1 });
    expect(() => evaluateExpression(text, context)).toThrow(ExpressionError);
  });

  it.each(['process.env.HOME', 'globalThis.process', 'this', 'require', 'secrets.X', 'github.token', 'Function'])(
    '%s is an unknown context',
    (text) => {
      expect(parseExpression(text)).toMatchObject({ ok: false, message: expect.stringContaining('unknown context') as string });
    },
  );

  it('keeps keys named like Object.prototype members as plain data', () => {
    const tricky = makeContext({
      steps: { a: { outputs: { constructor: 'c', __proto__: 'p', toString: 't' }, status: 'succeeded', result: 'success' } },
    });
    // Object literal `__proto__:` sets the prototype; define it as an own key instead.
    Object.defineProperty(tricky.steps.a?.outputs, '__proto__', { value: 'p', enumerable: true });
    expect(evaluateExpression('steps.a.outputs.constructor', tricky)).toBe('c');
    expect(evaluateExpression('steps.a.outputs.toString', tricky)).toBe('t');
    expect(evaluateExpression("steps.a.outputs['__proto__']", tricky)).toBe('p');
    expect(evaluateExpression("fromJSON('{\"constructor\": 1, \"__proto__\": {\"x\": 2}}')", tricky)).toEqual(
      JSON.parse('{"constructor": 1, "__proto__": {"x": 2}}'),
    );
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('ignores functions and cycles in the context instead of exposing them', () => {
    const outputs: Record<string, unknown> = { fn: () => 'called' };
    outputs.self = outputs;
    const odd = makeContext({ inputs: outputs });
    expect(evaluateExpression('inputs.fn', odd)).toBeNull();
    expect(evaluateExpression('inputs.self.self', odd)).toBeNull();
  });

  it('allows exactly the documented functions', () => {
    expect([...EXPRESSION_FUNCTIONS].sort()).toEqual(
      ['always', 'cancelled', 'case', 'contains', 'endswith', 'failure', 'format', 'fromjson', 'join', 'startswith', 'success', 'tojson'].sort(),
    );
  });
});
