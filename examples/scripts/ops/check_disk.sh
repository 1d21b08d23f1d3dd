#!/usr/bin/env bash
# Warn when the disk holding the project is more than THRESHOLD percent full (default 95).
set -euo pipefail
if [[ "${1:-}" == "--help" ]]; then
  echo "usage: check_disk.sh [--help]"; echo "env: THRESHOLD (percent, default 95)"; exit 0
fi
threshold="${THRESHOLD:-95}"
used=$(df -P . | awk 'NR==2 { gsub("%", "", $5); print $5 }')
echo "disk usage: ${used}% (threshold ${threshold}%)"
if (( used > threshold )); then
  echo "disk almost full" >&2
  exit 1
fi
