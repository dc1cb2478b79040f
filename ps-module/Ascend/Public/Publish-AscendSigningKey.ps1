function Publish-AscendSigningKey {
    <#
    .SYNOPSIS
    Adds signing keys to the trusted keys of the TSE policy in a GPO or a Registry.pol.
    .DESCRIPTION
    Runs "ascend keys publish": the public keys are added to TrustedKeys of the Temporary
    Session Elevation policy, enabling the policy if it is not and keeping its other values.
    Default: the newest key of this console. A GPO write, so it asks for confirmation
    (ConfirmImpact High) unless -Force is given.
    .PARAMETER KeyId
    The key ids to publish. Takes Ascend.SigningKey objects from the pipeline.
    .PARAMETER KeyFile
    Publish the public key of this private key file (mode 600) instead.
    .PARAMETER Gpo
    The GPO to edit: display name or {GUID}.
    .PARAMETER PolicyPath
    A local Registry.pol to edit instead (created when missing).
    .PARAMETER Force
    Writes without asking for confirmation.
    .EXAMPLE
    Publish-AscendSigningKey -Gpo 'Ascend - Workstations'
    Trusts the newest key of this console in the GPO.
    .EXAMPLE
    Get-AscendSigningKey -KeyId asc-3eeae46216b557d3 | Publish-AscendSigningKey -PolicyPath .\Registry.pol -Force
    Trusts one key in a local Registry.pol.
    .OUTPUTS
    Ascend.TrustedKeys
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High', DefaultParameterSetName = 'Gpo')]
    [OutputType('Ascend.TrustedKeys')]
    param(
        [Parameter(ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string[]] $KeyId,
        [ValidateNotNullOrEmpty()]
        [string] $KeyFile,
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
        foreach ($k in $KeyId) { if (-not [string]::IsNullOrEmpty($k)) { $kids.Add($k) } }
    }
    end {
        $target = Get-AscendTargetArgument -Gpo $Gpo -Path $PolicyPath
        $what = 'the newest key'
        $cliArgs = @('keys', 'publish') + $target
        foreach ($k in $kids) { $cliArgs += @('--kid', $k) }
        if ($kids.Count -gt 0) { $what = $kids -join ', ' }
        if ($PSBoundParameters.ContainsKey('KeyFile')) { $cliArgs += @('--key-file', (Resolve-AscendPath -Path $KeyFile)); $what = "the key of $KeyFile" }
        if (-not $PSCmdlet.ShouldProcess($target[1], "Trust $what for TSE passcodes")) { return }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $target[1]
        if ($null -ne $r) { ConvertTo-AscendTrustedKeys -Answer $r }
    }
}
