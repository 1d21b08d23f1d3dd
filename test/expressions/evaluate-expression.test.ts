import { describe, expect, it } from 'vitest';
import { evaluateCondition, evaluateExpression, ExpressionError } from '../../src/expressions/index.js';
import { makeContext } from './context.js';

const context = makeContext();
const failed = makeContext({ status: { success: false, failure: true, cancelled: false } });
const cancelling = makeContext({ status: { success: false, failure: false, cancelled: true } });

describe('evaluateExpression', () => {
  it.each([
    // Literals
    ['true', true],
    ['null', null],
    ['42', 42],
    ['-1.5', -1.5],
    ['0xff', 255],
    ["'it''s'", "it's"],
    ["'a ''b'' c'", "a 'b' c"],
    // Property and index access, case-insensitive names
    ['steps.build.outputs.version', '1.4.2'],
    ["steps['build'].outputs['version']", '1.4.2'],
    ['STEPS.Build.OUTPUTS.VERSION', '1.4.2'],
    ['needs.build.result', 'success'],
    ['steps.flaky.status', 'failed'],
    ['env.APP_NAME', 'demo-app'],
    ['matrix.os', 'linux'],
    ['matrix.shard', 2],
    ['matrix.gpu', false],
    ['workflow.name', 'ci'],
    ['run.id', 'run-42'],
    ['inputs.target', 'staging'],
    ['inputs.list[1]', 2],
    ['inputs.list[7]', null],
    // Missing properties are null, never an error
    ['steps.build.outputs.missing', null],
    ['steps.nope.outputs.x', null],
    ['env.NOT_SET', null],
    ['matrix.os.deeper', null],
    // Comparison with GitHub's coercion: strings that look like numbers compare as numbers
    ['steps.build.outputs.n > 3', true],
    ['steps.build.outputs.n >= 5', true],
    ['steps.build.outputs.n < 3', false],
    ["steps.build.outputs.n == '5'", true],
    ['steps.build.outputs.n == 5', true],
    ["'abc' == 'ABC'", true],
    ["'a' < 'b'", true],
    ["steps.build.outputs.ok == 'true'", true],
    ['steps.build.outputs.ok == true', false],
    ['null == 0', true],
    ["'' == 0", true],
    ['true == 1', true],
    ["'x' != 'y'", true],
    // Logical operators return an operand, as in GitHub
    ["env.EMPTY || 'fallback'", 'fallback'],
    ["env.APP_NAME && 'yes'", 'yes'],
    ['!env.EMPTY', true],
    ['!(1 == 1) || (2 > 1 && 3 > 2)', true],
    // Functions
    ["contains('Hello world', 'WORLD')", true],
    ['contains(inputs.list, 2)', true],
    ["contains(inputs.list, '2')", true],
    ["contains(fromJSON(steps.build.outputs.json).regions, 'south')", true],
    ["contains(fromJSON(steps.build.outputs.json).regions, 'west')", false],
    ["startsWith(steps.build.outputs.version, '1.')", true],
    ["endsWith('report.csv', '.CSV')", true],
    ["format('{0}-{1} ({{literal}})', matrix.os, matrix.py)", 'linux-3.11 ({literal})'],
    ["join(fromJSON(steps.build.outputs.json).regions, ', ')", 'north, south'],
    ['join(inputs.list)', '1,2,3'],
    ['fromJSON(steps.build.outputs.json).count', 2],
    ["fromJSON('[1, \"two\", null]')", [1, 'two', null]],
    ['toJSON(matrix.os)', '"linux"'],
    ["case(matrix.os == 'linux', 'apt', matrix.os == 'mac', 'brew', 'choco')", 'apt'],
    // Object filters
    ['steps.*.result', ['success', 'success', 'failure']],
    ["contains(steps.*.result, 'failure')", true],
  ])('%s → %j', (text, expected) => {
    expect(evaluateExpression(text, context)).toEqual(expected);
  });

  it('returns arrays and objects as plain JS values', () => {
    expect(evaluateExpression('fromJSON(steps.build.outputs.json)', context)).toEqual({ regions: ['north', 'south'], count: 2 });
    expect(evaluateExpression('matrix', context)).toEqual({ os: 'linux', py: '3.11', shard: 2, gpu: false });
    expect(evaluateExpression('steps.build.outputs', context)).toEqual(context.steps.build?.outputs);
  });

  it('accepts an expression wrapped in ${{ }}', () => {
    expect(evaluateExpression('${{ matrix.shard }}', context)).toBe(2);
  });

  it('throws ExpressionError with the expression and column for an unknown context', () => {
    let error: unknown;
    try {
      evaluateExpression("matrix.os == 'x' && secrets.TOKEN", context);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ExpressionError);
    expect(error).toMatchObject({
      name: 'ExpressionError',
      expression: "matrix.os == 'x' && secrets.TOKEN",
      column: 21,
      message: expect.stringContaining('unknown context `secrets`') as string,
    });
  });

  it('throws ExpressionError when a function fails while evaluating', () => {
    expect(() => evaluateExpression("fromJSON('{not json')", context)).toThrow(ExpressionError);
    expect(() => evaluateExpression("format('{0} {1}', 'a')", context)).toThrow(/cannot evaluate/);
    expect(() => evaluateExpression("case(1, 'a', 'b')", context)).toThrow(ExpressionError);
  });

  it('reports status functions from context.status', () => {
    expect(evaluateExpression('success()', context)).toBe(true);
    expect(evaluateExpression('failure()', context)).toBe(false);
    expect(evaluateExpression('success()', failed)).toBe(false);
    expect(evaluateExpression('failure()', failed)).toBe(true);
    expect(evaluateExpression('cancelled()', cancelling)).toBe(true);
    expect(evaluateExpression('always()', cancelling)).toBe(true);
  });
});

describe('evaluateCondition', () => {
  it.each([
    ["steps.build.outputs.ok == 'true'", true],
    ["${{ steps.build.outputs.ok == 'true' }}", true],
    ["  ${{ steps.build.outputs.ok == 'false' }}  ", false],
    ['steps.build.outputs.version', true],
    ['env.EMPTY', false],
    ['steps.build.outputs.missing', false],
    ['0', false],
    ["'0'", true],
    ["'false'", true],
    ['fromJSON(steps.build.outputs.json)', true],
    ['NaN', false],
  ])('%s is %s', (text, expected) => {
    expect(evaluateCondition(text, context)).toBe(expected);
  });

  it('failure() runs after a failure, success() and plain conditions do not', () => {
    expect(evaluateCondition('failure()', failed)).toBe(true);
    expect(evaluateCondition('success()', failed)).toBe(false);
    expect(evaluateCondition('failure()', context)).toBe(false);
    expect(evaluateCondition('success()', context)).toBe(true);
  });

  it('always() runs whatever happened, cancelled() only while cancelling', () => {
    for (const ctx of [context, failed, cancelling]) expect(evaluateCondition('${{ always() }}', ctx)).toBe(true);
    expect(evaluateCondition('cancelled()', cancelling)).toBe(true);
    expect(evaluateCondition('cancelled()', failed)).toBe(false);
  });

  it('adds an implicit success() to a condition without a status function, as GitHub does', () => {
    expect(evaluateCondition("steps.build.outputs.ok == 'true'", failed)).toBe(false);
    expect(evaluateCondition("steps.build.outputs.ok == 'true'", failed, { implicitSuccess: false })).toBe(true);
    expect(evaluateCondition("failure() && steps.flaky.outputs.code == '75'", failed)).toBe(true);
    expect(evaluateCondition("always() && steps.flaky.outputs.code == '76'", failed)).toBe(false);
  });

  it('rejects text mixed with templates, which GitHub would treat as an always-true string', () => {
    expect(() => evaluateCondition('${{ success() }} && ${{ failure() }}', context)).toThrow(/one expression/);
    expect(() => evaluateCondition("x ${{ 'y' }}", context)).toThrow(ExpressionError);
  });
});
