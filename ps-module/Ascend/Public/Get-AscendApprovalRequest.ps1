function Get-AscendApprovalRequest {
    <#
    .SYNOPSIS
    Gets the approval requests agents sent to the collector.
    .DESCRIPTION
    Runs "ascend server approval list" against the connected collector (Connect-AscendServer).
    The objects pipe into Approve-AscendElevationRequest and Deny-AscendElevationRequest.
    .PARAMETER Status
    Pending (default), Approved, Denied or Expired.
    .EXAMPLE
    Get-AscendApprovalRequest
    The requests waiting for a decision.
    .EXAMPLE
    Get-AscendApprovalRequest -Status Pending | Approve-AscendElevationRequest -TimeLimit 00:30:00
    Approves every pending request, each usable for 30 minutes.
    .OUTPUTS
    Ascend.ApprovalRequest
    #>
    [CmdletBinding()]
    [OutputType('Ascend.ApprovalRequest')]
    param(
        [ValidateSet('Pending', 'Approved', 'Denied', 'Expired')]
        [string] $Status = 'Pending'
    )
    $server = Get-AscendServerArgument -Caller $PSCmdlet
    if ($null -eq $server) { return }
    $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments (@('server', 'approval', 'list', '--status', $Status.ToLowerInvariant()) + $server)
    if ($null -eq $r) { return }
    foreach ($req in @($r.requests)) { if ($null -ne $req) { ConvertTo-AscendApprovalRequest -Request $req } }
}
