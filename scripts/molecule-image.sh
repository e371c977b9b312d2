#!/usr/bin/env bash
# Builds the Debian 12 systemd image the Molecule scenarios run in, without any registry:
# debootstrap (minbase) -> zstd tarball cached under /var/cache/pgshift/images -> podman import.
# Idempotent: returns at once when the image exists, imports from the cached tarball otherwise.
#   scripts/molecule-image.sh            build (or reuse) the image, print its name
#   scripts/molecule-image.sh --rebuild  throw away the cached tarball and image, build anew
# The recipe version is part of the tag: change RECIPE when the tree below changes.
set -euo pipefail
cd "$(dirname "$0")/.."
RECIPE=2
IMAGE="localhost/pgshift-debian12-systemd:r${RECIPE}"
CACHE=/var/cache/pgshift/images
TARBALL="$CACHE/pgshift-debian12-systemd-r${RECIPE}.tar.zst"
SRC_CACHE=/var/cache/pgshift/src

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

if [ "${1:-}" = "--rebuild" ]; then
  podman image rm -f "$IMAGE" >/dev/null 2>&1 || true
  rm -f "$TARBALL"
fi

cache_pgvector_source || log "warning: pgvector source tarball not cached (scenarios fall back to apt-get source)"

mkdir -p /var/cache/pgshift/apt-archives/partial
# Images and tarballs of older recipes are dead weight.
for old in $(podman images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/pgshift-debian12-systemd:' | grep -vx "$IMAGE" || true); do
  podman image rm -f "$old" >/dev/null 2>&1 || true
done
find "$CACHE" -maxdepth 1 -name 'pgshift-debian12-systemd-r*.tar.zst' ! -name "$(basename "$TARBALL")" -delete 2>/dev/null || true
if podman image exists "$IMAGE"; then
  echo "$IMAGE"
  exit 0
fi

mkdir -p "$CACHE" /var/cache/pgshift/apt-archives/partial
if [ ! -s "$TARBALL" ]; then
  MIRROR=$(mirror)
  SECURITY=${MIRROR%/debian}/debian-security
  work=$(mktemp -d /var/tmp/pgshift-rootfs.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  log "debootstrap bookworm from $MIRROR (about a minute)"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,python3,sudo,ca-certificates \
    bookworm "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  root="$work/root"
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
fi

log "importing $IMAGE"
zstd -q -d -c "$TARBALL" | podman import -q \
  --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' - "$IMAGE" >/dev/null
echo "$IMAGE"
