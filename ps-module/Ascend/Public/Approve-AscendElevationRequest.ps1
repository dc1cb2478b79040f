function Approve-AscendElevationRequest {
    <#
    .SYNOPSIS
    Approves an elevation request an agent is waiting on.
    .DESCRIPTION
    Runs "ascend server approval approve" against the connected collector. A request is
    decided once: deciding it again is ASC_COLLECTOR_CONFLICT. Asks for confirmation
    (ConfirmImpact Medium, so only when $ConfirmPreference asks) unless -Force.
    .PARAMETER Id
    The request id. Takes Ascend.ApprovalRequest objects from the pipeline.
    .PARAMETER TimeLimit
    How long after the decision the approval may be used.
    .PARAMETER Force
    Approves without asking for confirmation.
    .EXAMPLE
    Approve-AscendElevationRequest -Id 6e603ec5-5e8f-4d37-adfd-617d11bc1afd
    Approves one request.
    .EXAMPLE
    Get-AscendApprovalRequest -Status Pending | Where-Object User -eq 'CORP\bob' | Approve-AscendElevationRequest -TimeLimit 00:30:00
    Approves Bob's pending requests for 30 minutes.
    .OUTPUTS
    Ascend.ApprovalRequest
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('Ascend.ApprovalRequest')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $Id,
        [timespan] $TimeLimit,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
        $server = Get-AscendServerArgument -Caller $PSCmdlet
    }
    process {
        if ($null -eq $server) { return }
        if (-not $PSCmdlet.ShouldProcess($Id, 'Approve elevation request')) { return }
        $cliArgs = @('server', 'approval', 'approve', $Id) + $server
        if ($PSBoundParameters.ContainsKey('TimeLimit')) { $cliArgs += @('--time-limit', ([string][long][System.Math]::Round($TimeLimit.TotalSeconds) + 's')) }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $Id
        if ($null -ne $r) { ConvertTo-AscendApprovalRequest -Request (Get-AscendApprovalAnswer $r) }
    }
}

