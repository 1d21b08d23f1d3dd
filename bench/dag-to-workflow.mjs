#!/usr/bin/env node
// Converts a ../shared/bench dag.json ({ name, concurrency, tasks: [{ id, cmd, deps }] }) into an
// orchestrator workflow file, so the workload runs through the CLI exactly as users run workflows.
// A task that runs a Python file with the dag's `python` (W4) becomes a `script` step, as a folder
// of scripts is run: `python3` from PATH is then resolved once per run (a pyenv shim costs a
// start of its own), and an interpreter given by path is the step's `interpreter`.
// Usage: node bench/dag-to-workflow.mjs DAG.json OUT.workflow.json
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [input, output] = process.argv.slice(2);
const dag = JSON.parse(readFileSync(input, 'utf8'));
const base = path.dirname(path.resolve(output));

function step(task) {
  const python = typeof dag.python === 'string' ? `${dag.python} ` : undefined;
  if (python !== undefined && task.cmd.startsWith(python) && task.cmd.endsWith('.py') && !/\s/.test(task.cmd.slice(python.length))) {
    const file = task.cmd.slice(python.length);
    return {
      id: task.id,
      script: path.relative(base, file),
      ...(dag.python.includes('/') ? { interpreter: dag.python } : {}),
    };
  }
  return { id: task.id, run: task.cmd };
}

const workflow = {
  name: dag.name ?? 'bench',
  concurrency: dag.concurrency ?? 4,
  steps: dag.tasks.map((task) => ({ ...step(task), ...(task.deps?.length ? { needs: task.deps } : {}) })),
};
writeFileSync(output, JSON.stringify(workflow));
