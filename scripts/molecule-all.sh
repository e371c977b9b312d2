#!/usr/bin/env bash
# Runs every Molecule scenario of every role that has one, after building (or reusing) the
# local Debian 12 systemd image they run in. Fails on the first failing scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
# No TTY in CI: plain output.
export ANSIBLE_FORCE_COLOR=false PY_COLORS=0 NO_COLOR=1
bash scripts/molecule-image.sh >/dev/null
shopt -s nullglob
ran=0
for role in roles/*/; do
  if [ -d "$role/molecule" ]; then
    for scenario in "$role"molecule/*/; do
      [ -f "$scenario/molecule.yml" ] || continue
      name=$(basename "$scenario")
      echo "-- molecule test: $(basename "$role") / $name"
      start=$(date +%s)
      (cd "$role" && molecule test -s "$name")
      echo "-- molecule test: $(basename "$role") / $name passed in $(( $(date +%s) - start )) s"
      ran=$((ran + 1))
    done
  fi
done
echo "molecule: $ran scenario(s) passed"
