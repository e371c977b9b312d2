#!/usr/bin/env bash
# `make demo-rollback` (after `make demo`): rows written through the app on PostgreSQL, then
# playbooks/rollback.yml puts the app back on MySQL with those rows, and shows them there.
# Needs the state `make demo` leaves: a complete cutover record, not rolled back yet, and the demo
# app answering on PostgreSQL; otherwise it says what is missing and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg"
# The demo's work dir and app port (overridable for the tests of the prerequisite checks).
WORK=${PGSHIFT_DEMO_WORK:-$ROOT/.cache/pgshift/demo}
RECORD=$WORK/cutover-record.json
PORT=${PGSHIFT_DEMO_PORT:-8089}

need_demo() {  # need_demo REASON: the prerequisite is missing
  printf 'make demo-rollback needs a prior `make demo` (a completed cutover of the demo):\n  %s\n' "$1" >&2
  printf 'Run `make demo` first, then `make demo-rollback`.\n' >&2
  exit 1
}

[ -f "$RECORD" ] || need_demo "no cutover record at ${RECORD#"$ROOT"/}"
status=$(python -c "import json,sys; print(json.load(open(sys.argv[1])).get('status', '?'))" "$RECORD")
[ "$status" = complete ] || need_demo "the cutover record says status '$status', not 'complete' (the cutover did not finish)"
if [ -f "$WORK/rollback-record.json" ] && [ "$WORK/rollback-record.json" -nt "$RECORD" ]; then
  need_demo "this cutover was already rolled back (${WORK#"$ROOT"/}/rollback-record.json): the app is on MySQL"
fi
health=$(curl -fsS --max-time 5 "http://127.0.0.1:$PORT/healthz" 2>/dev/null) \
  || need_demo "the demo app does not answer on http://127.0.0.1:$PORT/healthz"
case $health in
  *'"backend": "postgresql"'*) ;;
  *) need_demo "the demo app is not on PostgreSQL (healthz: $health)" ;;
esac

STEP=start
say() { STEP=$*; printf '\n== %s\n' "$*"; }
trap 'printf "\n!! make demo-rollback FAILED during: %s (the playbook output above names the task)\n" "$STEP" >&2' ERR

say "rows written through the app on PostgreSQL"
curl -fsS -X POST -H 'Content-Type: application/json' -d '{"question": "Written on PostgreSQL: will MySQL get it back?"}' \
  "http://127.0.0.1:$PORT/qa/ask" | head -c 200; echo
curl -fsS -X POST -H 'Content-Type: application/json' -d '{"title": "Made on PostgreSQL", "body": "First paragraph.\n\nSecond paragraph."}' \
  "http://127.0.0.1:$PORT/content"; echo

say "rollback (playbooks/rollback.yml)"
ansible-playbook -i inventories/local playbooks/rollback.yml -e "@$WORK/demo-vars.json"

say "on MySQL now"
curl -fsS "http://127.0.0.1:$PORT/healthz"; echo
mariadb --defaults-extra-file=.lab/my.cnf -t -e \
  "SELECT id, question FROM qa_demo.qa_history ORDER BY id DESC LIMIT 3; SELECT id, title FROM qa_demo.content ORDER BY id DESC LIMIT 1; SELECT @@GLOBAL.read_only"

say "summary"
python - "$WORK/rollback-record.json" "$ROOT" <<'PY'
import json, os, sys
path, root = sys.argv[1], sys.argv[2]
r = json.load(open(path))
print("What happened")
print("  app switched back to MySQL; MariaDB read-write again")
print("  %s rows written on PostgreSQL after the switch %s" % (
    r["rows"], "copied back into MariaDB" if r["mode"] == "mysql" else "written to %s for review" % r["file"]))
for name, t in sorted((r.get("tables") or {}).items()):
    if t.get("method") == "unverifiable":
        print("    %-26s UNVERIFIABLE (%s rows at the switch, %s now)" % (name, t.get("rows_at_cutover"), t.get("rows_now")))
    else:
        print("    %-26s %s new, %s updated (found by %s)" % (name, t.get("new_rows") or 0, t.get("updated_rows") or 0,
                                                          t.get("method")))
print("  unverifiable tables (no integer key, no updated_at; check by hand): %s" % (", ".join(r["unverifiable"]) or "none"))
print("  smoke tests on MySQL: %s" % ("; ".join(r.get("smoke_tests") or []) or "none"))
print("Files")
print("  rollback record: " + os.path.relpath(path, root))
print("Next")
print("  make demo   (starts over: fresh demo data, rehearsal, cutover)")
PY
printf '\nROLLBACK OK: the app runs on MySQL with the rows written on PostgreSQL.\n'
