function ConvertTo-AscendElevationRule {
    [CmdletBinding()]
    [OutputType('Ascend.ElevationRule')]
    param(
        [Parameter(Mandatory)] [object] $Rule,
        [string] $Gpo,
        [string] $PolicyPath,
        [object[]] $Findings
    )
    if ($null -eq $Findings) { $Findings = @(Get-AscendProperty $Rule 'findings') }
    $action = [string]$Rule.action
    if ($action.Length -gt 0) { $action = $action.Substring(0, 1).ToUpperInvariant() + $action.Substring(1) }
    $props = [ordered]@{
            Name       = $Rule.name
            Action     = $action
            List       = Get-AscendProperty $Rule 'list'
            Match      = Get-AscendProperty $Rule 'match'
            Target     = Get-AscendProperty $Rule 'target'
            Controls   = @(Get-AscendProperty $Rule 'controls')
            Source     = Get-AscendProperty $Rule 'source'
            Findings   = @($Findings)
        }
    # Only the target the rule came from, so that piping into Remove-AscendElevationRule binds it.
    if (-not [string]::IsNullOrEmpty($Gpo)) { $props['Gpo'] = $Gpo }
    if (-not [string]::IsNullOrEmpty($PolicyPath)) { $props['PolicyPath'] = $PolicyPath }
    Add-AscendTypeName -TypeName 'Ascend.ElevationRule' -Property $props
}
