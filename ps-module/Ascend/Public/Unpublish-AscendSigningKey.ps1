function Unpublish-AscendSigningKey {
    <#
    .SYNOPSIS
    Removes signing keys from the trusted keys of the TSE policy (the end of a key rotation).
    .DESCRIPTION
    Runs "ascend keys unpublish": the key ids are removed from TrustedKeys in the GPO or the
    Registry.pol; passcodes they signed are refused with unknown-key afterwards. A GPO write,
    so it asks for confirmation (ConfirmImpact High) unless -Force is given.
    .PARAMETER KeyId
    The key ids to remove. Takes Ascend.SigningKey objects from the pipeline.
    .PARAMETER Gpo
    The GPO to edit: display name or {GUID}.
    .PARAMETER PolicyPath
    A local Registry.pol to edit instead.
    .PARAMETER Force
    Writes without asking for confirmation.
    .EXAMPLE
    Unpublish-AscendSigningKey -Gpo 'Ascend - Workstations' -KeyId asc-0123456789abcdef
    Stops trusting an old key in the GPO.
    .EXAMPLE
    Get-AscendSigningKey | Where-Object Created -lt '2026-01-01' | Unpublish-AscendSigningKey -Gpo 'Ascend - Workstations' -WhatIf
    Shows which old keys would stop being trusted.
    .OUTPUTS
    Ascend.TrustedKeys
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High', DefaultParameterSetName = 'Gpo')]
    [OutputType('Ascend.TrustedKeys')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string[]] $KeyId,
        [Parameter(Mandatory, ParameterSetName = 'Gpo')]
        [ValidateNotNullOrEmpty()]
        [string] $Gpo,
        [Parameter(Mandatory, ParameterSetName = 'PolicyPath')]
        [ValidateNotNullOrEmpty()]
        [string] $PolicyPath,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
        $kids = New-Object System.Collections.Generic.List[string]
    }
    process {
        foreach ($k in $KeyId) { $kids.Add($k) }
    }
    end {
        if ($kids.Count -eq 0) { return }
        $target = Get-AscendTargetArgument -Gpo $Gpo -Path $PolicyPath
        if (-not $PSCmdlet.ShouldProcess($target[1], 'Stop trusting ' + ($kids -join ', '))) { return }
        $cliArgs = @('keys', 'unpublish') + $target
        foreach ($k in $kids) { $cliArgs += @('--kid', $k) }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $target[1]
        if ($null -ne $r) { ConvertTo-AscendTrustedKeys -Answer $r }
    }
}
