function ConvertTo-AscendGpo {
    [CmdletBinding()]
    [OutputType('Ascend.Gpo')]
    param([Parameter(Mandatory)] [object] $Gpo)
    Add-AscendTypeName -TypeName 'Ascend.Gpo' -Property ([ordered]@{
            DisplayName          = $Gpo.displayName
            Guid                 = $Gpo.guid
            MachineVersion       = Get-AscendProperty $Gpo 'machineVersion'
            UserVersion          = Get-AscendProperty $Gpo 'userVersion'
            Version              = Get-AscendProperty $Gpo 'version'
            FunctionalityVersion = Get-AscendProperty $Gpo 'functionalityVersion'
            DistinguishedName    = Get-AscendProperty $Gpo 'dn'
            FileSysPath          = Get-AscendProperty $Gpo 'fileSysPath'
        })
}
