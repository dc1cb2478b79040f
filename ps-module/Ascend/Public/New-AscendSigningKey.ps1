function New-AscendSigningKey {
    <#
    .SYNOPSIS
    Creates an Ed25519 signing key for TSE passcodes.
    .DESCRIPTION
    Runs "ascend keys init": the private key goes into the OS keychain (Credential Manager on
    Windows), or with -KeyFile into a new file of mode 600; the public key and key id go into
    the key index of this console. The private key is never printed or returned.
    .PARAMETER Name
    A label for the key, shown by Get-AscendSigningKey.
    .PARAMETER KeyFile
    Keep the private key in this new file (mode 600, never overwritten) instead of the keychain.
    .PARAMETER Force
    Creates the key without asking for confirmation.
    .EXAMPLE
    New-AscendSigningKey -Name 'Helpdesk 2026'
    A new key in the OS keychain.
    .EXAMPLE
    New-AscendSigningKey -Name 'Build server' -KeyFile ./signing.pem | Publish-AscendSigningKey -Gpo 'Ascend - Workstations' -Force
    A key in a file, published to a GPO at once.
    .OUTPUTS
    Ascend.SigningKey
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Low')]
    [OutputType('Ascend.SigningKey')]
    param(
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty()]
        [string] $Name,
        [ValidateNotNullOrEmpty()]
        [string] $KeyFile,
        [switch] $Force
    )
    if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
    $where = 'the OS keychain'
    $cliArgs = @('keys', 'init')
    if ($PSBoundParameters.ContainsKey('KeyFile')) {
        $file = Resolve-AscendPath -Path $KeyFile
        $where = $file
        $cliArgs += @('--key-file', $file)
    }
    if ($PSBoundParameters.ContainsKey('Name')) { $cliArgs += @('--name', $Name) }
    if (-not $PSCmdlet.ShouldProcess($where, 'Create signing key')) { return }
    $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs
    if ($null -ne $r) { ConvertTo-AscendSigningKey -Key $r.key }
}
