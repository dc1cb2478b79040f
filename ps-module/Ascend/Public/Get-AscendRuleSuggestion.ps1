function Get-AscendRuleSuggestion {
    <#
    .SYNOPSIS
    Suggests elevation rules from what users ran with sudo (the collector's Discovery report).
    .DESCRIPTION
    Runs "ascend rules suggest" against the connected collector (Connect-AscendServer): it
    reads every elevation-discovered event since -Since (agents with the Discovery policy
    report what users run with sudo) and proposes one allow rule per program and subcommand:
    the full path, pinned by its Debian package (Publisher deb:PKG, reported only when dpkg's
    checksum matched the file) when every run says so, else by the SHA-256 of its latest run;
    arguments that varied become * (never across a subcommand: "restart x" and "mask x" give
    two rules). Each suggestion has its counts (Runs, Users, Computers) and Risky when
    "ascend rules lint" flags the rule high (a program that starts a shell or writes any file,
    not pinned) or when its arguments were generalised (a * matches any words, options
    included). Nothing is written: add the ones you choose with Add-AscendElevationRule.
    .PARAMETER Since
    Read runs from this time on (default: the last 30 days).
    .PARAMETER MinUsers
    Only rules that at least this many users ran.
    .PARAMETER Computer
    Only runs on computers matching this pattern (* and ?).
    .PARAMETER IncludeCovered
    Also command lines that the rules the agents had already allowed every time.
    .EXAMPLE
    Get-AscendRuleSuggestion -MinUsers 2 | Format-Table Index, Name, Application, Arguments, Runs, Users, Risky
    What more than one user ran with sudo in the last 30 days, as rules.
    .EXAMPLE
    Get-AscendRuleSuggestion -Computer 'WEB-*' | Where-Object { -not $_.Risky } | ForEach-Object { $p = @{ Name = $_.Name; Action = 'Allow'; Application = $_.Application; Arguments = $_.Arguments; Description = $_.Description }; if ($_.Publisher) { $p.Publisher = $_.Publisher } elseif ($_.Sha256) { $p.Sha256 = $_.Sha256 }; Add-AscendElevationRule @p -Gpo 'Ascend - Web servers' -Force }
    Writes the suggestions that are not risky into a GPO.
    .OUTPUTS
    Ascend.RuleSuggestion
    #>
    [CmdletBinding()]
    [OutputType('Ascend.RuleSuggestion')]
    param(
        [datetime] $Since,
        [ValidateRange(1, 1000000)] [int] $MinUsers = 1,
        [ValidateNotNullOrEmpty()] [string] $Computer,
        [switch] $IncludeCovered
    )
    $server = Get-AscendServerArgument -Caller $PSCmdlet
    if ($null -eq $server) { return }
    $cliArgs = @('rules', 'suggest', '--min-users', [string]$MinUsers) + $server
    if ($PSBoundParameters.ContainsKey('Since')) { $cliArgs += @('--since', $Since.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)) }
    if ($PSBoundParameters.ContainsKey('Computer')) { $cliArgs += @('--computer', $Computer) }
    if ($IncludeCovered) { $cliArgs += '--include-covered' }
    $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target 'rules suggest'
    if ($null -eq $r) { return }
    foreach ($s in @($r.suggestions)) {
        if ($null -eq $s) { continue }
        $o = [pscustomobject]@{
            Index         = [int]$s.index
            Name          = [string]$s.rule.name
            Action        = 'Allow'
            Application   = [string]$s.rule.match.path
            Publisher     = $s.rule.match.publisher
            Sha256        = $s.rule.match.sha256
            Arguments     = [string]$s.rule.match.args
            Description   = [string]$s.rule.description
            Basis         = [string]$s.basis
            Hashes        = [int]$s.hashes
            Runs          = [int]$s.runs
            Users         = [int]$s.users
            Computers     = [int]$s.computers
            UserNames     = @($s.userNames)
            ComputerNames = @($s.computerNames)
            Examples      = @($s.examples)
            Generalised   = [bool]$s.generalised
            WouldAllow    = [int]$s.wouldAllow
            FirstSeen     = $s.firstSeen
            LastSeen      = $s.lastSeen
            Risky         = [bool]$s.risky
            RiskKinds     = @($s.riskKinds)
            Findings      = @($s.findings)
            Notes         = @($s.notes)
        }
        $o.PSObject.TypeNames.Insert(0, 'Ascend.RuleSuggestion')
        $o
    }
}
