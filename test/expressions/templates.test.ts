import { describe, expect, it } from 'vitest';
import { ExpressionError, findTemplates, hasTemplates, renderTemplate, scanTemplates } from '../../src/expressions/index.js';
import { makeContext } from './context.js';

const context = makeContext();

describe('findTemplates', () => {
  it('finds every ${{ }} with its offsets', () => {
    const text = 'v=${{ steps.build.outputs.version }} os=${{matrix.os}}';
    expect(findTemplates(text)).toEqual([
      { expr: 'steps.build.outputs.version', start: 2, end: 36 },
      { expr: 'matrix.os', start: 40, end: 54 },
    ]);
    expect(text.slice(40, 54)).toBe('${{matrix.os}}');
  });

  it('does not end a template at a }} inside a string literal', () => {
    expect(findTemplates("${{ format('{{0}}', 'x') }}!")).toEqual([{ expr: "format('{{0}}', 'x')", start: 0, end: 27 }]);
    expect(findTemplates("${{ '}}' }}")).toEqual([{ expr: "'}}'", start: 0, end: 11 }]);
  });

  it('throws for a ${{ without }}', () => {
    expect(() => findTemplates('a ${{ matrix.os')).toThrow(ExpressionError);
    expect(scanTemplates('ok ${{ 1 }} then ${{ 2')).toEqual({
      templates: [{ expr: '1', start: 3, end: 11, exprStart: 7 }],
      unterminated: 17,
    });
  });

  it('hasTemplates says whether there is anything to render', () => {
    expect(hasTemplates('echo $HOME ${NAME}')).toBe(false);
    expect(hasTemplates('echo ${{ env.HOME }}')).toBe(true);
  });
});

describe('renderTemplate', () => {
  it('replaces several templates in one text', () => {
    expect(renderTemplate('deploy ${{ env.APP_NAME }}@${{ steps.build.outputs.version }} to ${{ inputs.target }}', context)).toBe(
      'deploy demo-app@1.4.2 to staging',
    );
  });

  it("coerces to text as GitHub does: null → '', booleans and numbers as written, objects as JSON", () => {
    expect(renderTemplate('[${{ steps.build.outputs.missing }}]', context)).toBe('[]');
    expect(renderTemplate("${{ matrix.gpu }} ${{ matrix.shard }} ${{ fromJSON('0.30000000000000004') }}", context)).toBe('false 2 0.3');
    expect(renderTemplate('${{ 1 == 1 }}', context)).toBe('true');
    expect(renderTemplate('${{ 3.14159 }}', context)).toBe('3.14159');
    expect(renderTemplate('${{ inputs.list }}', context)).toBe('[\n  1,\n  2,\n  3\n]');
    expect(JSON.parse(renderTemplate('${{ matrix }}', context))).toEqual(context.matrix);
  });

  it('leaves text without templates alone, ${VAR} included', () => {
    expect(renderTemplate('echo "$HOME ${USER} {{ x }}"', context)).toBe('echo "$HOME ${USER} {{ x }}"');
  });

  it('throws ExpressionError for a bad template', () => {
    expect(() => renderTemplate('x ${{ nope.a }}', context)).toThrow(/unknown context `nope`/);
    expect(() => renderTemplate('x ${{ env.A', context)).toThrow(/no closing/);
  });
});
