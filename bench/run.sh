#!/usr/bin/env bash
# `npm run bench`: adds the orchestrator's row to the shared workloads, timed in the same run as the
# peers. Needs ../shared/bench and its peers (bash ../shared/bench/install-peers.sh, once).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shared="$(cd "$here/../../shared/bench" 2>/dev/null && pwd)" || { echo "../shared/bench not found" >&2; exit 2; }
export ENGINE_CMD="node $here/engine-adapter.mjs {dag} --concurrency {c}"
export ONLY_FAST="${ONLY_FAST:-1}"
cd "$here/.."
for w in ${WORKLOADS:-w1 w2}; do
  bash "$shared/$w/run.sh"
done
