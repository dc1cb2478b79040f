function Get-AscendPolicyDefinition {
    <#
    .SYNOPSIS
    Gets the policy settings of the Ascend catalog.
    .DESCRIPTION
    Returns every policy of the settings catalog that the ADMX templates are generated from:
    its id, display name, category, registry key and value, and its elements (the values
    Set-AscendGpoSetting -Value takes). Runs "ascend policy list".
    .PARAMETER Id
    One or more policy ids to return; wildcards are allowed. Default: every policy.
    .EXAMPLE
    Get-AscendPolicyDefinition
    Lists every policy of the catalog.
    .EXAMPLE
    Get-AscendPolicyDefinition -Id TemporarySessionElevation | Select-Object -ExpandProperty Elements
    Shows the elements of the TSE policy and their ranges.
    .OUTPUTS
    Ascend.PolicyDefinition
    #>
    [CmdletBinding()]
    [OutputType('Ascend.PolicyDefinition')]
    param(
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [SupportsWildcards()]
        [string[]] $Id = @('*')
    )
    begin {
        $all = Invoke-AscendCli -Caller $PSCmdlet -Arguments @('policy', 'list')
    }
    process {
        if ($null -eq $all) { return }
        foreach ($pattern in $Id) {
            $found = @($all.policies | Where-Object { $_.id -like $pattern })
            if ($found.Count -eq 0 -and -not [System.Management.Automation.WildcardPattern]::ContainsWildcardCharacters($pattern)) {
                $PSCmdlet.WriteError((New-AscendErrorRecord -Code 'ASC_POLICY_UNKNOWN' -Message "no catalog policy has the id $pattern" -Target $pattern))
                continue
            }
            foreach ($p in $found) {
                Add-AscendTypeName -TypeName 'Ascend.PolicyDefinition' -Property ([ordered]@{
                        Id          = $p.id
                        DisplayName = $p.displayName
                        Category    = $p.category
                        Class       = $p.class
                        Key         = $p.key
                        ValueName   = $p.valueName
                        Elements    = @($p.elements)
                    })
            }
        }
    }
}
