#!/usr/bin/env bash
# Start, stop and switch the example Q&A service as a background process with a pid file.
#   qa_appctl.sh start|stop|restart|status ENV_FILE
#   qa_appctl.sh maintenance on|off ENV_FILE
# The env file (KEY=VALUE, mode 0600: it holds DATABASE_URL) names QA_APP_STATE_DIR, where the pid
# file, the log and the maintenance flag live. The interpreter is $QA_APP_PYTHON (default python3);
# it needs PyMySQL or psycopg2, e.g. the collection's .venv/bin/python.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${QA_APP_PYTHON:-python3}

usage() { echo "usage: $0 start|stop|restart|status ENV_FILE | maintenance on|off ENV_FILE" >&2; exit 2; }

env_value() {  # env_value FILE KEY
  sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1" | tail -n1 | tr -d "\"'"
}

pid_alive() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

wait_healthy() {  # until /healthz answers (the server may take a moment to bind)
  local listen url
  listen=$(env_value "$ENV_FILE" QA_APP_LISTEN); listen=${listen:-127.0.0.1:8089}
  url="http://$listen/healthz"
  for _ in $(seq 1 100); do
    if "$PY" -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url" 2>/dev/null; then
      return 0
    fi
    pid_alive || { echo "qa_app exited: see $LOG" >&2; tail -n 20 "$LOG" >&2; return 1; }
    sleep 0.1
  done
  echo "qa_app did not answer on $url within 10 s: see $LOG" >&2
  return 1
}

start() {
  if pid_alive; then echo "qa_app already running (pid $(cat "$PIDFILE"))"; return 0; fi
  # setsid + redirected fds: the caller (Ansible's command module) does not wait for the server.
  setsid "$PY" "$HERE/qa_app.py" --env-file "$ENV_FILE" >>"$LOG" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  wait_healthy
  echo "qa_app started (pid $(cat "$PIDFILE"))"
}

stop() {
  if ! pid_alive; then rm -f "$PIDFILE"; echo "qa_app not running"; return 0; fi
  local pid; pid=$(cat "$PIDFILE")
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$PIDFILE"
  echo "qa_app stopped (pid $pid)"
}

[ $# -ge 2 ] || usage
if [ "$1" = maintenance ]; then
  [ $# -eq 3 ] || usage
  ENV_FILE=$3
else
  ENV_FILE=$2
fi
[ -r "$ENV_FILE" ] || { echo "env file $ENV_FILE not readable" >&2; exit 1; }
STATE=$(env_value "$ENV_FILE" QA_APP_STATE_DIR)
STATE=${STATE:-$(dirname "$ENV_FILE")}
mkdir -p "$STATE"
PIDFILE=$STATE/qa_app.pid
LOG=$STATE/qa_app.log

case "$1" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if pid_alive; then echo "running (pid $(cat "$PIDFILE"))"; else echo "stopped"; exit 3; fi ;;
  maintenance)
    case "$2" in
      on) touch "$STATE/maintenance"; echo "maintenance on" ;;
      off) rm -f "$STATE/maintenance"; echo "maintenance off" ;;
      *) usage ;;
    esac ;;
  *) usage ;;
esac
