#!/usr/bin/env bash
# Installs a PowerShell 7 engine (and Pester / PSScriptAnalyzer when the
# package source has them) into the project's git-ignored .tools/ folder.
#
# Why not the usual ways: Debian has no powershell package, GitHub releases
# are unreachable, and the NuGet copy served here holds neither the
# "PowerShell" dotnet tool nor Microsoft.PowerShell.SDK nor the cmdlet
# packages (Microsoft.PowerShell.Commands.Utility/Management, ConsoleHost).
# It does hold System.Management.Automation (the engine itself: parser,
# language, pipeline, module system, Microsoft.PowerShell.Core cmdlets) and
# all of its dependencies. So this script builds a small pwsh-compatible
# console host around that package: `pwsh -NoProfile -Command ...`,
# `pwsh -File script.ps1 -Param value`, `pwsh -Command -` (stdin).
#
# Limits of the result (a real 7.x engine, not a full pwsh install):
#   * only the Microsoft.PowerShell.Core cmdlets exist (ForEach-Object,
#     Where-Object, Import-Module, Get-Command, New-Module, Out-Default, ...);
#     Write-Host, Write-Output, Test-Path, Join-Path, Get-ChildItem,
#     Select-Object, Add-Type etc. live in the Utility/Management modules,
#     which are not on the package source; .NET APIs work everywhere.
#   * no interactive prompt.
#
# Usage: scripts/install-pwsh.sh            (idempotent; prints the pwsh path last)
# Env:   PWSH_TOOLS_DIR   install folder (default: <repo>/.tools/pwsh)
#        PWSH_SMA_VERSION engine package version (default 7.6.9)
#        PWSH_REQUIRE_PESTER=1  exit 3 when Pester cannot be installed
#        PWSH_MODULE_SOURCES    space-separated places to take module nupkgs from
#                               instead of the configured NuGet sources: NuGet v3
#                               flat-container URLs (ending in /) or dir:/a/folder
#                               (a folder of *.nupkg, or a v3 <id>/<ver>/ layout)
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${PWSH_TOOLS_DIR:-$REPO_DIR/.tools/pwsh}"
SMA_VERSION="${PWSH_SMA_VERSION:-7.6.9}"
HOST_REV=3 # bump when the host source below changes

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export NUGET_PACKAGES="$DEST/nuget-packages" # keep restores inside the tool folder

log() { echo "install-pwsh: $*" >&2; }

command -v dotnet >/dev/null || { log "dotnet not found on PATH"; exit 1; }

mkdir -p "$DEST"
# Make the tools folder ignore itself (no edit of the repo's .gitignore needed).
case "$DEST" in
  "$REPO_DIR"/.tools/*) [ -f "$REPO_DIR/.tools/.gitignore" ] || echo '*' > "$REPO_DIR/.tools/.gitignore" ;;
esac

PWSH="$DEST/bin/pwsh"
STAMP="$DEST/.engine-stamp"
WANT_STAMP="sma=$SMA_VERSION host=$HOST_REV"

# ---------------------------------------------------------------- engine host
build_host() {
  local src="$DEST/src"
  rm -rf "$src" "$DEST/app"
  mkdir -p "$src"
  cat > "$src/pwsh.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
    <SelfContained>false</SelfContained>
    <AssemblyName>pwsh</AssemblyName>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <InvariantGlobalization>false</InvariantGlobalization>
    <SatelliteResourceLanguages>en</SatelliteResourceLanguages>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="System.Management.Automation" Version="$SMA_VERSION" />
  </ItemGroup>
</Project>
EOF
  cat > "$src/Program.cs" <<'EOF'
// Minimal pwsh-compatible host over System.Management.Automation.
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using System.Security;

static class Program
{
    static int Main(string[] args)
    {
        string? command = null, file = null; var fileArgs = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i].ToLowerInvariant();
            if (file != null) { fileArgs.Add(args[i]); continue; }
            if (a is "-noprofile" or "-nologo" or "-noninteractive" or "-nop" or "-noni" or "-mta" or "-sta") continue;
            if (a is "-executionpolicy" or "-ep" or "-ex" or "-outputformat" or "-of" or "-inputformat" or "-if" or "-workingdirectory" or "-wd")
            {
                if (a is "-workingdirectory" or "-wd") Directory.SetCurrentDirectory(args[i + 1]);
                i++; continue;
            }
            if (a is "-version" or "-v" or "--version") { Console.WriteLine("PowerShell " + EngineVersion() + " (System.Management.Automation host)"); return 0; }
            if (a is "-command" or "-c") { command = string.Join(" ", args.Skip(i + 1)); break; }
            if (a is "-file" or "-f") { file = args[++i]; continue; }
            if (!a.StartsWith("-")) { file = args[i]; continue; }
            Console.Error.WriteLine($"pwsh host: unsupported argument '{args[i]}'"); return 64;
        }
        if (command == "-" || (command == null && file == null))
        {
            if (command == null && !Console.IsInputRedirected) { Console.Error.WriteLine("pwsh host: no interactive mode; use -Command or -File"); return 64; }
            command = Console.In.ReadToEnd();
        }

        var host = new MiniHost();
        var iss = InitialSessionState.CreateDefault2();
        using var rs = RunspaceFactory.CreateRunspace(host, iss);
        rs.Open();
        if (Console.IsOutputRedirected || Environment.GetEnvironmentVariable("NO_COLOR") != null)
        {
            using var init = PowerShell.Create(rs);
            init.AddScript("$PSStyle.OutputRendering = 'PlainText'").Invoke();
        }

        using var ps = PowerShell.Create(rs);
        if (file != null)
        {
            if (!File.Exists(file)) { Console.Error.WriteLine($"The argument '{file}' is not recognized as the name of a script file."); return 64; }
            ps.AddCommand(Path.GetFullPath(file));
            for (int j = 0; j < fileArgs.Count; j++)
            {
                var fa = fileArgs[j];
                if (fa.Length > 1 && fa[0] == '-' && !char.IsDigit(fa[1]))
                {
                    var name = fa.Substring(1); var colon = name.IndexOf(':');
                    if (colon >= 0) ps.AddParameter(name.Substring(0, colon), name.Substring(colon + 1));
                    else if (j + 1 < fileArgs.Count && !fileArgs[j + 1].StartsWith("-")) ps.AddParameter(name, fileArgs[++j]);
                    else ps.AddParameter(name);
                }
                else ps.AddArgument(fa);
            }
        }
        else ps.AddScript(command ?? "");
        ps.AddCommand("Out-Default");

        bool anyError = false;
        ps.Streams.Error.DataAdded += (_, e) =>
        {
            anyError = true;
            Console.Error.WriteLine(FormatError(ps.Streams.Error[e.Index]));
        };
        try { ps.Invoke(); }
        catch (RuntimeException e) { Console.Error.WriteLine(FormatError(e.ErrorRecord)); return 1; }
        Console.Out.Flush();
        if (host.ExitCode is int ec) return ec;
        if (file != null && rs.SessionStateProxy.GetVariable("LASTEXITCODE") is int lec) return lec;
        return anyError || ps.HadErrors ? 1 : 0;
    }

    static string EngineVersion()
    {
        var pv = System.Diagnostics.FileVersionInfo.GetVersionInfo(typeof(PSObject).Assembly.Location).ProductVersion ?? "";
        return pv.Split(' ', '+')[0];
    }

    static string FormatError(ErrorRecord? er)
    {
        if (er == null) return "error";
        var where = er.InvocationInfo?.PositionMessage;
        return string.IsNullOrEmpty(where) ? er.ToString() : er + Environment.NewLine + where;
    }
}

class MiniHost : PSHost, IHostSupportsInteractiveSession
{
    public int? ExitCode;
    readonly MiniUI ui = new();
    public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override string Name => "ConsoleHost";
    public override PSHostUserInterface UI => ui;
    public override Version Version => typeof(PSObject).Assembly.GetName().Version ?? new Version(7, 0);
    public override void EnterNestedPrompt() { }
    public override void ExitNestedPrompt() { }
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
    public override void SetShouldExit(int exitCode) { ExitCode = exitCode; }
    public bool IsRunspacePushed => false;
    public Runspace? Runspace => null;
    public void PopRunspace() { }
    public void PushRunspace(Runspace runspace) { }
}

class MiniUI : PSHostUserInterface
{
    readonly MiniRawUI raw = new();
    static readonly bool Plain = Console.IsOutputRedirected || Environment.GetEnvironmentVariable("NO_COLOR") != null;
    static readonly System.Text.RegularExpressions.Regex Vt = new("\x1b\\[[0-9;?]*[ -/]*[@-~]");
    static string O(string s) => Plain && s.Contains('\x1b') ? Vt.Replace(s, "") : s;
    public override PSHostRawUserInterface RawUI => raw;
    public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) => throw new NotSupportedException("non-interactive host");
    public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) => defaultChoice;
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException("non-interactive host");
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException("non-interactive host");
    public override string ReadLine() => Console.ReadLine() ?? "";
    public override SecureString ReadLineAsSecureString() => throw new NotSupportedException("non-interactive host");
    public override void Write(string value) => Console.Out.Write(O(value));
    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Console.Out.Write(O(value));
    public override void WriteLine(string value) => Console.Out.WriteLine(O(value));
    public override void WriteErrorLine(string value) => Console.Error.WriteLine(O(value));
    public override void WriteDebugLine(string message) => Console.Out.WriteLine("DEBUG: " + message);
    public override void WriteProgress(long sourceId, ProgressRecord record) { }
    public override void WriteVerboseLine(string message) => Console.Out.WriteLine("VERBOSE: " + message);
    public override void WriteWarningLine(string message) => Console.Out.WriteLine("WARNING: " + message);
    public override void WriteInformation(InformationRecord record) => Console.Out.WriteLine(record.MessageData?.ToString());
}

class MiniRawUI : PSHostRawUserInterface
{
    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
    public override Size BufferSize { get => new(120, 3000); set { } }
    public override Coordinates CursorPosition { get; set; }
    public override int CursorSize { get; set; }
    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
    public override bool KeyAvailable => false;
    public override Size MaxPhysicalWindowSize => new(120, 3000);
    public override Size MaxWindowSize => new(120, 3000);
    public override Coordinates WindowPosition { get; set; }
    public override Size WindowSize { get => new(120, 50); set { } }
    public override string WindowTitle { get; set; } = "";
    public override void FlushInputBuffer() { }
    public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException();
    public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException("non-interactive host");
    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
    public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
}
EOF
  log "building the PowerShell host over System.Management.Automation $SMA_VERSION"
  if ! dotnet publish "$src/pwsh.csproj" -c Release -o "$DEST/app" >"$DEST/build.log" 2>&1; then
    grep -E 'error|NU1' "$DEST/build.log" >&2 || tail -20 "$DEST/build.log" >&2
    log "build failed (full log: $DEST/build.log)"
    exit 1
  fi
  mkdir -p "$DEST/bin" "$DEST/Modules"
  cat > "$PWSH" <<EOF
#!/usr/bin/env bash
# pwsh wrapper made by scripts/install-pwsh.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off
export PSModulePath="$DEST/Modules\${PSModulePath:+:\$PSModulePath}"
exec "$DEST/app/pwsh" "\$@"
EOF
  chmod +x "$PWSH"
  echo "$WANT_STAMP" > "$STAMP"
}

if [ -x "$PWSH" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT_STAMP" ] \
   && "$PWSH" -NoProfile -Command '$PSVersionTable.PSVersion' >/dev/null 2>&1; then
  log "engine already installed ($WANT_STAMP)"
else
  build_host
fi

# ---------------------------------------------------------------- modules
# Package base addresses (NuGet v3 flat containers) of the enabled sources.
base_addresses() {
  dotnet nuget list source --format Short 2>/dev/null | awk '$1 ~ /^E/ {print $2}' | while read -r src; do
    case "$src" in
      http*://*)
        curl -fsS -m 60 "$src" 2>/dev/null | python3 -c '
import json,sys
for r in json.load(sys.stdin).get("resources", []):
    if str(r.get("@type","")).startswith("PackageBaseAddress/3.0.0"):
        print(r["@id"].rstrip("/") + "/"); break' || true ;;
      *) [ -d "$src" ] && echo "dir:$src" ;;
    esac
  done
}

# install_module NAME [MAJOR]: newest stable version (of MAJOR) into $DEST/Modules/NAME/VERSION
install_module() {
  local name="$1" major="${2:-}" lc ver="" nupkg="" base
  lc="$(echo "$name" | tr 'A-Z' 'a-z')"
  if ls -d "$DEST/Modules/$name"/*/ >/dev/null 2>&1; then
    log "$name already installed: $(ls "$DEST/Modules/$name" | tr '\n' ' ')"; return 0
  fi
  for base in $BASES; do
    if [ "${base#dir:}" != "$base" ]; then
      local d="${base#dir:}" f
      # v3 folder layout (<id>/<ver>/<id>.<ver>.nupkg) or a flat folder of nupkgs
      ver="$( { ls "$d/$lc" 2>/dev/null; ls "$d" 2>/dev/null | grep -i "^$lc\.[0-9].*\.nupkg\$" | sed -E "s/^.{${#lc}}\.//I; s/\.nupkg\$//"; } \
             | grep -v -- - | grep -E "^${major:-[0-9]+}\." | sort -V | tail -1 || true)"
      for f in "$d/$lc/$ver/$lc.$ver.nupkg" "$d/$lc.$ver.nupkg" "$d/$name.$ver.nupkg"; do
        [ -n "$ver" ] && [ -f "$f" ] && { nupkg="$f"; break 2; }
      done
    else
      ver="$(curl -fsS -m 60 "$base$lc/index.json" 2>/dev/null | python3 -c '
import json,sys,re
vs=[v for v in json.load(sys.stdin)["versions"] if "-" not in v and re.match(sys.argv[1], v)]
vs.sort(key=lambda v: [int(x) for x in re.findall(r"\d+", v)])
print(vs[-1] if vs else "")' "^${major:-[0-9]+}\\." 2>/dev/null || true)"
      if [ -n "$ver" ]; then
        nupkg="$DEST/cache/$lc.$ver.nupkg"; mkdir -p "$DEST/cache"
        curl -fsS -m 300 -o "$nupkg" "$base$lc/$ver/$lc.$ver.nupkg" && break
        nupkg=""
      fi
    fi
  done
  if [ -z "$nupkg" ] || [ ! -f "$nupkg" ]; then
    log "WARNING: $name${major:+ $major.x} is not on any configured NuGet source; not installed"
    return 1
  fi
  local tmp; tmp="$(mktemp -d)"
  unzip -q -o "$nupkg" -d "$tmp"
  local psd1; psd1="$(find "$tmp" -iname "$name.psd1" | awk '{print length, $0}' | sort -n | head -1 | cut -d' ' -f2-)"
  if [ -z "$psd1" ]; then log "WARNING: $nupkg has no $name.psd1"; rm -rf "$tmp"; return 1; fi
  mkdir -p "$DEST/Modules/$name/$ver"
  cp -a "$(dirname "$psd1")"/. "$DEST/Modules/$name/$ver/"
  rm -rf "$DEST/Modules/$name/$ver/_rels" "$DEST/Modules/$name/$ver/package" \
         "$DEST/Modules/$name/$ver/[Content_Types].xml" "$DEST/Modules/$name/$ver"/*.nuspec
  rm -rf "$tmp"
  log "$name $ver installed into $DEST/Modules/$name/$ver"
}

BASES="${PWSH_MODULE_SOURCES:-$(base_addresses)}"
pester_ok=1
install_module Pester 5 || pester_ok=0
install_module PSScriptAnalyzer || true

if ! "$PWSH" -NoProfile -Command '"engine: PowerShell $($PSVersionTable.PSVersion) $($PSVersionTable.PSEdition) on $($PSVersionTable.OS)"' >&2; then
  log "the installed pwsh does not start"; rm -f "$STAMP"; exit 1
fi
if [ "$pester_ok" = 0 ] && [ "${PWSH_REQUIRE_PESTER:-0}" = 1 ]; then
  log "Pester is required (PWSH_REQUIRE_PESTER=1) but could not be installed"
  exit 3
fi
echo "$PWSH"
