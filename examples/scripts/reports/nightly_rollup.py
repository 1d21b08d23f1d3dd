"""Roll up the day's metrics. Slow on purpose: its timeout is raised in orchestrator.yaml."""
import sys
import time

if "--help" in sys.argv:
    print("usage: nightly_rollup.py [--steps N]")
    sys.exit(0)

steps = 4
for step in range(1, steps + 1):
    time.sleep(0.5)
    print(f"rollup step {step}/{steps} done", flush=True)
print("rollup complete")
