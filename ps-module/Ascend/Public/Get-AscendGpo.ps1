function Get-AscendGpo {
    <#
    .SYNOPSIS
    Gets the GPOs of the domain.
    .DESCRIPTION
    Lists the GPOs of the domain with their versions (computer and user halves) and SYSVOL
    paths, through "ascend gpo list". With -Name, only the GPOs whose display name or {GUID}
    matches (wildcards allowed); a name without wildcards that matches nothing is an
    ASC_GPO_NOT_FOUND error.
    .PARAMETER Name
    Display names or {GUID}s of the GPOs to return; wildcards are allowed. Default: all.
    .EXAMPLE
    Get-AscendGpo
    Lists every GPO of the domain.
    .EXAMPLE
    Get-AscendGpo -Name 'Ascend*' | Get-AscendGpoSetting
    Shows the Ascend settings of every GPO whose name starts with Ascend.
    .OUTPUTS
    Ascend.Gpo
    #>
    [CmdletBinding()]
    [OutputType('Ascend.Gpo')]
    param(
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('DisplayName')]
        [SupportsWildcards()]
        [string[]] $Name = @('*')
    )
    begin {
        $all = Invoke-AscendCli -Caller $PSCmdlet -Arguments @('gpo', 'list')
    }
    process {
        if ($null -eq $all) { return }
        foreach ($pattern in $Name) {
            $found = @($all.gpos | Where-Object { $_.displayName -like $pattern -or $_.guid -like $pattern })
            if ($found.Count -eq 0 -and -not [System.Management.Automation.WildcardPattern]::ContainsWildcardCharacters($pattern)) {
                $PSCmdlet.WriteError((New-AscendErrorRecord -Code 'ASC_GPO_NOT_FOUND' -Message "no GPO has the display name or GUID $pattern" -Target $pattern))
                continue
            }
            foreach ($g in $found) { ConvertTo-AscendGpo -Gpo $g }
        }
    }
}
