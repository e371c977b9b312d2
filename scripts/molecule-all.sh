#!/usr/bin/env bash
# Runs every Molecule scenario of every role that has one.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
shopt -s nullglob
ran=0
for role in roles/*/; do
  if [ -d "$role/molecule" ]; then
    for scenario in "$role"molecule/*/; do
      name=$(basename "$scenario")
      echo "-- molecule test: $(basename "$role") / $name"
      (cd "$role" && molecule test -s "$name")
      ran=$((ran + 1))
    done
  fi
done
echo "molecule: $ran scenario(s) passed"
