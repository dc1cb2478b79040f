function Get-AscendAgent {
    <#
    .SYNOPSIS
    Gets the agents enrolled with the collector.
    .DESCRIPTION
    Runs "ascend server agent list" against the connected collector (Connect-AscendServer):
    each agent's id, computer, enrollment time and revocation time.
    .PARAMETER Computer
    Only the agents of these computers (wildcards allowed).
    .EXAMPLE
    Get-AscendAgent
    Every enrolled agent.
    .EXAMPLE
    Get-AscendAgent -Computer 'PC-0*' | Where-Object { $null -eq $_.RevokedAt } | Revoke-AscendAgent -Reason 'decommissioned' -WhatIf
    Shows which agents of the PC-0 range would be revoked.
    .OUTPUTS
    Ascend.Agent
    #>
    [CmdletBinding()]
    [OutputType('Ascend.Agent')]
    param(
        [Parameter(Position = 0)]
        [SupportsWildcards()]
        [string[]] $Computer = @('*')
    )
    $server = Get-AscendServerArgument -Caller $PSCmdlet
    if ($null -eq $server) { return }
    $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments (@('server', 'agent', 'list') + $server)
    if ($null -eq $r) { return }
    foreach ($a in @($r.agents)) {
        if ($null -eq $a) { continue }
        foreach ($pattern in $Computer) {
            if ($a.computer -like $pattern) {
                Add-AscendTypeName -TypeName 'Ascend.Agent' -Property ([ordered]@{
                        Id         = $a.id
                        Computer   = $a.computer
                        EnrolledAt = ConvertFrom-AscendTime (Get-AscendProperty $a 'enrolledAt')
                        RevokedAt  = ConvertFrom-AscendTime (Get-AscendProperty $a 'revokedAt')
                    })
                break
            }
        }
    }
}
