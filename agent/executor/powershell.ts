/**
 * Pure builders of the PowerShell the Windows executor runs. Every value enters a script as a
 * single-quoted PowerShell literal (no expansion of `$`, backquote or subexpressions), and a
 * script reaches powershell.exe as -EncodedCommand (UTF-16LE Base64), so no cmd.exe or
 * command-line quoting layer ever sees the values.
 */
import { AscendError } from '../../src/errors.js';

/** A PowerShell single-quoted string literal. PowerShell also takes ‘ ’ ‚ ‛ as single quotes, so they are doubled too. */
export function psQuote(value: string): string {
  if (value.includes('\0')) throw new AscendError('ASC_EXEC_FAILED', 'A value for PowerShell contains a NUL character.');
  return `'${value.replace(/['\u2018\u2019\u201A\u201B]/g, (q) => q + q)}'`;
}

/** One argument quoted for a Windows command line as CommandLineToArgvW / the MSVC runtime parse it. */
export function winQuoteArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
      continue;
    }
    if (ch === '"') {
      out += '\\'.repeat(backslashes * 2 + 1) + '"';
    } else {
      out += '\\'.repeat(backslashes) + ch;
    }
    backslashes = 0;
  }
  return out + '\\'.repeat(backslashes * 2) + '"';
}

/** The arguments (after the program) as one Windows command-line string. */
export function winCommandLine(args: readonly string[]): string {
  return args.map(winQuoteArg).join(' ');
}

/** The -EncodedCommand form of a script: Base64 of its UTF-16LE bytes. */
export function encodeCommand(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}

/** powershell.exe arguments that run a script. */
export function powershellArgs(script: string): string[] {
  return ['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', encodeCommand(script)];
}

/** The environment variable that carries the ephemeral account's password to a script (never the command line). */
export const SECRET_VAR = 'ASCEND_EPHEMERAL_SECRET';

const SID = /^S-1-[0-9]+(-[0-9]+)+$/i;

/** Creates the local account (password from $env:ASCEND_EPHEMERAL_SECRET), adds it to the groups, prints its SID. */
export function createUserScript(name: string, description: string, groups: readonly string[]): string {
  const lines = [
    "$ErrorActionPreference = 'Stop'",
    `$pw = ConvertTo-SecureString -String $env:${SECRET_VAR} -AsPlainText -Force`,
    `Remove-Item -Path Env:${SECRET_VAR}`,
    `New-LocalUser -Name ${psQuote(name)} -Password $pw -Description ${psQuote(description)} -AccountNeverExpires -PasswordNeverExpires -UserMayNotChangePassword | Out-Null`,
  ];
  for (const g of groups) {
    lines.push(
      SID.test(g)
        ? `Add-LocalGroupMember -SID ${psQuote(g)} -Member ${psQuote(name)}`
        : `Add-LocalGroupMember -Group ${psQuote(g)} -Member ${psQuote(name)}`,
    );
  }
  lines.push(`(Get-LocalUser -Name ${psQuote(name)}).SID.Value`);
  return lines.join('\n');
}

/**
 * Runs the program as the account (or, with account null, as the agent's own SYSTEM token) with a
 * clean environment, inheriting this PowerShell's standard handles, and exits with its exit code.
 */
export function runScript(opts: {
  account: string | null;
  program: string;
  args: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
}): string {
  const lines = [
    "$ErrorActionPreference = 'Stop'",
    '$psi = New-Object System.Diagnostics.ProcessStartInfo',
    `$psi.FileName = ${psQuote(opts.program)}`,
    `$psi.Arguments = ${psQuote(winCommandLine(opts.args))}`,
    `$psi.WorkingDirectory = ${psQuote(opts.cwd)}`,
    '$psi.UseShellExecute = $false',
    '$root = $env:SystemRoot',
    '$psi.EnvironmentVariables.Clear()',
    "$psi.EnvironmentVariables['SystemRoot'] = $root",
    "$psi.EnvironmentVariables['PATH'] = \"$root\\system32;$root;$root\\System32\\WindowsPowerShell\\v1.0\"",
  ];
  for (const [k, v] of Object.entries(opts.env)) lines.push(`$psi.EnvironmentVariables[${psQuote(k)}] = ${psQuote(v)}`);
  if (opts.account !== null) {
    lines.push(
      `$psi.UserName = ${psQuote(opts.account)}`,
      '$psi.Domain = $env:COMPUTERNAME',
      `$psi.Password = ConvertTo-SecureString -String $env:${SECRET_VAR} -AsPlainText -Force`,
      '$psi.LoadUserProfile = $true',
    );
  }
  lines.push(`Remove-Item -Path Env:${SECRET_VAR} -ErrorAction SilentlyContinue`, '$p = [System.Diagnostics.Process]::Start($psi)', '$p.WaitForExit()', 'exit $p.ExitCode');
  return lines.join('\n');
}

/** Stops every process owned by the account; prints the ids it stopped, comma-separated. */
export function endAccountProcessesScript(account: string): string {
  return [
    `$ids = @(Get-CimInstance Win32_Process | Where-Object { (Invoke-CimMethod -InputObject $_ -MethodName GetOwner).User -eq ${psQuote(account)} } | ForEach-Object { $_.ProcessId })`,
    'foreach ($i in $ids) { Stop-Process -Id $i -Force -ErrorAction SilentlyContinue }',
    "$ids -join ','",
  ].join('\n');
}

/** Ends the process tree under a pid (taskkill /T /F); prints nothing useful. */
export function endTreeScript(pid: number): string {
  if (!Number.isInteger(pid) || pid <= 0) throw new AscendError('ASC_EXEC_FAILED', `Not a process id: ${pid}.`);
  return `taskkill.exe /T /F /PID ${pid} | Out-Null`;
}

/** Removes the account and its profile folder (C:\Users\<name>...). */
export function removeUserScript(account: string): string {
  return [
    `$u = Get-LocalUser -Name ${psQuote(account)} -ErrorAction SilentlyContinue`,
    'if ($u) {',
    '  $sid = $u.SID.Value',
    `  Remove-LocalUser -Name ${psQuote(account)}`,
    '  Get-CimInstance Win32_UserProfile | Where-Object { $_.SID -eq $sid } | Remove-CimInstance',
    '}',
  ].join('\n');
}

/** Lists the local accounts with the prefix and the marker, as JSON [{Name, Description, Created}]. */
export function listMarkedUsersScript(prefix: string, markerStart: string): string {
  return [
    `$u = @(Get-LocalUser | Where-Object { $_.Name.StartsWith(${psQuote(prefix)}) -and $_.Description.StartsWith(${psQuote(markerStart)}) })`,
    "ConvertTo-Json -Compress -InputObject @($u | ForEach-Object { [pscustomobject]@{ Name = $_.Name; Description = $_.Description; Created = $_.PasswordLastSet.ToUniversalTime().ToString('o') } })",
  ].join('\n');
}
