function Get-AscendGpoSetting {
    <#
    .SYNOPSIS
    Gets the Ascend settings of a GPO with their states and values.
    .DESCRIPTION
    Reads the GPO's Machine\Registry.pol from SYSVOL and returns every Ascend policy with
    its GPMC state (Enabled, Disabled or NotConfigured) and element values, through
    "ascend gpo show". The objects pipe into Set-AscendGpoSetting.
    .PARAMETER Gpo
    The display name or {GUID} of the GPO. Takes Ascend.Gpo objects from the pipeline.
    .PARAMETER Policy
    Only these policy ids (wildcards allowed). Default: every policy.
    .EXAMPLE
    Get-AscendGpoSetting -Gpo 'Ascend - Workstations'
    Shows every Ascend setting of the GPO.
    .EXAMPLE
    Get-AscendGpoSetting -Gpo 'Workstations' | Where-Object State -eq Enabled | Set-AscendGpoSetting -State NotConfigured -WhatIf
    Shows what setting every enabled policy back to Not Configured would do.
    .OUTPUTS
    Ascend.GpoSetting
    #>
    [CmdletBinding()]
    [OutputType('Ascend.GpoSetting')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('DisplayName')]
        [ValidateNotNullOrEmpty()]
        [string] $Gpo,
        [Parameter(Position = 1)]
        [SupportsWildcards()]
        [string[]] $Policy = @('*')
    )
    process {
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments @('gpo', 'show', $Gpo) -Target $Gpo
        if ($null -eq $r) { return }
        foreach ($s in @($r.settings)) {
            $wanted = $false
            foreach ($p in $Policy) { if ($s.id -like $p) { $wanted = $true } }
            if (-not $wanted) { continue }
            Add-AscendTypeName -TypeName 'Ascend.GpoSetting' -Property ([ordered]@{
                    Gpo            = $r.gpo.displayName
                    Guid           = $r.gpo.guid
                    Policy         = $s.id
                    State          = ConvertTo-AscendState $s.state
                    Values         = $s.values
                    MachineVersion = $r.gpo.machineVersion
                })
        }
    }
}
