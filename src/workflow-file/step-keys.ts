/** What a step id may hold: it appears in `needs`, in expressions and in file names. */
export const STEP_ID_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** The keys that say what a step runs; a step has exactly one. */
export const STEP_KIND_KEYS = ['run', 'script', 'function', 'python', 'workflow'] as const;
export type StepKindKey = (typeof STEP_KIND_KEYS)[number];
