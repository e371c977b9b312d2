#!/usr/bin/env bash
# Builds the images the Molecule scenarios run in, without any registry:
#  - localhost/pgshift-debian12-systemd:rN  bare Debian 12 with systemd: debootstrap (minbase) ->
#    zstd tarball cached under $CACHE -> podman import. Scenario `default` installs everything.
#  - localhost/pgshift-debian12-pg15:rN-pM  the same plus the packages the role installs for
#    distro PostgreSQL 15 with pgvector from source (server, client, server-dev, compiler), so
#    scenario `profiles` skips apt; built once from the bare image, cached as a tarball too.
# Idempotent: returns at once when the images exist, imports from the cached tarballs otherwise.
#   scripts/molecule-image.sh            build (or reuse) the images, print their names
#   scripts/molecule-image.sh --rebuild  throw away the cached tarballs and images, build anew
# The recipe versions are part of the tags: change RECIPE when the bare tree changes, PG_RECIPE
# when the preinstalled packages change.
# Environment (for trying the fresh-machine path without touching the real cache):
#   PGSHIFT_IMAGE_PREFIX (localhost/pgshift-debian12), PGSHIFT_IMAGE_CACHE (/var/cache/pgshift/images),
#   PGSHIFT_APT_ARCHIVES (/var/cache/pgshift/apt-archives: .debs shared with the scenarios).
set -euo pipefail
cd "$(dirname "$0")/.."
RECIPE=2
PG_RECIPE=1
PREFIX=${PGSHIFT_IMAGE_PREFIX:-localhost/pgshift-debian12}
IMAGE="$PREFIX-systemd:r${RECIPE}"
PG_IMAGE="$PREFIX-pg15:r${RECIPE}-p${PG_RECIPE}"
CACHE=${PGSHIFT_IMAGE_CACHE:-/var/cache/pgshift/images}
TARBALL="$CACHE/${IMAGE##*/}.tar.zst"
TARBALL="${TARBALL/:/-}"
PG_TARBALL="$CACHE/${PG_IMAGE##*/}.tar.zst"
PG_TARBALL="${PG_TARBALL/:/-}"
APT_ARCHIVES=${PGSHIFT_APT_ARCHIVES:-/var/cache/pgshift/apt-archives}
SRC_CACHE=/var/cache/pgshift/src
# What the role installs for install_method distro, version 15, pgvector_method source
# (roles/postgresql_pgvector/vars/main.yml): with all of them present it runs no apt at all.
PG_PACKAGES="ca-certificates acl python3-psycopg2 postgresql-15 postgresql-client-15
  postgresql-server-dev-15 make gcc libc6-dev"

log() { printf '[molecule-image] %s\n' "$*" >&2; }

# The Debian mirror apt uses on this host (first URIs: line of a bookworm deb822 entry, or a
# one-line entry), so the container reaches the same mirror as the host.
mirror() {
  local m
  m=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  if [ -z "$m" ]; then
    m=$(awk '/^deb / && /bookworm/ && !/security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

# The pgvector source tarball, cached for the scenarios that ship it from the controller.
cache_pgvector_source() {
  mkdir -p "$SRC_CACHE"
  if compgen -G "$SRC_CACHE/pgvector_*.orig.tar.gz" >/dev/null; then return 0; fi
  local built
  built=$(find /var/cache/pgshift/build/pgvector -maxdepth 1 -name 'pgvector_*.orig.tar.gz' 2>/dev/null | head -n1)
  if [ -n "$built" ]; then
    cp "$built" "$SRC_CACHE/"
  else
    log "downloading the pgvector Debian source package"
    (cd "$SRC_CACHE" && apt-get source -q --download-only pgvector >/dev/null)
  fi
}

# The bare image's tree: debootstrap from the host's mirror, packed into $TARBALL.
bootstrap_tarball() {
  local MIRROR SECURITY work root
  MIRROR=$(mirror)
  SECURITY=${MIRROR%/debian}/debian-security
  work=$(mktemp -d /var/tmp/pgshift-rootfs.XXXXXX)
  root="$work/root"
  log "debootstrap bookworm from $MIRROR (about a minute)"
  if ! debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,python3,sudo,ca-certificates \
      bookworm "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    rm -rf "$work"
    exit 1
  fi
  rm -f "$root/etc/apt/sources.list"
  cat > "$root/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  : > "$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
  for unit in getty@tty1.service console-getty.service systemd-udevd.service systemd-udevd-control.socket \
              systemd-udevd-kernel.socket systemd-logind.service systemd-timesyncd.service \
              systemd-networkd.service systemd-resolved.service apt-daily.timer apt-daily-upgrade.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  # Let the packages' postinst scripts start services (systemd runs in the container).
  rm -f "$root/usr/sbin/policy-rc.d"
  # Keep downloaded .debs out of the image and the lists empty: the role runs apt-get update.
  rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
  # Test containers only: dpkg without fsync, apt without translations (faster installs).
  echo force-unsafe-io > "$root/etc/dpkg/dpkg.cfg.d/pgshift-unsafe-io"
  echo 'Acquire::Languages "none";' > "$root/etc/apt/apt.conf.d/99pgshift-no-translations"
  # An old mtime on the lists makes apt's cache_valid_time refresh them on first use.
  touch -d @0 "$root/var/lib/apt/lists"
  log "packing $TARBALL"
  tar -C "$root" --numeric-owner -c . | zstd -q -T0 -3 -o "$TARBALL.tmp"
  mv "$TARBALL.tmp" "$TARBALL"
  rm -rf "$work"
}

# import_tarball TARBALL IMAGE: a systemd image from a packed tree.
import_tarball() {
  log "importing $2"
  zstd -q -d -c "$1" | podman import -q \
    --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' - "$2" >/dev/null
}

# The PostgreSQL image's tree: the bare image with $PG_PACKAGES installed by apt in a throwaway
# container (no init: the package scripts are told not to start anything, so the cluster the
# postinst creates has never run and its log is empty), exported into $PG_TARBALL.
pg_tarball() {
  local ctr="pgshift-image-build-$$"
  log "installing PostgreSQL 15 and the pgvector build tools into $PG_IMAGE (a few minutes)"
  podman rm -f "$ctr" >/dev/null 2>&1 || true
  # shellcheck disable=SC2016  # expanded inside the container
  if ! podman run --name "$ctr" -e PG_PACKAGES="$PG_PACKAGES" \
      -v "$APT_ARCHIVES:/var/cache/apt/archives:rw" "$IMAGE" /bin/bash -euc '
        printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null
        # shellcheck disable=SC2086
        apt-get install -y -q --no-install-recommends $PG_PACKAGES >/dev/null
        rm -f /usr/sbin/policy-rc.d
        for f in /var/log/postgresql/*.log; do : > "$f"; done
        rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/*
        touch -d @0 /var/lib/apt/lists
        : > /etc/machine-id' >"$CACHE/pg-image-build.log" 2>&1; then
    tail -n 30 "$CACHE/pg-image-build.log" >&2
    podman rm -f "$ctr" >/dev/null 2>&1 || true
    exit 1
  fi
  log "packing $PG_TARBALL"
  podman export "$ctr" | zstd -q -T0 -3 -o "$PG_TARBALL.tmp"
  podman rm -f "$ctr" >/dev/null
  mv "$PG_TARBALL.tmp" "$PG_TARBALL"
}

# Images and tarballs of older recipes are dead weight.
drop_old_recipes() {
  local old
  for old in $(podman images --format '{{.Repository}}:{{.Tag}}' \
               | grep -E "^($PREFIX-systemd|$PREFIX-pg15):" | grep -vxF -e "$IMAGE" -e "$PG_IMAGE" || true); do
    podman image rm -f "$old" >/dev/null 2>&1 || true
  done
  find "$CACHE" -maxdepth 1 \( -name "${PREFIX##*/}-systemd-r*.tar.zst" -o -name "${PREFIX##*/}-pg15-r*.tar.zst" \) \
    ! -name "$(basename "$TARBALL")" ! -name "$(basename "$PG_TARBALL")" -delete 2>/dev/null || true
}

if [ "${1:-}" = "--rebuild" ]; then
  podman image rm -f "$PG_IMAGE" "$IMAGE" >/dev/null 2>&1 || true
  rm -f "$TARBALL" "$PG_TARBALL"
fi

cache_pgvector_source || log "warning: pgvector source tarball not cached (scenarios fall back to apt-get source)"
mkdir -p "$CACHE" "$APT_ARCHIVES/partial"
drop_old_recipes

if ! podman image exists "$IMAGE"; then
  [ -s "$TARBALL" ] || bootstrap_tarball
  import_tarball "$TARBALL" "$IMAGE"
fi
if ! podman image exists "$PG_IMAGE"; then
  [ -s "$PG_TARBALL" ] || pg_tarball
  import_tarball "$PG_TARBALL" "$PG_IMAGE"
fi
echo "$IMAGE"
echo "$PG_IMAGE"
