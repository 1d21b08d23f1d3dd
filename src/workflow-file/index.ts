export { loadWorkflowFile, validateWorkflowFile } from './load-workflow-file.js';
export type { LoadWorkflowFileOptions } from './load-workflow-file.js';
export { DEFAULT_KILL_GRACE_MS, parseWorkflowText } from './parse-workflow-text.js';
export { STEP_ID_PATTERN, STEP_KIND_KEYS, WORKFLOW_SCHEMA_ID, workflowFileSchema, workflowJsonSchema } from './schema.js';
export type { RawWorkflow } from './schema.js';
