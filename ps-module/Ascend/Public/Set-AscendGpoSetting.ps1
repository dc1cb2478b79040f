function Set-AscendGpoSetting {
    <#
    .SYNOPSIS
    Sets an Ascend policy in a GPO to Enabled (with element values), Disabled or Not Configured.
    .DESCRIPTION
    Edits the GPO as GPMC does ("ascend gpo set"): Machine\Registry.pol rewritten atomically,
    GPT.INI Version and the AD versionNumber bumped together, the registry extension added to
    gPCMachineExtensionNames. When another admin wrote the GPO meanwhile, nothing is written
    and the error is ASC_GPO_CONFLICT. A GPO write, so it asks for confirmation
    (ConfirmImpact High) unless -Force is given; -WhatIf writes nothing.
    .PARAMETER Gpo
    The display name or {GUID} of the GPO.
    .PARAMETER Policy
    The policy id (Get-AscendPolicyDefinition lists them).
    .PARAMETER State
    Enabled, Disabled or NotConfigured.
    .PARAMETER Value
    Element values for Enabled, as a hashtable: @{ IntegrityLevel = 'High'; Groups = @('S-1-5-32-544', 'CORP\Helpdesk') }.
    An array is a list; for explicit-value lists give items as 'name=value' or @{ Name = ...; Value = ... }.
    .PARAMETER Force
    Writes without asking for confirmation.
    .EXAMPLE
    Set-AscendGpoSetting -Gpo 'Ascend - Workstations' -Policy OfflinePasscodes -State Enabled
    Allows offline passcodes on the machines the GPO applies to.
    .EXAMPLE
    Set-AscendGpoSetting -Gpo 'Ascend - Workstations' -Policy TemporarySessionElevation -State Enabled -Value @{ Groups = 'S-1-5-32-544', 'CORP\Helpdesk'; IntegrityLevel = 'High' } -Force
    Enables TSE with two groups, without a prompt.
    .OUTPUTS
    Ascend.GpoSetting
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('Ascend.GpoSetting')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('DisplayName')]
        [ValidateNotNullOrEmpty()]
        [string] $Gpo,
        [Parameter(Mandatory, Position = 1, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $Policy,
        [Parameter(Mandatory)]
        [ValidateSet('Enabled', 'Disabled', 'NotConfigured')]
        [string] $State,
        [System.Collections.IDictionary] $Value,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
    }
    process {
        if (-not $PSCmdlet.ShouldProcess("GPO $Gpo", "Set $Policy to $State")) { return }
        $cliState = @{ Enabled = 'enabled'; Disabled = 'disabled'; NotConfigured = 'not-configured' }[$State]
        $cliArgs = @('gpo', 'set', $Gpo, $Policy, '--state', $cliState) + (ConvertTo-AscendValueArgument -Value $Value)
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $Gpo
        if ($null -eq $r) { return }
        Add-AscendTypeName -TypeName 'Ascend.GpoSetting' -Property ([ordered]@{
                Gpo            = $r.gpo.displayName
                Guid           = $r.gpo.guid
                Policy         = $r.policy
                State          = ConvertTo-AscendState $r.state
                Values         = $r.values
                MachineVersion = $r.versionAfter
                Changed        = [bool]$r.changed
            })
    }
}
