#!/usr/bin/env bash
# Installs real PowerShell and Pester into the project's git-ignored .tools/ folder, for the
# PowerShell module's tests (ps-module/, DESIGN section 9):
#
#   PowerShell 7.6.10   dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.10
#                       (the version is named: the newest, 7.7.0, does not start here)
#   Pester 5.7.1        the NuGet package, through a restore of a throwaway project with a
#                       PackageDownload item into .tools/nuget (Pester.psd1 is then at
#                       .tools/nuget/pester/5.7.1/tools/Pester.psd1)
#
# Both come from the configured NuGet source; `dotnet` (SDK 8 or later) must be on PATH.
# Idempotent: what is installed already is checked and kept. Prints the pwsh path last.
# Outside CI a machine without dotnet gets a warning and exit 0 (the Pester suite then
# skips, saying why); under CI=true every failure exits non-zero.
#
# Env: ASCEND_TOOLS_DIR  the tools folder (default <repo>/.tools)
set -uo pipefail

REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${ASCEND_TOOLS_DIR:-$REPO_DIR/.tools}"
PWSH_VERSION=7.6.10
PESTER_VERSION=5.7.1
PWSH="$TOOLS/pwsh/pwsh"
NUGET_DIR="$TOOLS/nuget"
PESTER_PSD1="$NUGET_DIR/pester/$PESTER_VERSION/tools/Pester.psd1"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off

log() { echo "install-pwsh: $*" >&2; }
fail() {
  log "$*"
  if [ "${CI:-}" = true ]; then exit 1; fi
  log "continuing without PowerShell (the Pester suite will be skipped; under CI=true this fails)"
  exit 0
}

command -v dotnet >/dev/null 2>&1 || fail "dotnet is not on PATH (install the .NET SDK 8 or later)"

mkdir -p "$TOOLS"
# The folder ignores itself, whatever the repository's .gitignore says.
[ -f "$TOOLS/.gitignore" ] || echo '*' > "$TOOLS/.gitignore"

pwsh_version() { "$PWSH" -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null | tr -d '\r'; }

if [ -x "$PWSH" ] && [ "$(pwsh_version)" = "$PWSH_VERSION" ]; then
  log "PowerShell $PWSH_VERSION present"
else
  rm -rf "$TOOLS/pwsh"
  log "installing PowerShell $PWSH_VERSION (dotnet tool)"
  if ! dotnet tool install --tool-path "$TOOLS/pwsh" PowerShell --version "$PWSH_VERSION" >"$TOOLS/pwsh-install.log" 2>&1; then
    tail -5 "$TOOLS/pwsh-install.log" >&2
    fail "dotnet tool install PowerShell $PWSH_VERSION failed (log: $TOOLS/pwsh-install.log)"
  fi
  got="$(pwsh_version)"
  [ "$got" = "$PWSH_VERSION" ] || fail "the installed pwsh does not start or is not $PWSH_VERSION (it says: ${got:-nothing})"
fi

if [ -f "$PESTER_PSD1" ]; then
  log "Pester $PESTER_VERSION present"
else
  log "installing Pester $PESTER_VERSION (NuGet PackageDownload)"
  proj="$TOOLS/pester-restore"
  rm -rf "$proj"
  mkdir -p "$proj"
  # A restore needs a target framework the SDK knows; the project is never built.
  tfm="net$(dotnet --version | cut -d. -f1).0"
  cat > "$proj/restore.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>$tfm</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="Pester" Version="[$PESTER_VERSION]" />
  </ItemGroup>
</Project>
EOF
  if ! NUGET_PACKAGES="$NUGET_DIR" dotnet restore "$proj/restore.csproj" >"$TOOLS/pester-install.log" 2>&1; then
    grep -E 'error|NU1' "$TOOLS/pester-install.log" >&2 || tail -5 "$TOOLS/pester-install.log" >&2
    fail "restoring Pester $PESTER_VERSION failed (log: $TOOLS/pester-install.log)"
  fi
  [ -f "$PESTER_PSD1" ] || fail "the restore did not put Pester at $PESTER_PSD1"
fi

"$PWSH" -NoProfile -NonInteractive -Command "Import-Module '$PESTER_PSD1'; \"PowerShell \$(\$PSVersionTable.PSVersion) with Pester \$((Get-Module Pester).Version)\"" >&2 \
  || fail "Pester does not load in pwsh"
echo "$PWSH"
