#!/usr/bin/env bash
# Runs every Molecule scenario of every role that has one, after building (or reusing) the local
# Debian 12 images they run in (scripts/molecule-image.sh). The scenarios run concurrently, each
# in its own container: most of their time is apt/dpkg, network and I/O waits, so two cores
# overlap them well. Each scenario's output goes to its own log, printed whole once it ends (no
# interleaving); the step fails if any scenario failed, naming it.
#   MOLECULE_JOBS=1 scripts/molecule-all.sh   one scenario at a time (default: all at once)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
# No TTY in CI: plain output.
export ANSIBLE_FORCE_COLOR=false PY_COLORS=0 NO_COLOR=1
JOBS=${MOLECULE_JOBS:-0}
LOGS=$(mktemp -d /tmp/pgshift-molecule.XXXXXX)
step_start=$(date +%s)
bash scripts/molecule-image.sh >/dev/null
echo "-- molecule: images ready in $(( $(date +%s) - step_start )) s"

# run_scenario ROLE_DIR NAME LOG: one `molecule test`, its output and timing into LOG, exit status
# into LOG.rc.
run_scenario() {
  local role=$1 name=$2 log=$3 start rc=0
  start=$(date +%s)
  (cd "$role" && molecule test -s "$name") >"$log" 2>&1 || rc=$?
  echo "-- $(basename "$role") / $name: exit $rc after $(( $(date +%s) - start )) s (load: $(cut -d' ' -f1-3 /proc/loadavg))" >>"$log"
  echo "$rc" >"$log.rc"
}

shopt -s nullglob
declare -a logs=() pids=()
# A Ctrl-C or kill of this script stops the scenarios it started.
trap 'kill "${pids[@]}" 2>/dev/null || true' INT TERM
for role in roles/*/; do
  [ -d "$role/molecule" ] || continue
  for scenario in "$role"molecule/*/; do
    [ -f "$scenario/molecule.yml" ] || continue
    name=$(basename "$scenario")
    log="$LOGS/$(basename "$role")-$name.log"
    echo "-- molecule test: $(basename "$role") / $name (log: $log)"
    run_scenario "$role" "$name" "$log" &
    pids+=("$!")
    logs+=("$log")
    if [ "$JOBS" -gt 0 ] && [ "${#pids[@]}" -ge "$JOBS" ]; then
      wait "${pids[0]}" || true
      pids=("${pids[@]:1}")
    fi
  done
done
for pid in "${pids[@]}"; do wait "$pid" || true; done

failed=()
for log in "${logs[@]}"; do
  echo "==================== $(basename "$log" .log) ===================="
  cat "$log"
  [ "$(cat "$log.rc" 2>/dev/null || echo 1)" = 0 ] || failed+=("$(basename "$log" .log)")
done
echo "-- molecule: ${#logs[@]} scenario(s), $(( ${#logs[@]} - ${#failed[@]} )) passed, whole step $(( $(date +%s) - step_start )) s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
for log in "${logs[@]}"; do tail -n 1 "$log"; done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "molecule: FAILED: ${failed[*]} (logs in $LOGS)" >&2
  exit 1
fi
[ "${#logs[@]}" -gt 0 ] || { echo "molecule: no scenario found" >&2; exit 1; }
echo "molecule: ${#logs[@]} scenario(s) passed"
