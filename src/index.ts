// The public API. Every export is listed one by one and documented in docs/api.md.

// Core model
export { RUN_STATUSES, FINAL_STATUSES, FAILURE_REASONS, isFailureStatus, isFinalStatus } from './core/status.js';
export type { RunStatus, FinalStatus, FailureReason } from './core/status.js';
export type {
  StepSpec,
  StepCommon,
  ScriptStep,
  CommandStep,
  StepKind,
  ScriptKind,
  FunctionStep,
  ModuleStep,
  PythonStep,
  SubWorkflowStep,
  StepContext,
  ConditionContext,
  NeedResult,
  MatrixValue,
  WorkflowSpec,
  FailurePolicy,
} from './core/spec.js';
export type { RunEvent, RunEventType, RunEventOf, RunListener, StepInfo } from './core/events.js';
export type { StepResult, RunSummary, StatusCounts } from './core/result.js';
export { DEFAULT_RETRY_POLICY, retryDelay } from './core/retry.js';
export type { RetryPolicy } from './core/retry.js';
export { describeFailure } from './core/failure.js';
export { NonRetryableError, RunError } from './core/errors.js';
export { analyzeWorkflowDependencies, dagDiagnostics, formatCycle } from './core/dag.js';
export type { DagAnalysis, DagStep, DagDiagnostic } from './core/dag.js';
export { expandMatrix, expandStepMatrix, matrixStepId, MATRIX_MAX_COMBINATIONS } from './core/matrix.js';
export type { MatrixSpec, MatrixCombination } from './core/matrix.js';
export { parseOutputs, outputEnvName, OUTPUT_LIMITS } from './core/outputs.js';
export { parseDuration, formatDuration } from './core/duration.js';

// Discovery and config
export { discoverScripts, describeScript, DEFAULT_SKIP_DIRS, DEFAULT_SKIP_FILES, mergeSkipList } from './discovery/index.js';
export type { DiscoveredScript, DiscoverOptions, DiscoveryResult, DiscoveryWarning } from './discovery/index.js';
export { loadConfig } from './folder/load-config.js';
export { validateConfig } from './folder/validate-config.js';
export {
  getScriptConfig,
  parseConfigText,
  findProjectRoot,
  formatDiagnostic,
  matchesPattern,
  configJsonSchema,
  ConfigError,
  CONFIG_FILE_NAMES,
} from './config/index.js';
export type { ScriptConfig, LoadedConfig, ConfigFile, Diagnostic, LoadConfigOptions } from './config/index.js';
export { folderToWorkflow, resolveScriptConfig } from './folder/folder-workflow.js';
export { loadWorkflowFile, validateWorkflowFile, parseWorkflowText, workflowJsonSchema } from './workflow-file/index.js';
export {
  parseExpression,
  evaluateExpression,
  evaluateCondition,
  renderTemplate,
  hasTemplates,
  ExpressionError,
} from './expressions/index.js';
export type { ExpressionContext } from './expressions/index.js';
export type { FolderRunSettings, FolderWorkflow } from './folder/folder-workflow.js';

// Running
export { runProcess } from './execution/process-runner.js';
export type { ProcessOptions, ProcessOutcome } from './execution/process-runner.js';
export { InterpreterResolver } from './execution/interpreter.js';
export type { Engine, RunHandle, SubmitOptions } from './engines/engine.js';
export { LocalEngine } from './engines/local/local-engine.js';
export { runScript, runScripts } from './api/run-scripts.js';
export type { RunScriptOptions, RunScriptsOptions } from './api/run-scripts.js';
export { runFolder } from './api/run-folder.js';
export { runWorkflowFile } from './api/run-workflow-file.js';
export type { RunWorkflowFileOptions } from './api/run-workflow-file.js';
export { runSpec } from './api/run-spec.js';
export type { RunSpecOptions, SpecRunResult } from './api/run-spec.js';
export type { RunFolderOptions, FolderRunResult } from './api/run-folder.js';

// Reports
export { generateReport, saveLog, REPORT_FORMATS } from './api/reports.js';
export type { ReportFormat } from './api/reports.js';
export { generateScriptDocumentation } from './api/script-documentation.js';
export type { ScriptDocumentationOptions } from './api/script-documentation.js';
export {
  ConsoleReporter,
  renderFinalSummary,
  renderMarkdownReport,
  renderJUnit,
  toJsonSummary,
  writeJsonReport,
  writeMarkdownReport,
  writeJUnitReport,
  renderScriptDocumentation,
  extractDescription,
  SUMMARY_JSON_SCHEMA,
} from './reporters/index.js';
export { renderGraph, GRAPH_FORMATS } from './reporters/graph.js';
export type { GraphFormat } from './reporters/graph.js';
export { renderGantt, renderMermaidDag } from './reporters/timeline.js';
export type { ConsoleReporterOptions } from './reporters/index.js';
export { githubAnnotations, isGitHubActions, detectCi, exitCodeFor, EXIT_CODES } from './bridges/index.js';
export { newRunId } from './util/run-id.js';

// Run history
export { SqliteRunStore, StoreError, storeListener, resolveStateDir, STATE_DIR_ENV } from './store/index.js';
export type { RunStore, RunInfo, RunRecord, StepRecord, ListRunsOptions, PruneOptions, RunClaim, RunOwner } from './store/index.js';
export type { StepCache, CacheEntry } from './engines/engine.js';
export {
  recoverInterruptedRuns,
  rerunStoredRun,
  keptResults,
  downstreamOf,
  resumableRunInfo,
  recordRun,
  CANCEL_REQUEST_REASON,
  planToJson,
  planFromRecord,
} from './api/history.js';
export type { RerunMode, RerunOptions, RecoveredRun, StoredPlan, StartedRun, RunOrigin, RecordRunOptions, RunRecording } from './api/history.js';

// DSL
export {
  Workflow,
  workflow,
  getStepResult,
  stepValues,
  StepDescriptor,
  chain,
  chainWith,
  parallel,
  parallelWith,
  fanOutFanIn,
  uniqueStepIds,
  step,
  retry,
  timeout,
  condition,
  script,
  pythonFunc,
  moduleFunc,
  shell,
  ShellCommand,
  ShellError,
  pipe,
  Pipe,
  PipeError,
  batch,
  Batch,
  ParallelRunner,
  BatchRunner,
  runParallel,
} from './dsl/index.js';
export type {
  WorkflowOptions,
  AddTaskOptions,
  StepIdsOf,
  StepFn,
  StepAction,
  StepConvertible,
  StepBody,
  StepOptions,
  StepRef,
  RunOptions,
  ProgressUpdate,
  ProgressListener,
  ComposeOptions,
  FanOutFanInOptions,
  RetryOptions,
  StepPredicate,
  ScriptOptions,
  PythonFuncOptions,
  ShellOptions,
  ShellResult,
  ShellRunOptions,
  PipeOptions,
  PipeResult,
  PipeCommandResult,
  PipeRunOptions,
  BatchOptions,
  BatchRunOptions,
  ParallelRunnerOptions,
  ParallelRunOptions,
  BatchRunnerOptions,
  RunBatchesOptions,
  RunParallelOptions,
} from './dsl/index.js';
