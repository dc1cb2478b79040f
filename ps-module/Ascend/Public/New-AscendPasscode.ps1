function New-AscendPasscode {
    <#
    .SYNOPSIS
    Issues a TSE passcode: builds, signs and exports it to an .ascpass file.
    .DESCRIPTION
    The Passcode Manager wizard as parameters ("ascend passcode new"): Groups, Privileges,
    Integrity, Validation Logic (computers, users, activation window, weekdays, hours) and
    the Passcode tab (title, maximum usage, duration, end processes, export). The passcode is
    signed with the newest key of this console unless -KeyId or -KeyFile says otherwise,
    written to a new file of mode 600 (-OutFile, never overwritten) and recorded in the
    issued registry. The token itself is a bearer secret: it is only in the file.
    .PARAMETER Title
    What the passcode is for.
    .PARAMETER MaxUses
    Maximum allowed usage on a machine (1 or more).
    .PARAMETER Duration
    The session length, counted from activation.
    .PARAMETER OutFile
    The .ascpass file to write (must not exist).
    .PARAMETER EndProcesses
    End all elevated processes and their children when the duration expires.
    .PARAMETER Computer
    Computer name patterns (* and ?) or SIDs the passcode is valid on; none = any computer.
    .PARAMETER User
    User name patterns (DOMAIN\name or name) or SIDs; none = any user.
    .PARAMETER NotBefore
    Start of the activation window.
    .PARAMETER NotAfter
    End of the activation window.
    .PARAMETER Weekdays
    Allowed days, e.g. 'mon-fri' or 'mon,wed'.
    .PARAMETER Hours
    Allowed hours, HH:MM-HH:MM (22:00-06:00 wraps midnight).
    .PARAMETER UtcOffset
    The zone of -Weekdays and -Hours, e.g. '+01:00' (default: the checking machine's zone).
    .PARAMETER Group
    Group SIDs for the elevated token; none = the policy's TSE groups, else BUILTIN\Administrators.
    .PARAMETER Privilege
    Privileges to add, e.g. SeDebugPrivilege.
    .PARAMETER Integrity
    Medium, High (default) or System; the policy's level is the ceiling.
    .PARAMETER Issuer
    Who issues it (default user@host of this console).
    .PARAMETER KeyId
    Sign with this key of Get-AscendSigningKey (default: the newest).
    .PARAMETER KeyFile
    Sign with this private key file (mode 600) instead of the keychain.
    .PARAMETER Force
    Issues without asking for confirmation.
    .EXAMPLE
    New-AscendPasscode -Title 'Printer driver for Bob' -MaxUses 1 -Duration 00:30:00 -EndProcesses -Computer 'PC-0*' -User 'CORP\bob' -NotAfter '2027-07-01T18:00:00Z' -OutFile bob.ascpass
    The README's example passcode, for one use within 30 minutes.
    .EXAMPLE
    New-AscendPasscode -Title 'Night shift' -MaxUses 5 -Duration 02:00:00 -Weekdays mon-fri -Hours 22:00-06:00 -UtcOffset '+01:00' -Group S-1-5-32-544 -Privilege SeBackupPrivilege -Integrity Medium -OutFile night.ascpass -Force
    A passcode limited to weeknights with a privilege and medium integrity.
    .OUTPUTS
    Ascend.Passcode
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('Ascend.Passcode')]
    param(
        [Parameter(Mandatory)] [ValidateNotNullOrEmpty()] [string] $Title,
        [Parameter(Mandatory)] [ValidateRange(1, 1000000)] [int] $MaxUses,
        [Parameter(Mandatory)] [timespan] $Duration,
        [Parameter(Mandatory)] [ValidateNotNullOrEmpty()] [string] $OutFile,
        [switch] $EndProcesses,
        [string[]] $Computer,
        [string[]] $User,
        [datetime] $NotBefore,
        [datetime] $NotAfter,
        [ValidateNotNullOrEmpty()] [string] $Weekdays,
        [ValidatePattern('^\d{2}:\d{2}-\d{2}:\d{2}$')] [string] $Hours,
        [ValidatePattern('^[+-]\d{2}:\d{2}$')] [string] $UtcOffset,
        [string[]] $Group,
        [string[]] $Privilege,
        [ValidateSet('Medium', 'High', 'System')] [string] $Integrity,
        [ValidateNotNullOrEmpty()] [string] $Issuer,
        [ValidateNotNullOrEmpty()] [string] $KeyId,
        [ValidateNotNullOrEmpty()] [string] $KeyFile,
        [switch] $Force
    )
    if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
    $file = Resolve-AscendPath -Path $OutFile
    $seconds = [long][System.Math]::Round($Duration.TotalSeconds)
    $cliArgs = @('passcode', 'new', '--title', $Title, '--max-uses', [string]$MaxUses, '--duration', [string]$seconds, '--out', $file)
    if ($EndProcesses) { $cliArgs += '--end-processes' }
    foreach ($c in $Computer) { $cliArgs += @('--computer', $c) }
    foreach ($u in $User) { $cliArgs += @('--user', $u) }
    if ($PSBoundParameters.ContainsKey('NotBefore')) { $cliArgs += @('--not-before', $NotBefore.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)) }
    if ($PSBoundParameters.ContainsKey('NotAfter')) { $cliArgs += @('--not-after', $NotAfter.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)) }
    if ($PSBoundParameters.ContainsKey('Weekdays')) { $cliArgs += @('--weekdays', $Weekdays) }
    if ($PSBoundParameters.ContainsKey('Hours')) { $cliArgs += @('--hours', $Hours) }
    if ($PSBoundParameters.ContainsKey('UtcOffset')) { $cliArgs += @('--utc-offset', $UtcOffset) }
    foreach ($g in $Group) { $cliArgs += @('--group', $g) }
    foreach ($p in $Privilege) { $cliArgs += @('--privilege', $p) }
    if ($PSBoundParameters.ContainsKey('Integrity')) { $cliArgs += @('--integrity', $Integrity.ToLowerInvariant()) }
    if ($PSBoundParameters.ContainsKey('Issuer')) { $cliArgs += @('--issuer', $Issuer) }
    if ($PSBoundParameters.ContainsKey('KeyId')) { $cliArgs += @('--kid', $KeyId) }
    if ($PSBoundParameters.ContainsKey('KeyFile')) { $cliArgs += @('--key-file', (Resolve-AscendPath -Path $KeyFile)) }
    if (-not $PSCmdlet.ShouldProcess($file, "Issue passcode '$Title'")) { return }
    $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $file
    if ($null -ne $r) { ConvertTo-AscendPasscode -Terms $r.terms -Path $r.file -KeyId $r.kid }
}
