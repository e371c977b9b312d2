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

STEP=start
say() { STEP=$*; printf '\n== %s\n' "$*"; }
# On any failure: say which step failed and where to look (the playbook output above says why).
on_error() {
  printf '\n!! make demo FAILED during: %s\n' "$STEP" >&2
  printf '!! The playbook output above names the failed task. A cutover that failed before the switch\n' >&2
  printf '!! left MariaDB read-write and the app on MySQL; rerun `make demo` once fixed (it starts over).\n' >&2
  [ -d "$WORK/reports" ] && printf '!! Reports so far: %s\n' "$WORK/reports" >&2
  exit 1
}
trap on_error ERR

say "reset: demo database, PostgreSQL target, work dir"
[ -f "$ENV_FILE" ] && examples/qa_app/qa_appctl.sh stop "$ENV_FILE" >/dev/null || true
mariadb --defaults-extra-file=.lab/my.cnf -e "SET GLOBAL read_only = OFF"
PGPASSFILE=.lab/pgpass PGOPTIONS='-c client_min_messages=warning' psql -q -h 127.0.0.1 -U pgshift -d postgres \
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
curl -fsS "http://127.0.0.1:$PORT/qa/history?limit=2" | head -c 300; echo
curl -fsS -X POST -H 'Content-Type: application/json' -d '{"question": "How do I reset a sequence?"}' \
  "http://127.0.0.1:$PORT/qa/ask" | head -c 300; echo

say "summary"
READ_ONLY=$(mariadb --defaults-extra-file=.lab/my.cnf -N -B -e "SELECT @@GLOBAL.read_only")
python - "$WORK" "$ROOT" "$READ_ONLY" <<'PY'
import json, os, sys
work, root, read_only = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
rel = lambda p: os.path.relpath(p, root) if p.startswith(root + "/") else p
record = json.load(open(work + "/cutover-record.json"))
report = json.load(open(record["report_path"]))
rehearsal = json.load(open(work + "/reports/rehearsal-latest.json"))
smoke = record.get("smoke_tests") or []
binlog = record["mysql"]["binlog"]
print("What happened")
print("  1. rehearsal into %s_rehearsal: %s (estimated cutover downtime %s s), scratch database dropped"
      % (report["target"]["database"], rehearsal["status"].upper(), rehearsal["estimated_downtime_seconds"]))
print("  2. cutover: MariaDB read-only, dumped at binlog %s:%s, %s rows migrated and verified (%s), in %s s"
      % (binlog.get("file"), binlog.get("position"), report["rows"], report["status"].upper(), report["total_seconds"]))
print("     phases: " + ", ".join("%s %.1fs" % (p["phase"], float(p["seconds"])) for p in report["phases"]))
print("  3. app switched to PostgreSQL; smoke tests: %s" % ("; ".join(smoke) or "none"))
print("Now")
print("  app:      http://127.0.0.1:8089 on PostgreSQL %s/%s (status %s)"
      % (record["postgresql"]["host"], record["postgresql"]["database"], record["status"]))
print("  MariaDB:  %s" % ("read-only, kept as it was at the switch (for a rollback)" if read_only
                         else "READ-WRITE (expected read-only after a cutover: check it)"))
print("Files")
print("  report:          " + rel(record["report_path"][:-5] + ".md") + "  (JSON: .json beside it)")
print("  rehearsal:       " + rel(work + "/reports/rehearsal-latest.md"))
print("  cutover record:  " + rel(work + "/cutover-record.json") + "  (what rollback.yml reads)")
print("Roll back")
print("  make demo-rollback   (app back on MySQL with the rows written on PostgreSQL since the switch)")
PY
printf '\nDEMO OK: the app runs on PostgreSQL; smoke tests green.\n'
