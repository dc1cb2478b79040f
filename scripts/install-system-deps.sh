#!/usr/bin/env bash
# Installs the Debian packages the tests use: setfacl (acl: the agent's program-trust tests), xmllint (ADMX schema validation), Samba's
# Python bindings (Registry.pol interoperability), and a Samba AD domain controller with
# its clients (scripts/test-dc.sh: samba-ad-dc, samba-ad-provision, smbclient, ldap-utils,
# krb5-user), and PostgreSQL's server (the collector storage tests start their own
# cluster with initdb and pg_ctl), and Chromium (the report web page tests drive it through
# playwright-core), and LibreOffice Calc without its GUI (the report CSV test opens the CSV
# with it: about 85 MB to download, against Gnumeric's 19 MB, whose CSV import guesses the
# separator and splits report rows at "/"), and what the package tests use (test/package/):
# debootstrap (a clean Debian root to install the .deb into), lintian (checks the .deb),
# systemd (systemd-analyze verify checks the units), zip and unzip (the Windows zip), binutils
# (strip, for the packaged binaries), curl and iproute2 (the collector health check in a network
# namespace of its own), strace (the agent's event-durability and account-file tests delay or
# trace its system calls with it), rsyslog and rsyslog-gnutls (the SIEM feed's tests send to a real rsyslogd they start
# themselves) and sudo (the elevation benchmark runs it side by side with
# `ascend elevate`), and the C and C++ toolchain with python3 that builds the native parts
# (better-sqlite3 through node-gyp, the agent's addon and launcher). Runs apt-get as root, or through sudo. Safe to run
# again: it only installs what is missing. Package scripts may not start Samba's services while it installs: a
# system smbd on port 445 would keep the test DC from starting.
set -euo pipefail

packages=(acl libxml2-utils python3-samba samba-ad-dc samba-ad-provision smbclient ldap-utils krb5-user dbus gnome-keyring libsecret-tools postgresql chromium cron libreoffice-calc-nogui debootstrap lintian systemd zip unzip binutils curl iproute2 strace rsyslog rsyslog-gnutls sudo gcc g++ make python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "system packages present: ${packages[*]}"; exit 0; }

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-system-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  # exit 101 = "action forbidden" for invoke-rc.d and deb-systemd-invoke; removed afterwards.
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 0755 "$policy"
  trap '"${as_root[@]}" rm -f "$policy"' EXIT
fi
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "installed: ${missing[*]}"
