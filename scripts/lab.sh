#!/usr/bin/env bash
# The local lab: MariaDB on 127.0.0.1:3306 and PostgreSQL 15 + pgvector on 127.0.0.1:5432, started
# without systemd. Credentials are generated once and kept in .lab/ (mode 0600), never on a
# command line: SQL that sets passwords is fed on stdin.
#   scripts/lab.sh up | down | status
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=.lab
PG_MAJOR=15
PG_CLUSTER=main
PG_PORT=5432
MY_PORT=3306
LAB_USER=pgshift

log() { printf '[lab] %s\n' "$*"; }

secret() {  # secret NAME: a random password generated once and kept in .lab/NAME (0600)
  local f="$LAB/$1"
  if [ ! -s "$f" ]; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$f")
  fi
  cat "$f"
}

write_credentials() {
  local mypw="$1" pgpw="$2"
  (umask 077
   printf '[client]\nhost=127.0.0.1\nport=%s\nuser=%s\npassword="%s"\n' "$MY_PORT" "$LAB_USER" "$mypw" > "$LAB/my.cnf"
   printf '127.0.0.1:%s:*:%s:%s\nlocalhost:%s:*:%s:%s\n' "$PG_PORT" "$LAB_USER" "$pgpw" "$PG_PORT" "$LAB_USER" "$pgpw" > "$LAB/pgpass"
   printf '[pgshift_lab]\nhost=127.0.0.1\nport=%s\nuser=%s\ndbname=postgres\n' "$PG_PORT" "$LAB_USER" > "$LAB/pg_service.conf"
   cat > "$LAB/lab.json" <<JSON
{"mysql": {"host": "127.0.0.1", "port": $MY_PORT, "user": "$LAB_USER", "password": "$mypw",
           "defaults_file": "$PWD/$LAB/my.cnf"},
 "postgresql": {"host": "127.0.0.1", "port": $PG_PORT, "user": "$LAB_USER", "password": "$pgpw",
                "database": "postgres", "passfile": "$PWD/$LAB/pgpass",
                "service_file": "$PWD/$LAB/pg_service.conf"}}
JSON
  )
}

mariadb_up() {
  local conf=/etc/mysql/mariadb.conf.d/60-pgshift-lab.cnf
  local want='# pgshift lab: binary log for snapshot positions and the binlog sync, large packets for big rows
[mysqld]
port = 3306
bind-address = 127.0.0.1
server_id = 1
log_bin = /var/lib/mysql/mariadb-bin
binlog_format = ROW
binlog_row_image = FULL
binlog_row_metadata = FULL
max_allowed_packet = 1G
innodb_buffer_pool_size = 1G
innodb_flush_log_at_trx_commit = 2'
  if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
    printf '%s\n' "$want" > "$conf"
    if mariadb-admin --protocol=socket ping >/dev/null 2>&1; then
      log "MariaDB config changed: restarting"; /etc/init.d/mariadb stop >/dev/null
    fi
  fi
  if ! mariadb-admin --protocol=socket ping >/dev/null 2>&1; then
    log "starting MariaDB"
    /etc/init.d/mariadb start >/dev/null
  fi
  for _ in $(seq 1 60); do mariadb-admin --protocol=socket ping >/dev/null 2>&1 && break; sleep 0.5; done
  mariadb --protocol=socket -u root <<SQL
CREATE USER IF NOT EXISTS '$LAB_USER'@'127.0.0.1' IDENTIFIED BY '$1';
CREATE USER IF NOT EXISTS '$LAB_USER'@'localhost' IDENTIFIED BY '$1';
ALTER USER '$LAB_USER'@'127.0.0.1' IDENTIFIED BY '$1';
ALTER USER '$LAB_USER'@'localhost' IDENTIFIED BY '$1';
GRANT ALL PRIVILEGES ON *.* TO '$LAB_USER'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$LAB_USER'@'localhost' WITH GRANT OPTION;
SQL
}

postgresql_up() {
  # The postgresql_pgvector role (playbooks/lab.yml) creates/starts the cluster with pg_ctlcluster,
  # writes the tuned settings, pg_hba, the `pgshift` superuser (password read by the play from
  # $LAB/postgresql.password, never from a command line) and the vector extension in template1.
  # Idempotent: a rerun changes nothing and restarts nothing.
  log "PostgreSQL $PG_MAJOR/$PG_CLUSTER: applying playbooks/lab.yml"
  if ! (umask 077; ANSIBLE_CONFIG="$PWD/ansible.cfg" .venv/bin/ansible-playbook playbooks/lab.yml >"$LAB/postgresql-play.log" 2>&1); then
    tail -n 40 "$LAB/postgresql-play.log" >&2
    log "playbooks/lab.yml failed (full output: $LAB/postgresql-play.log)"
    return 1
  fi
  grep -E '^localhost +:' "$LAB/postgresql-play.log" | sed 's/^/[lab]   /'
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.5; done
}

case "${1:-up}" in
  up)
    mkdir -p "$LAB" && chmod 0700 "$LAB"
    mypw=$(secret mysql.password); pgpw=$(secret postgresql.password)
    mariadb_up "$mypw"
    postgresql_up "$pgpw"
    write_credentials "$mypw" "$pgpw"
    log "MariaDB $(mariadb --defaults-extra-file=$LAB/my.cnf -N -e 'SELECT VERSION()') on 127.0.0.1:$MY_PORT"
    log "PostgreSQL $(PGPASSFILE=$LAB/pgpass psql -h 127.0.0.1 -p $PG_PORT -U $LAB_USER -d postgres -Atc 'SHOW server_version') with pgvector on 127.0.0.1:$PG_PORT"
    log "credentials: $LAB/my.cnf $LAB/pgpass $LAB/pg_service.conf (mode 0600)"
    ;;
  down)
    pg_ctlcluster "$PG_MAJOR" "$PG_CLUSTER" stop 2>/dev/null || true
    /etc/init.d/mariadb stop >/dev/null 2>&1 || true
    log "lab stopped"
    ;;
  status)
    pg_ctlcluster "$PG_MAJOR" "$PG_CLUSTER" status >/dev/null 2>&1 && log "PostgreSQL up" || log "PostgreSQL down"
    mariadb-admin --protocol=socket ping >/dev/null 2>&1 && log "MariaDB up" || log "MariaDB down"
    ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
