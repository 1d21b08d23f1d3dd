"""Pretend test runner for one matrix combination: prints what it would test and passes."""
import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--os", required=True)
parser.add_argument("--python", required=True)
options = parser.parse_args()

print(f"running 12 tests on {options.os} with Python {options.python}")
output = os.environ.get("ORCHESTRATOR_OUTPUT")
if output:
    with open(output, "a", encoding="utf-8") as f:
        f.write("passed=12\n")
