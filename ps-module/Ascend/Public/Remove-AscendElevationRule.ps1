function Remove-AscendElevationRule {
    <#
    .SYNOPSIS
    Removes an elevation or blacklist rule from a GPO or a Registry.pol.
    .DESCRIPTION
    Runs "ascend rules remove". A GPO write and a removal, so it asks for confirmation
    (ConfirmImpact High) unless -Force is given.
    .PARAMETER Name
    The rule name. Takes Ascend.ElevationRule objects from the pipeline.
    .PARAMETER Gpo
    The GPO to edit: display name or {GUID}.
    .PARAMETER PolicyPath
    A local Registry.pol to edit instead.
    .PARAMETER Force
    Removes without asking for confirmation.
    .EXAMPLE
    Remove-AscendElevationRule -Gpo 'Ascend - Workstations' -Name 'Printer drivers'
    Asks, then removes the rule.
    .EXAMPLE
    Get-AscendElevationRule -Gpo 'Ascend - Workstations' -Name 'Test*' | Remove-AscendElevationRule -Force
    Removes every rule whose name starts with Test (the objects carry the GPO).
    .OUTPUTS
    None
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High', DefaultParameterSetName = 'Gpo')]
    [OutputType([void])]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)] [ValidateNotNullOrEmpty()] [string] $Name,
        [Parameter(Mandatory, ParameterSetName = 'Gpo', ValueFromPipelineByPropertyName)] [ValidateNotNullOrEmpty()] [string] $Gpo,
        [Parameter(Mandatory, ParameterSetName = 'PolicyPath', ValueFromPipelineByPropertyName)] [ValidateNotNullOrEmpty()] [string] $PolicyPath,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
    }
    process {
        $target = Get-AscendTargetArgument -Gpo $Gpo -Path $PolicyPath
        if (-not $PSCmdlet.ShouldProcess($target[1], "Remove rule '$Name'")) { return }
        $null = Invoke-AscendCli -Caller $PSCmdlet -Arguments (@('rules', 'remove', '--name', $Name) + $target) -Target $Name
    }
}
