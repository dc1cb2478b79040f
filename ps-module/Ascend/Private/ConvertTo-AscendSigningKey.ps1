function ConvertTo-AscendSigningKey {
    [CmdletBinding()]
    [OutputType('Ascend.SigningKey')]
    param([Parameter(Mandatory)] [object] $Key)
    Add-AscendTypeName -TypeName 'Ascend.SigningKey' -Property ([ordered]@{
            KeyId     = $Key.kid
            Name      = Get-AscendProperty $Key 'label'
            Created   = Get-AscendProperty $Key 'created'
            Storage   = Get-AscendProperty $Key 'storage'
            KeyFile   = Get-AscendProperty $Key 'keyFile'
            PublicKey = $Key.publicKey
        })
}
