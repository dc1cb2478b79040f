function Get-AscendAgentStatus {
    <#
    .SYNOPSIS
    Gets the status of the Ascend agent on this computer.
    .DESCRIPTION
    Asks the local agent over its socket ("ascend agent status"): its version, enrollment,
    where its policy came from and when, and its event spool. When no agent answers, the
    error is ASC_AGENT_NOT_RUNNING (ResourceUnavailable).
    .PARAMETER Socket
    The agent's socket (default $env:ASCEND_AGENT_SOCKET, else /run/ascend/agent.sock).
    .EXAMPLE
    Get-AscendAgentStatus
    The status of the agent of this computer.
    .EXAMPLE
    Get-AscendAgentStatus -Socket /run/ascend/agent.sock -ErrorAction Stop
    The status, failing the script when the agent does not answer.
    .OUTPUTS
    Ascend.AgentStatus
    #>
    [CmdletBinding()]
    [OutputType('Ascend.AgentStatus')]
    param(
        [ValidateNotNullOrEmpty()]
        [string] $Socket
    )
    $cliArgs = @('agent', 'status')
    if ($PSBoundParameters.ContainsKey('Socket')) { $cliArgs += @('--socket', $Socket) }
    $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs
    if ($null -eq $r) { return }
    $r.PSObject.TypeNames.Insert(0, 'Ascend.AgentStatus')
    $r
}
