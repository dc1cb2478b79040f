function Invoke-AscendPolicyRefresh {
    <#
    .SYNOPSIS
    Makes the Ascend agent on this computer read its policy again now, like Invoke-GPUpdate.
    .DESCRIPTION
    Asks the local agent over its socket to refresh its policy ("ascend agent refresh") and
    returns what it reports. When no agent answers, the error is ASC_AGENT_NOT_RUNNING.
    .PARAMETER Socket
    The agent's socket (default $env:ASCEND_AGENT_SOCKET, else /run/ascend/agent.sock).
    .PARAMETER Force
    Refreshes without asking for confirmation.
    .EXAMPLE
    Invoke-AscendPolicyRefresh
    Refreshes the agent's policy now.
    .EXAMPLE
    Invoke-AscendPolicyRefresh -Socket /run/ascend/agent.sock -WhatIf
    Shows what would be asked of the agent, without asking.
    .OUTPUTS
    Ascend.AgentStatus
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Low')]
    [OutputType('Ascend.AgentStatus')]
    param(
        [ValidateNotNullOrEmpty()]
        [string] $Socket,
        [switch] $Force
    )
    if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
    $target = 'the local agent'
    if ($PSBoundParameters.ContainsKey('Socket')) { $target = "the agent at $Socket" }
    if (-not $PSCmdlet.ShouldProcess($target, 'Refresh policy')) { return }
    $cliArgs = @('agent', 'refresh')
    if ($PSBoundParameters.ContainsKey('Socket')) { $cliArgs += @('--socket', $Socket) }
    $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs
    if ($null -eq $r) { return }
    $r.PSObject.TypeNames.Insert(0, 'Ascend.AgentStatus')
    $r
}
