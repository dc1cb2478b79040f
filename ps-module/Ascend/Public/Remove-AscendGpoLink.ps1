function Remove-AscendGpoLink {
    <#
    .SYNOPSIS
    Removes the link from a container to a GPO.
    .DESCRIPTION
    Runs "ascend gpo unlink": the GPO stays, it no longer applies through this container.
    Asks for confirmation (ConfirmImpact High) unless -Force is given.
    .PARAMETER Gpo
    The display name or {GUID} of the linked GPO.
    .PARAMETER Target
    The distinguished name of the domain or OU that holds the link.
    .PARAMETER Force
    Removes the link without asking for confirmation.
    .EXAMPLE
    Remove-AscendGpoLink -Gpo 'Ascend - Workstations' -Target 'OU=Workstations,DC=corp,DC=example,DC=com'
    Asks, then removes the link.
    .EXAMPLE
    New-AscendGpoLink -Gpo Pilot -Target 'OU=Pilot,DC=corp,DC=example,DC=com' -Force | Remove-AscendGpoLink -Force
    Adds a link and removes it again (the link object carries Gpo and Target).
    .OUTPUTS
    None
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType([void])]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('DisplayName')]
        [ValidateNotNullOrEmpty()]
        [string] $Gpo,
        [Parameter(Mandatory, Position = 1, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $Target,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
    }
    process {
        if (-not $PSCmdlet.ShouldProcess("$Gpo -> $Target", 'Remove GPO link')) { return }
        $null = Invoke-AscendCli -Caller $PSCmdlet -Arguments @('gpo', 'unlink', $Gpo, $Target) -Target $Gpo
    }
}
