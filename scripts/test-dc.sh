#!/usr/bin/env bash
# A throw-away Samba Active Directory domain controller on loopback, for the tests
# (DESIGN section 10).
#
#   scripts/test-dc.sh start DIR [--no-run] [--max-runtime SECONDS]
#       Provisions a domain into DIR (unless DIR already holds one), starts samba in the
#       background and waits until LDAPS accepts a bind and the sysvol share answers.
#       Prints the connection facts as one JSON object on stdout.
#       --no-run        provision only (and print the facts); samba is not started.
#       --max-runtime   samba ends itself after that many seconds (a safety net for runs
#                       that die before they stop it); default: no limit.
#   scripts/test-dc.sh stop DIR
#       Ends the samba started from DIR (its whole process group) and waits for it.
#
# Samba's ports are fixed (LDAP 389/636, SMB 445, Kerberos 88, ...), so only one DC runs
# on a machine (or network namespace); `start` refuses when something already listens on
# them. Everything else the DC keeps (pid files, sockets, logs) stays inside DIR.
# Needs root: samba binds privileged ports. As root it installs the Debian packages it
# needs when they are missing. Progress goes to stderr; errors are one line, exit non-zero.
set -euo pipefail

REALM=CORP.EXAMPLE.TEST
DOMAIN=CORP
DNS_DOMAIN=corp.example.test
BASE_DN=DC=corp,DC=example,DC=test
HOST_NAME=dc1
PACKAGES=(samba-ad-dc samba-ad-provision smbclient ldap-utils krb5-user)
START_TIMEOUT=${TEST_DC_START_TIMEOUT:-60}
STOP_TIMEOUT=${TEST_DC_STOP_TIMEOUT:-20}
DC_PORTS=(636 389 445 88)

die() { echo "test-dc: $*" >&2; exit 1; }
note() { echo "test-dc: $*" >&2; }

usage() {
  echo "usage: $0 start DIR [--no-run] [--max-runtime SECONDS] | stop DIR" >&2
  exit 2
}

ensure_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages (install them as root): ${missing[*]}"
  note "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packages' scripts from starting a system smbd/samba, which would take port 445.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && own_policy=1
  fi
  local ok=1
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || ok=0
  [ $own_policy -eq 0 ] || rm -f "$policy"
  [ $ok -eq 1 ] || die "apt-get install failed: ${missing[*]}"
}

# JSON string: escapes backslash and double quote (the values here hold nothing else special).
json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

print_facts() {
  local dir=$1
  printf '{"url":%s,"bindDn":%s,"passwordFile":%s,"baseDn":%s,"realm":%s,"dnsDomain":%s,"sysvolPath":%s,"caFile":%s,"smbUrl":%s,"dir":%s,"samDb":%s,"smbConf":%s}\n' \
    "$(json_str ldaps://127.0.0.1)" \
    "$(json_str "Administrator@$DNS_DOMAIN")" \
    "$(json_str "$dir/admin-password")" \
    "$(json_str "$BASE_DN")" \
    "$(json_str "$REALM")" \
    "$(json_str "$DNS_DOMAIN")" \
    "$(json_str "$dir/state/sysvol")" \
    "$(json_str "$dir/private/tls/ca.pem")" \
    "$(json_str smb://127.0.0.1/sysvol)" \
    "$(json_str "$dir")" \
    "$(json_str "$dir/private/sam.ldb")" \
    "$(json_str "$dir/etc/smb.conf")"
}

# A password Samba's complexity rules accept: upper, lower, digit and a symbol, plus
# 24 random base64url characters. No '%' (smbclient's user%password separator).
new_password() {
  local rnd
  rnd=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  [ ${#rnd} -eq 24 ] || die "could not read /dev/urandom"
  printf 'Aa1-%s' "$rnd"
}

# Who listens on one of the DC's ports (empty when nobody does).
listener_on() {
  local port=$1 line pid cfg=""
  line=$(ss -ltnpH "sport = :$port" 2>/dev/null | head -1) || true
  [ -n "$line" ] || return 0
  pid=$(grep -o 'pid=[0-9]*' <<<"$line" | head -1 | cut -d= -f2) || true
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ]; then
    local comm
    comm=$(tr -d '\0' <"/proc/$pid/comm" 2>/dev/null || true)
    # samba rewrites its argv ("samba: root process"), so name its config by its open files.
    cfg=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -o '/[^ ]*/private/sam\.ldb' | head -1 || true)
    echo "port $port is taken by ${comm:-pid} (pid $pid${cfg:+, domain at ${cfg%/private/sam.ldb}})"
  else
    echo "port $port is taken (${line//  / })"
  fi
}

provision() {
  local dir=$1
  if [ -f "$dir/etc/smb.conf" ]; then
    [ -s "$dir/admin-password" ] || die "$dir holds a domain but no admin-password file; use an empty folder"
    note "reusing the domain already provisioned in $dir"
    return 0
  fi
  if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    die "$dir is not empty and holds no provisioned domain; use an empty or new folder"
  fi
  mkdir -p "$dir"
  # smbd serves the share as the domain user's mapped uid, which must be able to walk
  # into DIR/state/sysvol (mktemp -d and mkdtemp make 0700 folders). The secrets stay
  # private: DIR/private is 0700 and admin-password 0600.
  chmod 0755 "$dir"
  local pw
  pw=$(new_password)
  (umask 077 && printf '%s' "$pw" >"$dir/admin-password")
  chmod 0600 "$dir/admin-password"
  note "provisioning $REALM into $dir"
  local start=$SECONDS
  # samba-tool's own entry point, called in-process so that --adminpass (read from the
  # 0600 file) never appears in a process's argv.
  local py='
import sys
from samba.netcmd.main import cmd_sambatool
with open(sys.argv[1]) as f:
    pw = f.read()
try:
    rc = cmd_sambatool()._run("samba-tool", "domain", "provision", "--adminpass=" + pw, *sys.argv[2:])
except SystemExit as e:
    rc = e.code
sys.exit(rc or 0)
'
  # winbindd's socket stays at its default path (/run/samba/winbindd): smbd reaches winbindd
  # through libwbclient, which knows only that compiled-in path, to map a user's SIDs at
  # session setup. Moved elsewhere, every SMB login fails with NT_STATUS_INTERNAL_ERROR.
  if ! /usr/bin/python3 -c "$py" "$dir/admin-password" --targetdir="$dir" --realm="$REALM" --domain="$DOMAIN" \
      --server-role=dc --dns-backend=NONE --host-name="$HOST_NAME" \
      --option="interfaces=lo" --option="bind interfaces only=yes" \
      --option="pid directory=$dir/run" --option="log file=$dir/log/log.%m" \
      --option="ncalrpc dir=$dir/run/ncalrpc" \
      --option="ntp signd socket directory=$dir/run/ntp_signd" \
      >"$dir/provision.log" 2>&1 </dev/null; then
    die "provisioning failed; see $dir/provision.log ($(grep -m1 -E 'ERROR|error' "$dir/provision.log" || tail -1 "$dir/provision.log"))"
  fi
  mkdir -p "$dir/run" "$dir/log"
  note "provisioned in $((SECONDS - start)) s"
}

ldaps_answers() {
  local dir=$1
  LDAPTLS_REQCERT=never timeout 10 ldapsearch -LLL -o nettimeout=5 -H ldaps://127.0.0.1 -x \
    -D "Administrator@$DNS_DOMAIN" -y "$dir/admin-password" -b "$BASE_DN" -s base dn \
    >/dev/null 2>&1
}

sysvol_answers() {
  local dir=$1 pw
  pw=$(cat "$dir/admin-password")
  PASSWD=$pw timeout 10 smbclient //127.0.0.1/sysvol -U "$DOMAIN/Administrator" \
    --client-protection=sign -m SMB3 -c ls </dev/null >/dev/null 2>&1
}

group_alive() { kill -0 -- "-$1" 2>/dev/null; }

# A test DC whose folder is gone (its run ended without stopping it) serves nobody and holds
# the ports: stop it. Only samba processes whose open files are all in a deleted
# ascend-test-dc-* folder qualify; any other samba is left alone.
reap_orphans() {
  local pid files
  for pid in $(pgrep -x samba 2>/dev/null || true); do
    [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ] || continue
    files=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -o ' -> /.*' | sed 's/^ -> //' | grep '^/' | grep -v '^/dev/' || true)
    [ -n "$files" ] || continue
    if ! grep -qv '/ascend-test-dc-[^/]*/.* (deleted)$' <<<"$files"; then
      note "stopping an orphaned test DC (pid $pid) whose folder was deleted"
      stop_group "$pid" || true
    fi
  done
}

cmd_start() {
  local dir="" run=1 max_runtime=0
  while [ $# -gt 0 ]; do
    case $1 in
      --no-run) run=0 ;;
      --max-runtime) shift; [ $# -gt 0 ] || usage; max_runtime=$1 ;;
      -*) usage ;;
      *) [ -z "$dir" ] || usage; dir=$1 ;;
    esac
    shift
  done
  [ -n "$dir" ] || usage
  [[ $max_runtime =~ ^[0-9]+$ ]] || die "--max-runtime takes whole seconds"
  case $dir in /*) ;; *) dir="$(pwd)/$dir" ;; esac
  dir=${dir%/}

  [ "$(id -u)" -eq 0 ] || die "must run as root (samba binds privileged ports and keeps root-owned databases)"
  ensure_packages

  if [ $run -eq 1 ]; then
    if [ -f "$dir/samba.pid" ] && group_alive "$(cat "$dir/samba.pid")"; then
      die "samba from $dir is already running (pid $(cat "$dir/samba.pid")); stop it first"
    fi
    reap_orphans
    # Only one DC fits on the machine: refuse before spending time on provisioning.
    local port taken
    for port in "${DC_PORTS[@]}"; do
      taken=$(listener_on "$port")
      [ -z "$taken" ] || die "cannot start a DC: $taken; only one DC can run on this machine"
    done
  fi

  provision "$dir"
  if [ $run -eq 0 ]; then
    print_facts "$dir"
    return 0
  fi

  # winbindd's default socket folder; Debian makes /run/samba at boot, which a container may not do.
  mkdir -p /run/samba
  local args=(-s "$dir/etc/smb.conf" -i -M single)
  [ "$max_runtime" -eq 0 ] || args+=(--maximum-runtime="$max_runtime")
  local t0=$SECONDS
  # samba puts itself in its own process group (pgid = its pid), which `stop` kills.
  samba "${args[@]}" </dev/null >>"$dir/samba.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/samba.pid"
  note "samba started (pid $pid, log $dir/samba.log); waiting up to ${START_TIMEOUT} s for LDAPS and SMB"

  local deadline=$((SECONDS + START_TIMEOUT)) ldap_ok=0 smb_ok=0
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$dir/samba.pid"
      die "samba exited during startup; see $dir/samba.log ($(tail -1 "$dir/samba.log" 2>/dev/null))"
    fi
    [ $ldap_ok -eq 1 ] || { ldaps_answers "$dir" && ldap_ok=1; } || true
    [ $smb_ok -eq 1 ] || { [ $ldap_ok -eq 1 ] && sysvol_answers "$dir" && smb_ok=1; } || true
    [ $ldap_ok -eq 1 ] && [ $smb_ok -eq 1 ] && break
    if [ $SECONDS -ge $deadline ]; then
      stop_group "$pid"
      rm -f "$dir/samba.pid"
      die "samba did not answer within ${START_TIMEOUT} s (LDAPS $([ $ldap_ok -eq 1 ] && echo ok || echo no), SMB $([ $smb_ok -eq 1 ] && echo ok || echo no)); see $dir/samba.log"
    fi
    sleep 0.5
  done
  note "DC ready in $((SECONDS - t0)) s"
  print_facts "$dir"
}

# TERM to the group, then KILL after STOP_TIMEOUT; returns when the group is gone.
stop_group() {
  local pid=$1
  group_alive "$pid" || { kill -0 "$pid" 2>/dev/null || return 0; }
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while group_alive "$pid" || kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      note "samba (pid $pid) ignored TERM for ${STOP_TIMEOUT} s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  # A killed parent does not reap its children at once; wait a moment for the group.
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do group_alive "$pid" || return 0; sleep 0.2; done
  die "samba's process group $pid is still alive"
}

cmd_stop() {
  [ $# -eq 1 ] || usage
  local dir=${1%/}
  [ -f "$dir/samba.pid" ] || { note "no samba.pid in $dir; nothing to stop"; return 0; }
  local pid
  pid=$(cat "$dir/samba.pid")
  [[ $pid =~ ^[0-9]+$ ]] || die "$dir/samba.pid does not hold a pid"
  # Only end the process if it is the samba of this folder (the pid may have been reused).
  if kill -0 "$pid" 2>/dev/null; then
    if ! ls -l "/proc/$pid/fd" 2>/dev/null | grep -qF "$dir/"; then
      die "pid $pid from $dir/samba.pid is not the samba of $dir; not stopping it"
    fi
    stop_group "$pid"
    note "stopped samba (pid $pid)"
  else
    note "samba (pid $pid) was not running"
  fi
  rm -f "$dir/samba.pid"
}

[ $# -ge 1 ] || usage
action=$1
shift
case $action in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  *) usage ;;
esac
