function Get-AscendReport {
    <#
    .SYNOPSIS
    Gets a report from the collector: TSE usage, elevations, denied elevations or approvals.
    .DESCRIPTION
    Runs "ascend report NAME --format json" against the connected collector
    (Connect-AscendServer) and returns one object per row, typed Ascend.Report.<Name>Row.
    .PARAMETER Name
    TseUsage (which processes were launched with which passcode), Elevations, Denied or Approvals.
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
    .OUTPUTS
    Ascend.Report.TseUsageRow, Ascend.Report.ElevationsRow, Ascend.Report.DeniedRow, Ascend.Report.ApprovalsRow
    #>
    [CmdletBinding()]
    [OutputType('Ascend.Report.TseUsageRow', 'Ascend.Report.ElevationsRow', 'Ascend.Report.DeniedRow', 'Ascend.Report.ApprovalsRow')]
    param(
        [Parameter(Mandatory, Position = 0)]
        [ValidateSet('TseUsage', 'Elevations', 'Denied', 'Approvals')]
        [string] $Name,
        [datetime] $From,
        [datetime] $To,
        [ValidateNotNullOrEmpty()] [string] $Computer,
        [ValidateNotNullOrEmpty()] [string] $User,
        [ValidateNotNullOrEmpty()] [string] $PasscodeId
    )
    $server = Get-AscendServerArgument -Caller $PSCmdlet
    if ($null -eq $server) { return }
    $cliName = @{ TseUsage = 'tse-usage'; Elevations = 'elevations'; Denied = 'denied'; Approvals = 'approvals' }[$Name]
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
