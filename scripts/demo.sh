#!/usr/bin/env bash
# `make demo` (after `make lab-up`): demo data into the lab's MariaDB, the example Q&A app on it,
# a rehearsal, the cutover, smoke tests green on PostgreSQL, then the report's path and a summary.
# Rerunnable: it resets the demo database, the PostgreSQL target and the demo work dir first.
#   DEMO_CONTENTS=200 DEMO_DIMENSIONS=1536 bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg"
export QA_APP_PYTHON="$ROOT/.venv/bin/python"
DB=qa_demo
WORK=$ROOT/.cache/pgshift/demo
APP_DIR=$WORK/app
ENV_FILE=$APP_DIR/qa_app.env
PORT=8089
CONTENTS=${DEMO_CONTENTS:-200}
DIMENSIONS=${DEMO_DIMENSIONS:-1536}
VARS=$WORK/demo-vars.json

say() { printf '\n== %s\n' "$*"; }

say "reset: demo database, PostgreSQL target, work dir"
[ -f "$ENV_FILE" ] && examples/qa_app/qa_appctl.sh stop "$ENV_FILE" >/dev/null || true
mariadb --defaults-extra-file=.lab/my.cnf -e "SET GLOBAL read_only = OFF"
PGPASSFILE=.lab/pgpass psql -q -h 127.0.0.1 -U pgshift -d postgres \
  -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS ${DB}_rehearsal WITH (FORCE)"
rm -rf "$WORK" && mkdir -p "$APP_DIR" && chmod 0700 "$WORK"

say "demo data into MariaDB ($CONTENTS contents, embeddings of $DIMENSIONS dimensions as JSON objects)"
python examples/qa_app/seed.py --defaults-file .lab/my.cnf --database "$DB" --replace \
  --contents "$CONTENTS" --dimensions "$DIMENSIONS"

say "the Q&A app on MySQL (127.0.0.1:$PORT)"
# The env file holds the URL with its password: written by the shell (no command line), mode 0600.
(umask 077; printf 'DATABASE_URL=mysql://pgshift:%s@127.0.0.1:3306/%s\nQA_APP_LISTEN=127.0.0.1:%s\nQA_APP_STATE_DIR=%s\nQA_APP_BYPASS_TOKEN=pgshift-smoke\n' \
  "$(cat .lab/mysql.password)" "$DB" "$PORT" "$APP_DIR" > "$ENV_FILE")
examples/qa_app/qa_appctl.sh start "$ENV_FILE"
printf '{"pgshift_embeddings": [{"table": "content_embedding", "column": "embedding", "dimensions": %s, "type": "vector", "format": "json_object", "index": {"method": "hnsw", "opclass": "cosine"}}]}\n' \
  "$DIMENSIONS" > "$VARS"

say "rehearsal (scratch database ${DB}_rehearsal)"
ansible-playbook -i inventories/local playbooks/rehearsal.yml -e "@$VARS"

say "cutover"
ansible-playbook -i inventories/local playbooks/cutover.yml -e "@$VARS"

say "smoke tests, by hand, on the switched app"
curl -fsS "http://127.0.0.1:$PORT/healthz"; echo
curl -fsS "http://127.0.0.1:$PORT/qa/history?limit=2"; echo
curl -fsS -X POST -H 'Content-Type: application/json' -d '{"question": "How do I reset a sequence?"}' \
  "http://127.0.0.1:$PORT/qa/ask"; echo

say "summary"
python - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
record = json.load(open(work + "/cutover-record.json"))
report = json.load(open(record["report_path"]))
rehearsal = json.load(open(work + "/reports/rehearsal-latest.json"))
print("rehearsal: %s, estimated cutover downtime %s s" % (rehearsal["status"], rehearsal["estimated_downtime_seconds"]))
print("cutover:   %s, %s rows in %s s" % (report["status"], report["rows"], report["total_seconds"]))
print("phases:    " + ", ".join("%s %.2fs" % (p["phase"], p["seconds"]) for p in report["phases"]))
print("binlog:    %(file)s:%(position)s" % record["mysql"]["binlog"])
print("report:    " + record["report_path"] + " (and .md)")
print("record:    " + work + "/cutover-record.json")
print("app:       on PostgreSQL; `make demo-rollback` puts it back on MySQL with the rows written since")
PY
