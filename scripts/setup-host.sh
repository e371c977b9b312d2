#!/usr/bin/env bash
# Idempotent host set-up on Debian 12 as root: apt packages, pgvector from source, podman config,
# the project's venv. A second run changes nothing and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  mariadb-server mariadb-client
  postgresql-15 postgresql-client-15 postgresql-server-dev-15 postgresql-contrib
  build-essential dpkg-dev python3-venv python3-dev
  pgloader
  podman runc debootstrap iptables uidmap systemd-container zstd
  time procps sudo curl ca-certificates
  python3-psycopg2 acl  # the lab play runs modules as postgres under the system Python
)
PG_MAJOR=15
BUILD_DIR=/var/cache/pgshift/build

log() { printf '[setup] %s\n' "$*"; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing apt packages: ${missing[*]}"
  apt-get update -q
  # Debian's postinst scripts try to start services; there is no systemd here, the lab starts them.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "apt packages present"
fi

# pgvector: Debian 12 has no package; build trixie's source package (0.8.x) against PG 15.
if [ ! -f "/usr/share/postgresql/${PG_MAJOR}/extension/vector.control" ]; then
  log "building pgvector from the Debian source package"
  cat > /etc/apt/sources.list.d/pgshift-trixie-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update -q
  rm -rf "$BUILD_DIR/pgvector" && mkdir -p "$BUILD_DIR/pgvector"
  (cd "$BUILD_DIR/pgvector" && apt-get source -q pgvector >/dev/null)
  src=$(find "$BUILD_DIR/pgvector" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n1)
  # OPTFLAGS="" avoids -march=native: the library must run on any x86_64 host.
  make -C "$src" -s OPTFLAGS="" PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
  make -C "$src" -s install PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
else
  log "pgvector present: $(grep default_version /usr/share/postgresql/${PG_MAJOR}/extension/vector.control)"
fi

# Podman on these hosts: no CAP_SYS_RESOURCE (default nofile cannot be set) and a hybrid cgroup
# layout that crun refuses (see shared notes); runc works.
conf=/etc/containers/containers.conf
want='# pgshift: podman settings for hosts without CAP_SYS_RESOURCE and with hybrid cgroups
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]

[engine]
runtime = "runc"'
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  log "writing $conf"
  mkdir -p /etc/containers && printf '%s\n' "$want" > "$conf"
fi

# The venv, reinstalled only when requirements.txt changed.
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
if ! sha256sum -c --status "$stamp" 2>/dev/null; then
  log "installing Python requirements"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  sha256sum requirements.txt > "$stamp"
else
  log "venv up to date"
fi

# .venv39: the modules' own dependencies (requirements-runner.txt) on the oldest Python they support,
# for tests/integration/test_python39.py. Made where a Python 3.9 exists (this image's pyenv has one).
py39=$(ls /root/.pyenv/versions/3.9.*/bin/python 2>/dev/null | tail -1 || true)
[ -z "$py39" ] && py39=$(command -v python3.9 || true)
if [ -n "$py39" ]; then
  [ -x .venv39/bin/python ] || { log "creating .venv39 ($py39)"; "$py39" -m venv .venv39; }
  if ! sha256sum -c --status .venv39/.requirements.sha256 2>/dev/null; then
    log "installing requirements-runner.txt into .venv39"
    .venv39/bin/pip install -q -r requirements-runner.txt
    sha256sum requirements-runner.txt > .venv39/.requirements.sha256
  fi
else
  log "no Python 3.9 on this machine: tests/integration/test_python39.py will be skipped"
fi
log "done"
