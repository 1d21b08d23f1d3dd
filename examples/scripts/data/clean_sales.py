#!/usr/bin/env python3
"""Clean the daily sales export and print revenue per region.

Rows with a missing unit count are dropped and reported on stderr.
"""
import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default=str(Path(__file__).resolve().parents[2] / "data" / "sales.csv"))
    parser.add_argument("--currency", default="EUR")
    args = parser.parse_args()

    revenue: dict[str, float] = defaultdict(float)
    dropped = 0
    with open(args.input, newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["units"]:
                dropped += 1
                continue
            revenue[row["region"]] += int(row["units"]) * float(row["unit_price"])
    if dropped:
        print(f"dropped {dropped} row(s) without units", file=sys.stderr)
    print(json.dumps({"currency": args.currency, "revenue": dict(sorted(revenue.items()))}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
