#!/bin/sh
# Pretend linter: checks that every helper script in this folder is non-empty.
set -eu
here=$(dirname "$0")
for file in "$here"/*; do
  if [ ! -s "$file" ]; then
    echo "lint: $file is empty" >&2
    exit 1
  fi
done
echo "lint ok ($*)"
