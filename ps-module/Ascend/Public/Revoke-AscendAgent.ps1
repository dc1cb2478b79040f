function Revoke-AscendAgent {
    <#
    .SYNOPSIS
    Revokes an enrolled agent's credential at the collector.
    .DESCRIPTION
    Runs "ascend server agent revoke": the collector refuses the agent's calls from then on
    (it must enroll again). A revocation, so it asks for confirmation (ConfirmImpact High)
    unless -Force is given.
    .PARAMETER Id
    The agent id. Takes Ascend.Agent objects from the pipeline.
    .PARAMETER Reason
    Why (kept with the revocation).
    .PARAMETER Force
    Revokes without asking for confirmation.
    .EXAMPLE
    Revoke-AscendAgent -Id 7617673f-1dd7-4b88-b7fa-d11fbb7bce6b -Reason 'stolen laptop'
    Asks, then revokes the agent.
    .EXAMPLE
    Get-AscendAgent -Computer PC-042 | Revoke-AscendAgent -Reason 'reinstalled' -Force
    Revokes PC-042's agent without a prompt.
    .OUTPUTS
    Ascend.Agent
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('Ascend.Agent')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $Id,
        [ValidateNotNullOrEmpty()]
        [string] $Reason,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
        $server = Get-AscendServerArgument -Caller $PSCmdlet
    }
    process {
        if ($null -eq $server) { return }
        if (-not $PSCmdlet.ShouldProcess($Id, 'Revoke agent')) { return }
        $cliArgs = @('server', 'agent', 'revoke', $Id) + $server
        if ($PSBoundParameters.ContainsKey('Reason')) { $cliArgs += @('--reason', $Reason) }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $Id
        if ($null -eq $r) { return }
        $a = Get-AscendProperty $r 'agent'
        if ($null -eq $a) { $a = $r }
        Add-AscendTypeName -TypeName 'Ascend.Agent' -Property ([ordered]@{
                Id         = $a.id
                Computer   = Get-AscendProperty $a 'computer'
                EnrolledAt = ConvertFrom-AscendTime (Get-AscendProperty $a 'enrolledAt')
                RevokedAt  = ConvertFrom-AscendTime (Get-AscendProperty $a 'revokedAt')
            })
    }
}
