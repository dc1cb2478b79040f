function Set-AscendGpoLink {
    <#
    .SYNOPSIS
    Changes a GPO link: Enforced, enabled, link order.
    .DESCRIPTION
    Changes the existing link from a container to a GPO ("ascend gpo link --update"); what
    is not given stays as it is. Asks for confirmation (ConfirmImpact High) unless -Force.
    .PARAMETER Gpo
    The display name or {GUID} of the linked GPO.
    .PARAMETER Target
    The distinguished name of the domain or OU that holds the link.
    .PARAMETER Enforced
    $true to make the link Enforced, $false to clear it.
    .PARAMETER Enabled
    $true to enable the link, $false to disable it (the GPO then does not apply through it).
    .PARAMETER Order
    The new link order (1 = highest precedence inside the container).
    .PARAMETER Force
    Changes the link without asking for confirmation.
    .EXAMPLE
    Set-AscendGpoLink -Gpo 'Ascend - Workstations' -Target 'OU=Workstations,DC=corp,DC=example,DC=com' -Enforced $true
    Makes the link Enforced.
    .EXAMPLE
    Get-AscendResultantPolicy -Computer PC-042 | Select-Object -ExpandProperty Applied | Where-Object DisplayName -like 'Ascend*' | Set-AscendGpoLink -Target 'DC=corp,DC=example,DC=com' -Enabled $false -WhatIf
    Shows which domain links would be disabled.
    .OUTPUTS
    Ascend.GpoLink
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('Ascend.GpoLink')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('DisplayName')]
        [ValidateNotNullOrEmpty()]
        [string] $Gpo,
        [Parameter(Mandatory, Position = 1, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $Target,
        [bool] $Enforced,
        [bool] $Enabled,
        [ValidateRange(1, 10000)]
        [int] $Order,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
    }
    process {
        if (-not $PSCmdlet.ShouldProcess("$Gpo -> $Target", 'Change GPO link')) { return }
        $cliArgs = @('gpo', 'link', $Gpo, $Target, '--update')
        if ($PSBoundParameters.ContainsKey('Enforced')) { if ($Enforced) { $cliArgs += '--enforced' } else { $cliArgs += '--no-enforced' } }
        if ($PSBoundParameters.ContainsKey('Enabled')) { if ($Enabled) { $cliArgs += '--no-disabled' } else { $cliArgs += '--disabled' } }
        if ($PSBoundParameters.ContainsKey('Order')) { $cliArgs += @('--order', [string]$Order) }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $Gpo
        if ($null -ne $r) { ConvertTo-AscendGpoLink -Answer $r -Gpo $Gpo -Caller $PSCmdlet }
    }
}
