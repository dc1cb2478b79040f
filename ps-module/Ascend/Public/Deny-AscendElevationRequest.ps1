function Deny-AscendElevationRequest {
    <#
    .SYNOPSIS
    Denies an elevation request an agent is waiting on.
    .DESCRIPTION
    Runs "ascend server approval deny" against the connected collector. A request is decided
    once: deciding it again is ASC_COLLECTOR_CONFLICT. Asks for confirmation (ConfirmImpact
    Medium) when $ConfirmPreference asks, unless -Force.
    .PARAMETER Id
    The request id. Takes Ascend.ApprovalRequest objects from the pipeline.
    .PARAMETER Force
    Denies without asking for confirmation.
    .EXAMPLE
    Deny-AscendElevationRequest -Id 6e603ec5-5e8f-4d37-adfd-617d11bc1afd
    Denies one request.
    .EXAMPLE
    Get-AscendApprovalRequest | Where-Object ProcessPath -like '*\cmd.exe' | Deny-AscendElevationRequest -Force
    Denies every pending request for cmd.exe.
    .OUTPUTS
    Ascend.ApprovalRequest
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('Ascend.ApprovalRequest')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $Id,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
        $server = Get-AscendServerArgument -Caller $PSCmdlet
    }
    process {
        if ($null -eq $server) { return }
        if (-not $PSCmdlet.ShouldProcess($Id, 'Deny elevation request')) { return }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments (@('server', 'approval', 'deny', $Id) + $server) -Target $Id
        if ($null -ne $r) { ConvertTo-AscendApprovalRequest -Request (Get-AscendApprovalAnswer $r) }
    }
}
