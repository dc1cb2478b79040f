function Get-AscendSigningKey {
    <#
    .SYNOPSIS
    Gets the passcode signing keys of this console.
    .DESCRIPTION
    Reads the key index ("ascend keys list"): key id, public key, creation time, where the
    private key is (keychain or file) and the label. Nothing secret is returned.
    .PARAMETER KeyId
    Only these key ids (wildcards allowed).
    .EXAMPLE
    Get-AscendSigningKey
    Every key of this console, oldest first.
    .EXAMPLE
    Get-AscendSigningKey | Select-Object -Last 1 | Publish-AscendSigningKey -Gpo 'Ascend - Workstations'
    Publishes the newest key to a GPO.
    .OUTPUTS
    Ascend.SigningKey
    #>
    [CmdletBinding()]
    [OutputType('Ascend.SigningKey')]
    param(
        [Parameter(Position = 0)]
        [SupportsWildcards()]
        [string[]] $KeyId = @('*')
    )
    $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments @('keys', 'list')
    if ($null -eq $r) { return }
    foreach ($k in @($r.keys)) {
        foreach ($pattern in $KeyId) {
            if ($k.kid -like $pattern) { ConvertTo-AscendSigningKey -Key $k; break }
        }
    }
}
