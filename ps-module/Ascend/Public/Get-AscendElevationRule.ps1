function Get-AscendElevationRule {
    <#
    .SYNOPSIS
    Gets the elevation and blacklist rules of a GPO or of Registry.pol files.
    .DESCRIPTION
    Runs "ascend rules list": every rule of the ElevationRules (allow) and BlacklistRules
    (deny) policies with the risk findings of the rule checker.
    .PARAMETER Gpo
    A GPO: display name or {GUID}.
    .PARAMETER PolicyPath
    Registry.pol files, lowest precedence first (their rules merge).
    .PARAMETER Name
    Only the rules with these names (wildcards allowed).
    .EXAMPLE
    Get-AscendElevationRule -Gpo 'Ascend - Workstations'
    The rules of the GPO.
    .EXAMPLE
    Get-AscendElevationRule -Gpo 'Ascend - Workstations' | Where-Object { $_.Findings.Count -gt 0 } | Format-List Name, Findings
    The rules the checker has findings about.
    .OUTPUTS
    Ascend.ElevationRule
    #>
    [CmdletBinding(DefaultParameterSetName = 'Gpo')]
    [OutputType('Ascend.ElevationRule')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Gpo', ValueFromPipelineByPropertyName)]
        [Alias('DisplayName')]
        [ValidateNotNullOrEmpty()]
        [string] $Gpo,
        [Parameter(Mandatory, ParameterSetName = 'PolicyPath')]
        [ValidateNotNullOrEmpty()]
        [string[]] $PolicyPath,
        [SupportsWildcards()]
        [string[]] $Name = @('*')
    )
    process {
        $cliArgs = @('rules', 'list')
        $files = @()
        if ($PSCmdlet.ParameterSetName -eq 'Gpo') { $cliArgs += @('--gpo', $Gpo) }
        else { foreach ($p in $PolicyPath) { $f = Resolve-AscendPath -Path $p; $files += $f; $cliArgs += @('--policy', $f) } }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs
        if ($null -eq $r) { return }
        foreach ($rule in @($r.rules)) {
            foreach ($pattern in $Name) {
                if ($rule.name -like $pattern) {
                    $source = $null
                    if ($files.Count -eq 1) { $source = $files[0] }
                    ConvertTo-AscendElevationRule -Rule $rule -Gpo $Gpo -PolicyPath $source
                    break
                }
            }
        }
    }
}
