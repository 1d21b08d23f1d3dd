/**
 * What `parseDuration` (src/core/duration.ts) accepts as text: plain seconds (`90`, `0.5`) or unit
 * parts (`500ms`, `2m`, `1m30s`). Kept as a regex so the JSON Schema can check it too; a test keeps
 * the two in step.
 */
export const DURATION_PATTERN = /^\s*(?:\d+(?:\.\d+)?|(?:\d+(?:\.\d+)?(?:ms|s|m|h))+)\s*$/;
