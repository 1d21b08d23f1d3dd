#!/usr/bin/env bash
# `npm run bench`: puts the orchestrator's row into the shared workloads (../shared/bench), timed in
# the same run as the peers. Needs the peers once: bash ../shared/bench/install-peers.sh
#   W1 (400 spawns) and W2 (200-task DAG): through the CLI, as a workflow file (dag.json converted)
#   W3 (10,000 in-process steps): through the library, as an extra scheduler in a copy of w3/impls.mjs
#   W4 (40 Python scripts, 2 in flight): through the CLI, as a workflow of `script` steps
#   W5 (5,000 no-op steps on Redis): bench/w5/run.mjs, raw BullMQ beside the distributed engine
# WORKLOADS="w2 w3" picks workloads; RUNS, ONLY_FAST and the other knobs of ../shared/bench apply.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
shared="$(cd "$root/../shared/bench" 2>/dev/null && pwd)" || { echo "../shared/bench not found" >&2; exit 2; }
export PEERS="${PEERS:-/tmp/peers}" BENCH_WORK="${BENCH_WORK:-/tmp/peers/inputs}" ONLY_FAST="${ONLY_FAST:-1}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for w in ${WORKLOADS:-w1 w2 w3 w4 w5}; do
  case "$w" in
    w1|w2)
      node "$shared/$w/gen.mjs" --out "$BENCH_WORK/$w" >/dev/null
      node "$here/dag-to-workflow.mjs" "$BENCH_WORK/$w/dag.json" "$BENCH_WORK/$w/dag.json.workflow.json"
      ENGINE_CMD="node $root/dist/bin/orchestrator.cjs run {dag}.workflow.json --concurrency {c} --reporter json -o $out" \
        bash "$shared/$w/run.sh"
      ;;
    w4)
      # Both variants (python3 from PATH, here a pyenv shim; the interpreter by path), generated as
      # w4/run.sh generates them, so each dag.json has its workflow file beside it.
      node "$shared/w4/gen.mjs" --out "$BENCH_WORK/w4" --python python3 >/dev/null
      node "$shared/w4/gen.mjs" --out "$BENCH_WORK/w4-direct" --python direct >/dev/null
      for d in w4 w4-direct; do node "$here/dag-to-workflow.mjs" "$BENCH_WORK/$d/dag.json" "$BENCH_WORK/$d/dag.json.workflow.json"; done
      ENGINE_CMD="node $root/dist/bin/orchestrator.cjs run {dag}.workflow.json --concurrency {c} --reporter json -o $out" \
        bash "$shared/w4/run.sh"
      ;;
    w3)
      copy="$out/bench"
      cp -r "$shared" "$copy" && chmod -R u+w "$copy"
      printf "import { orchestrator } from '%s/w3-impl.mjs';\nimpls.orchestrator = orchestrator;\n" "$here" >> "$copy/w3/impls.mjs"
      (cd "$copy/.." && IMPLS="${IMPLS:-kahn plimit pqueue orchestrator}" bash bench/w3/run.sh)
      ;;
    w5)
      # Raw BullMQ and the distributed engine on one private redis-server, interleaved.
      node "$here/w5/run.mjs" --runs "${RUNS:-5}"
      ;;
    *) echo "unknown workload $w" >&2; exit 2 ;;
  esac
done
