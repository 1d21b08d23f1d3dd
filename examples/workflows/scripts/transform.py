"""Pretend transform of one region's rows (one matrix combination)."""
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--region", required=True)
parser.add_argument("--expected-rows", type=int, default=0)
options = parser.parse_args()
print(f"transformed region {options.region} (of {options.expected_rows} rows in total)")
