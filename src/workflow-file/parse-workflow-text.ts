import path from 'node:path';
import type { WorkflowSpec } from '../core/spec.js';
import type { Diagnostic } from '../config/types.js';
import { fullParsers } from './full-parsers.js';
import { newSession, parseInSession } from './workflow-session.js';

export { DEFAULT_KILL_GRACE_MS } from './workflow-session.js';

/**
 * Parses and validates the text of one workflow file (YAML, or JSON by the `.json` name; both
 * through the `yaml` parser, so every diagnostic has a line and column) and turns it into a
 * `WorkflowSpec` with every field filled. Script, module and sub-workflow files are read from
 * disk, relative to the file's folder. `spec` is set only when there is no error anywhere (the
 * file or its sub-workflows); warnings may come with it.
 * @see docs/workflows.md
 */
export function parseWorkflowText(text: string, file: string, projectRoot: string): { spec?: WorkflowSpec; diagnostics: Diagnostic[] } {
  return parseInSession(text, path.resolve(file), newSession(file, projectRoot, true, fullParsers));
}
