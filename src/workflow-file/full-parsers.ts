import { LineCounter, parseDocument } from 'yaml';
import { SourceLocator } from '../config/source-locator.js';
import { matrixSchema, workflowFileSchema } from './schema.js';
import { workflowIssueDiagnostics } from './workflow-issue-diagnostics.js';

/**
 * The `yaml` document parser (positions for every diagnostic) and the zod schema (their wording).
 * A valid workflow file in the common shapes needs neither, and loading them costs about 0.1 s of
 * start-up, so `validateWorkflowFile` and `loadWorkflowFile` import this module only when a file
 * needs it; `parseWorkflowText`, which is synchronous, always does.
 */
export const fullParsers = { LineCounter, parseDocument, SourceLocator, matrixSchema, workflowFileSchema, workflowIssueDiagnostics };

export type FullParsers = typeof fullParsers;
