export { evaluateCondition, evaluateExpression, renderTemplate } from './evaluate-expression.js';
export type { EvaluateConditionOptions } from './evaluate-expression.js';
export { EXPRESSION_CONTEXTS, EXPRESSION_FUNCTIONS, STATUS_FUNCTIONS } from './expression-context.js';
export type { ExpressionContext, ExpressionContextName, StepContextEntry } from './expression-context.js';
export { ExpressionError } from './expression-error.js';
export { parseExpression } from './parse-expression.js';
export type { ExpressionReference, ParsedExpression, ParseResult } from './parse-expression.js';
export { conditionExpression, findTemplates, hasTemplates, scanTemplates } from './templates.js';
export type { TemplateMatch, TemplateScan } from './templates.js';
