#!/usr/bin/env bash
# `make demo-rollback` (after `make demo`): rows written through the app on PostgreSQL, then
# playbooks/rollback.yml puts the app back on MySQL with those rows, and shows them there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg"
WORK=$ROOT/.cache/pgshift/demo
PORT=8089
if [ ! -f "$WORK/cutover-record.json" ]; then
  echo "no cutover record in $WORK: run \`make demo\` first" >&2; exit 1
fi

printf '\n== rows written through the app on PostgreSQL\n'
curl -fsS -X POST -H 'Content-Type: application/json' -d '{"question": "Written on PostgreSQL: will MySQL get it back?"}' \
  "http://127.0.0.1:$PORT/qa/ask" | head -c 200; echo
curl -fsS -X POST -H 'Content-Type: application/json' -d '{"title": "Made on PostgreSQL", "body": "First paragraph.\n\nSecond paragraph."}' \
  "http://127.0.0.1:$PORT/content"; echo

printf '\n== rollback\n'
ansible-playbook -i inventories/local playbooks/rollback.yml -e "@$WORK/demo-vars.json"

printf '\n== on MySQL now\n'
curl -fsS "http://127.0.0.1:$PORT/healthz"; echo
mariadb --defaults-extra-file=.lab/my.cnf -t -e \
  "SELECT id, question FROM qa_demo.qa_history ORDER BY id DESC LIMIT 3; SELECT id, title FROM qa_demo.content ORDER BY id DESC LIMIT 1; SELECT @@GLOBAL.read_only"
python -c "import json,sys; r=json.load(open(sys.argv[1])); print('written back: %s rows; unverifiable: %s' % (r['rows'], ', '.join(r['unverifiable']) or 'none'))" "$WORK/rollback-record.json"
