function Get-AscendReport {
    <#
    .SYNOPSIS
    Gets a report from the collector: TSE usage, elevations, denied elevations, approvals, or discovery.
    .DESCRIPTION
    Runs "ascend report NAME --format json" against the connected collector
    (Connect-AscendServer) and returns one object per row, typed Ascend.Report.<Name>Row.
    .PARAMETER Name
    TseUsage (which processes were launched with which passcode), Elevations, Denied or Approvals;
    Discovery (every command users ran with sudo, as agents with the Discovery policy report it),
    DiscoveryPrograms (counted by program), DiscoveryUsers (by program and user) or
    DiscoveryComputers (by program and computer), with runs, users, computers, first and last
    seen, and how many runs the rules the agents had would have allowed (wouldAllow, coveredPercent).
    .PARAMETER From
    From this time on (inclusive).
    .PARAMETER To
    Before this time (exclusive).
    .PARAMETER Computer
    Only this computer.
    .PARAMETER User
    Only this user (DOMAIN\name as the agent reports it).
    .PARAMETER PasscodeId
    Only this passcode id.
    .EXAMPLE
    Get-AscendReport -Name TseUsage -From (Get-Date).AddDays(-7)
    The TSE Usage Report of the last seven days.
    .EXAMPLE
    Get-AscendReport -Name Denied -Computer PC-042 | Group-Object User | Sort-Object Count -Descending
    Who was refused most often on PC-042.
    .EXAMPLE
    Get-AscendReport -Name DiscoveryPrograms -From (Get-Date).AddDays(-30) | Sort-Object runs -Descending
    What users ran with sudo in the last 30 days, most run first.
    .OUTPUTS
    Ascend.Report.TseUsageRow, Ascend.Report.ElevationsRow, Ascend.Report.DeniedRow, Ascend.Report.ApprovalsRow, Ascend.Report.DiscoveryRow, Ascend.Report.DiscoveryProgramsRow, Ascend.Report.DiscoveryUsersRow, Ascend.Report.DiscoveryComputersRow
    #>
    [CmdletBinding()]
    [OutputType('Ascend.Report.TseUsageRow', 'Ascend.Report.ElevationsRow', 'Ascend.Report.DeniedRow', 'Ascend.Report.ApprovalsRow', 'Ascend.Report.DiscoveryRow', 'Ascend.Report.DiscoveryProgramsRow', 'Ascend.Report.DiscoveryUsersRow', 'Ascend.Report.DiscoveryComputersRow')]
    param(
        [Parameter(Mandatory, Position = 0)]
        [ValidateSet('TseUsage', 'Elevations', 'Denied', 'Approvals', 'Discovery', 'DiscoveryPrograms', 'DiscoveryUsers', 'DiscoveryComputers')]
        [string] $Name,
        [datetime] $From,
        [datetime] $To,
        [ValidateNotNullOrEmpty()] [string] $Computer,
        [ValidateNotNullOrEmpty()] [string] $User,
        [ValidateNotNullOrEmpty()] [string] $PasscodeId
    )
    $server = Get-AscendServerArgument -Caller $PSCmdlet
    if ($null -eq $server) { return }
    $cliName = @{ TseUsage = 'tse-usage'; Elevations = 'elevations'; Denied = 'denied'; Approvals = 'approvals'; Discovery = 'discovery'; DiscoveryPrograms = 'discovery-programs'; DiscoveryUsers = 'discovery-users'; DiscoveryComputers = 'discovery-computers' }[$Name]
    $cliArgs = @('report', $cliName, '--format', 'json') + $server
    $iso = 'yyyy-MM-ddTHH:mm:ssZ'
    if ($PSBoundParameters.ContainsKey('From')) { $cliArgs += @('--from', $From.ToUniversalTime().ToString($iso, [System.Globalization.CultureInfo]::InvariantCulture)) }
    if ($PSBoundParameters.ContainsKey('To')) { $cliArgs += @('--to', $To.ToUniversalTime().ToString($iso, [System.Globalization.CultureInfo]::InvariantCulture)) }
    if ($PSBoundParameters.ContainsKey('Computer')) { $cliArgs += @('--computer', $Computer) }
    if ($PSBoundParameters.ContainsKey('User')) { $cliArgs += @('--user', $User) }
    if ($PSBoundParameters.ContainsKey('PasscodeId')) { $cliArgs += @('--passcode', $PasscodeId) }
    $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $Name
    if ($null -eq $r) { return }
    foreach ($row in @($r.rows)) {
        if ($null -eq $row) { continue }
        $row.PSObject.TypeNames.Insert(0, "Ascend.Report.$($Name)Row")
        $row
    }
}
