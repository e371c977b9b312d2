#!/usr/bin/env bash
# `make test`: lint, then every pytest (unit + integration against the lab), then Molecule.
# A pytest run that collects nothing fails (exit 5 is not success).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
start=$(date +%s)
echo "== lint"
bash scripts/lint.sh
echo "== pytest (unit + integration)"
pytest -q -p no:cacheprovider tests
echo "== molecule"
bash scripts/molecule-all.sh
echo "== all tests passed in $(( $(date +%s) - start )) s"
