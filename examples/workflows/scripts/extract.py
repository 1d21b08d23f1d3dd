"""Reads the sales CSV and writes rows, regions and the best region to $ORCHESTRATOR_OUTPUT."""
import argparse
import collections
import csv
import os

parser = argparse.ArgumentParser()
parser.add_argument("--input", required=True)
options = parser.parse_args()

min_units = int(os.environ.get("MIN_UNITS", "1"))
units = collections.Counter()
rows = 0
# Paths are relative to the workflow file's folder, the step's working folder.
with open(options.input, newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        if not row["units"] or int(row["units"]) < min_units:
            continue
        rows += 1
        units[row["region"]] += int(row["units"])

top_region = units.most_common(1)[0][0] if units else ""
print(f"{rows} rows, top region {top_region or '-'}")
output = os.environ.get("ORCHESTRATOR_OUTPUT")
if output:
    with open(output, "a", encoding="utf-8") as f:
        f.write(f"rows={rows}\n")
        f.write(f"regions={','.join(sorted(units))}\n")
        f.write(f"top_region={top_region}\n")
        f.write("ok=true\n")
