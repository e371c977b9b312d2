#!/usr/bin/env bash
# ruff + ansible-lint. Molecule's prerun copies the collection into ~/.ansible/collections, which
# ansible-lint searches first: a stale copy there hides the working tree's modules, so remove it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
rm -rf "${HOME}/.ansible/collections/ansible_collections/pgshift/mysql"
ruff check .
# Changelog fragments (changelogs/fragments), when antsibull-changelog is installed (requirements.txt).
if command -v antsibull-changelog >/dev/null; then antsibull-changelog lint; fi
ansible-lint --offline -q
