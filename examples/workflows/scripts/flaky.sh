#!/bin/sh
# Fails with exit code 75 (EX_TEMPFAIL) the first $1 times it runs in a run, then succeeds.
# The counter file is keyed by the run id, so separate runs do not share it.
set -eu
failures=${1:-2}
dir=${ORCHESTRATOR_RUN_DIR:-${TMPDIR:-/tmp}}
counter="$dir/flaky-${ORCHESTRATOR_RUN_ID:-manual}.count"
count=$(cat "$counter" 2>/dev/null || echo 0)
count=$((count + 1))
echo "$count" > "$counter"
if [ "$count" -le "$failures" ]; then
  echo "attempt $count: service unavailable, try again" >&2
  exit 75
fi
rm -f "$counter"
echo "attempt $count: ok"
if [ -n "${ORCHESTRATOR_OUTPUT:-}" ]; then
  echo "attempts=$count" >> "$ORCHESTRATOR_OUTPUT"
fi
