import type { Document, YAMLError } from 'yaml';
import type { FieldPath } from './field-path.js';
import { jsonSyntaxErrorOffset } from './json-syntax.js';
import type { SourceLocator } from './source-locator.js';
import type { Diagnostic } from './types.js';

/** Reports a problem at an offset of the text. */
export type PushAtOffset = (severity: Diagnostic['severity'], fieldPath: FieldPath, offset: number, message: string) => void;

/** Diagnostics are one line each; parser messages may quote source text with newlines. */
export function oneLine(message: string): string {
  return message.trim().replace(/\r?\n/g, '\\n');
}

/**
 * The value of a parsed YAML or JSON document (config files and workflow files alike), with its
 * syntax problems reported through `push`: a duplicate key at the key, anything else as `invalid
 * YAML|JSON: …` where the parser saw it. Undefined after a syntax error (the tree is then a
 * guess, and checking it would only add noise) or when the document cannot be read (`cannotRead`
 * says why). Only types come from `yaml` here: callers that load it lazily stay lazy.
 */
export function documentValue(
  doc: Document,
  locator: SourceLocator,
  text: string,
  isJson: boolean,
  push: PushAtOffset,
  cannotRead: (message: string) => void,
): unknown {
  const fromYaml = (severity: Diagnostic['severity'], error: YAMLError): void => {
    const fieldPath = error.code === 'DUPLICATE_KEY' ? locator.pathAt(error.pos[0]) : [];
    const message =
      error.code === 'DUPLICATE_KEY'
        ? `duplicate key \`${String(fieldPath.at(-1) ?? '')}\`: each key may appear only once`
        : `invalid ${isJson ? 'JSON' : 'YAML'}: ${oneLine(error.message)}`;
    push(severity, fieldPath, error.pos[0], message);
  };
  for (const error of doc.errors) fromYaml('error', error);
  for (const warning of doc.warnings) fromYaml('warning', warning);
  if (doc.errors.some((error) => error.code !== 'DUPLICATE_KEY')) return undefined;
  if (isJson && text.trim() !== '') {
    // YAML accepts what JSON does not (comments, trailing commas): a .json file is held to JSON.
    try {
      JSON.parse(text);
    } catch (error: unknown) {
      const message = error instanceof Error ? error.message : String(error);
      // Some messages give no position (`Unexpected token ']', "[1,]" is not valid JSON`): find it.
      const offset = /position (\d+)/.exec(message)?.[1];
      push('error', [], offset === undefined ? (jsonSyntaxErrorOffset(text) ?? 0) : Number(offset), `invalid JSON: ${oneLine(message)}`);
    }
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error: unknown) {
    cannotRead(`cannot read the document: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}
