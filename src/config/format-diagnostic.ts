import type { Diagnostic } from './types.js';

/**
 * Formats one diagnostic as `file:line:column: field: message` (editors and CI annotations parse
 * this shape). Warnings say so before the field; an empty field is left out.
 */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const { file, line, column, field, message, severity } = diagnostic;
  const prefix = severity === 'warning' ? 'warning: ' : '';
  return `${file}:${line}:${column}: ${prefix}${field === '' ? '' : `${field}: `}${message}`;
}
