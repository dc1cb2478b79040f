#!/usr/bin/env bash
# Makes DIR a clean Debian 12 root (debootstrap --variant=minbase bookworm) for the package tests.
# The base tree is cached as a tarball in $ASCEND_CI_CACHE (default /var/cache/ascend-ci), keyed by
# the month and debootstrap's version, so CI fetches it about once a month; a missing or damaged
# cache is rebuilt. Needs root. Usage: clean-root.sh DIR (DIR must not exist or be empty).
set -euo pipefail
dir=${1:?usage: clean-root.sh DIR}
cache=${ASCEND_CI_CACHE:-/var/cache/ascend-ci}
mirror=${ASCEND_DEBIAN_MIRROR:-http://deb.debian.org/debian}
version=$(dpkg-query -W -f='${Version}' debootstrap)
tarball="$cache/bookworm-minbase-$(date -u +%Y-%m)-debootstrap-$version.tar.gz"
mkdir -p "$cache"
if ! gzip -t "$tarball" 2>/dev/null; then
  build=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  debootstrap --variant=minbase bookworm "$build/root" "$mirror" >"$build/log" 2>&1 || { tail -20 "$build/log" >&2; exit 1; }
  # apt's downloaded .debs are not part of the tree a user has.
  rm -f "$build/root/var/cache/apt/archives/"*.deb
  tar -C "$build/root" -czf "$build/root.tar.gz" .
  mv "$build/root.tar.gz" "$tarball"
  # Older months' trees are not used again.
  find "$cache" -maxdepth 1 -name 'bookworm-minbase-*.tar.gz' ! -path "$tarball" -delete
fi
mkdir -p "$dir"
tar -C "$dir" -xzf "$tarball"
