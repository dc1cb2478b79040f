function ConvertTo-AscendTrustedKeys {
    [CmdletBinding()]
    [OutputType('Ascend.TrustedKeys')]
    param([Parameter(Mandatory)] [object] $Answer)
    Add-AscendTypeName -TypeName 'Ascend.TrustedKeys' -Property ([ordered]@{
            Target         = $Answer.target
            TrustedKeys    = @($Answer.trustedKeys)
            Changed        = [bool]$Answer.changed
            StateBefore    = ConvertTo-AscendState (Get-AscendProperty $Answer 'stateBefore')
            EnabledPolicy  = [bool](Get-AscendProperty $Answer 'enabledPolicy')
        })
}
