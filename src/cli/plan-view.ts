import path from 'node:path';
import pc from 'picocolors';
import { formatDuration } from '../core/duration.js';
import { analyzeWorkflowDependencies } from '../core/dag.js';
import type { ScriptStep, StepSpec, WorkflowSpec } from '../core/spec.js';
import type { FolderWorkflow } from '../folder/folder-workflow.js';

/** What `list` and `run --dry-run` show: every script with its resolved config, and what is skipped and why. */
export function renderPlan(plan: FolderWorkflow, color: boolean): string {
  const c = pc.createColors(color);
  const lines: string[] = [];
  const steps = plan.spec.steps as ScriptStep[];
  const toRun = steps.filter((s) => !s.skip);
  const skipped = steps.filter((s) => s.skip);
  lines.push(
    c.bold(`${toRun.length} script(s) would run from ${plan.spec.source ?? plan.spec.name}`) +
      c.dim(` (concurrency ${plan.spec.concurrency}, failure policy ${plan.spec.failurePolicy})`),
  );
  for (const step of toRun) {
    const details = [
      step.scriptKind,
      `timeout ${step.timeout > 0 ? formatDuration(step.timeout) : 'none'}`,
      ...(step.args.length > 0 ? [`args ${step.args.join(' ')}`] : []),
      ...(step.retry.maxAttempts > 1 ? [`retries ${step.retry.maxAttempts - 1}`] : []),
      ...(step.memoryLimitMb !== undefined ? [`memory ${step.memoryLimitMb} MiB`] : []),
      ...(step.interpreter ? [`interpreter ${step.interpreter.join(' ')}`] : []),
      ...(Object.keys(step.env).length > 0 ? [`env ${Object.keys(step.env).join(',')}`] : []),
      ...(step.cwd !== path.dirname(step.path) ? [`cwd ${step.cwd}`] : []),
      ...(step.tags.length > 0 ? [`tags ${step.tags.join(',')}`] : []),
    ];
    lines.push(`  WOULD RUN  ${step.id}  ${c.dim(details.join(' · '))}`);
  }
  for (const step of skipped) {
    lines.push(`  ${c.yellow('WOULD SKIP')} ${step.id} (${step.skip?.reason ?? ''})`);
  }
  lines.push(`Skipped by config: ${skipped.length}`);
  for (const warning of plan.warnings) lines.push(c.yellow(`warning: ${warning.path}: ${warning.message}`));
  if (plan.config.files.length > 0) {
    lines.push(c.dim(`config: ${plan.config.files.map((f) => f.path).join(', ')}`));
  }
  return lines.join('\n') + '\n';
}

export function planJson(plan: FolderWorkflow): unknown {
  return {
    folder: plan.spec.source,
    concurrency: plan.spec.concurrency,
    failurePolicy: plan.spec.failurePolicy,
    configFiles: plan.config.files.map((f) => f.path),
    warnings: plan.warnings,
    scripts: (plan.spec.steps as ScriptStep[]).map((s) => ({
      id: s.id,
      path: s.path,
      kind: s.scriptKind,
      group: s.group,
      timeoutMs: s.timeout,
      args: s.args,
      env: s.env,
      cwd: s.cwd,
      allowedExitCodes: s.allowedExitCodes,
      maxAttempts: s.retry.maxAttempts,
      retryOnExitCodes: s.retry.retryOnExitCodes,
      memoryLimitMb: s.memoryLimitMb ?? null,
      interpreter: s.interpreter ?? null,
      tags: s.tags,
      skip: s.skip ?? null,
    })),
  };
}

function describeAction(step: StepSpec): string {
  switch (step.kind) {
    case 'command':
      return `run: ${step.command.split('\n')[0] ?? ''}`;
    case 'script':
      return `script: ${step.relativePath}${step.args.length > 0 ? ` ${step.args.join(' ')}` : ''}`;
    case 'module':
      return `function: ${step.module}#${step.export}`;
    case 'python':
      return `python: ${step.target}`;
    case 'workflow':
      return `workflow: ${step.workflow.name}`;
    case 'function':
      return 'function';
  }
}

/** `run --dry-run --json` for a workflow file: the same plan as data (levels, each step's action and settings). */
export function workflowPlanJson(spec: WorkflowSpec): unknown {
  const analysis = analyzeWorkflowDependencies(spec.steps);
  return {
    workflow: spec.name,
    source: spec.source ?? null,
    concurrency: spec.concurrency,
    failurePolicy: spec.failurePolicy,
    timeoutMs: spec.timeout,
    levels: analysis.levels,
    criticalPath: analysis.criticalPath,
    steps: spec.steps.map((step) => ({
      id: step.id,
      kind: step.kind,
      action: describeAction(step),
      needs: step.needs,
      if: step.if ?? null,
      timeoutMs: step.timeout,
      maxAttempts: step.retry.maxAttempts,
      continueOnError: step.continueOnError === true,
      skip: step.skip ?? null,
    })),
  };
}

/** What `run --dry-run` shows for a workflow file: steps level by level, with their needs and conditions. */
export function renderWorkflowPlan(spec: WorkflowSpec, color: boolean): string {
  const c = pc.createColors(color);
  const analysis = analyzeWorkflowDependencies(spec.steps);
  const byId = new Map(spec.steps.map((s) => [s.id, s]));
  const lines = [
    c.bold(`${spec.steps.length} step(s) in workflow ${spec.name}`) +
      c.dim(` (concurrency ${spec.concurrency}, failure policy ${spec.failurePolicy}${spec.timeout > 0 ? `, timeout ${formatDuration(spec.timeout)}` : ''})`),
  ];
  analysis.levels.forEach((level, index) => {
    lines.push(c.dim(`level ${index}`));
    for (const id of level) {
      const step = byId.get(id);
      if (!step) continue;
      const details = [
        describeAction(step),
        ...(step.needs.length > 0 ? [`needs ${step.needs.join(', ')}`] : []),
        ...(step.if ? [`if ${step.if}`] : []),
        ...(step.timeout > 0 ? [`timeout ${formatDuration(step.timeout)}`] : []),
        ...(step.retry.maxAttempts > 1 ? [`attempts ${step.retry.maxAttempts}`] : []),
        ...(step.continueOnError ? ['continue-on-error'] : []),
      ];
      lines.push(`  ${step.skip ? c.yellow('WOULD SKIP') : 'WOULD RUN '} ${id}  ${c.dim(details.join(' · '))}`);
    }
  });
  if (analysis.criticalPath.length > 1) lines.push(c.dim(`critical path: ${analysis.criticalPath.join(' -> ')}`));
  return lines.join('\n') + '\n';
}
