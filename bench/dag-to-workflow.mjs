#!/usr/bin/env node
// Converts a ../shared/bench dag.json ({ name, concurrency, tasks: [{ id, cmd, deps }] }) into an
// orchestrator workflow file, so the workload runs through the CLI exactly as users run workflows.
// Usage: node bench/dag-to-workflow.mjs DAG.json OUT.workflow.json
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output] = process.argv.slice(2);
const dag = JSON.parse(readFileSync(input, 'utf8'));
const workflow = {
  name: dag.name ?? 'bench',
  concurrency: dag.concurrency ?? 4,
  steps: dag.tasks.map((task) => ({
    id: task.id,
    run: task.cmd,
    ...(task.deps?.length ? { needs: task.deps } : {}),
  })),
};
writeFileSync(output, JSON.stringify(workflow));
