// A light entry point, `codomyrmex-orchestrator/engine`: the local engine and the core model
// without config, discovery, workflow files or reporters (no zod, no yaml), for programs that build
// specs in code and care about start-up time.
export { LocalEngine } from './engines/local/local-engine.js';
export type { LocalEngineOptions } from './engines/local/local-engine.js';
export type { Engine, RunHandle, SubmitOptions } from './engines/engine.js';
export { DEFAULT_RETRY_POLICY, retryDelay } from './core/retry.js';
export type { RetryPolicy } from './core/retry.js';
export { NonRetryableError, RunError } from './core/errors.js';
export { RUN_STATUSES, FAILURE_REASONS } from './core/status.js';
export type { RunStatus, FinalStatus, FailureReason } from './core/status.js';
export type * from './core/spec.js';
export type { RunEvent, RunListener } from './core/events.js';
export type { StepResult, RunSummary } from './core/result.js';
