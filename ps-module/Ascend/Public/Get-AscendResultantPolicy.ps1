function Get-AscendResultantPolicy {
    <#
    .SYNOPSIS
    Gets the resultant set of policy of a computer, a user, or every computer under an OU.
    .DESCRIPTION
    Like gpresult: the GPOs that apply in precedence order, the GPOs that do not with the
    reason, and every Ascend setting with the GPO that won, through "ascend rsop". With
    -SearchBase, one object per computer account under the OU (resolved from a few paged
    reads, not one query per computer).
    .PARAMETER Computer
    The computer account name (with or without the trailing $).
    .PARAMETER User
    The user's sAMAccountName (the domain is read as the account of ASCEND_LDAP_USER).
    .PARAMETER SearchBase
    The distinguished name of an OU: every computer under it.
    .EXAMPLE
    Get-AscendResultantPolicy -Computer PC-042 | Select-Object -ExpandProperty Settings | Where-Object State -ne NotConfigured
    The Ascend settings that apply to PC-042 and the GPO each comes from.
    .EXAMPLE
    Get-AscendResultantPolicy -SearchBase 'OU=Workstations,DC=corp,DC=example,DC=com' | Where-Object { $_.NotApplied.Count -gt 0 }
    The computers of an OU where some linked GPO does not apply.
    .OUTPUTS
    Ascend.ResultantPolicy
    #>
    [CmdletBinding(DefaultParameterSetName = 'Computer')]
    [OutputType('Ascend.ResultantPolicy')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Computer', Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $Computer,
        [Parameter(Mandatory, ParameterSetName = 'User')]
        [ValidateNotNullOrEmpty()]
        [string] $User,
        [Parameter(Mandatory, ParameterSetName = 'SearchBase')]
        [ValidateNotNullOrEmpty()]
        [string] $SearchBase
    )
    process {
        switch ($PSCmdlet.ParameterSetName) {
            'Computer' { $cliArgs = @('rsop', '--computer', $Computer); $target = $Computer }
            'User' { $cliArgs = @('rsop', '--user', $User); $target = $User }
            default { $cliArgs = @('rsop', '--computers-in', $SearchBase); $target = $SearchBase }
        }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $target
        if ($null -eq $r) { return }
        $results = @($r)
        if ($null -ne $r.PSObject.Properties['results']) { $results = @($r.results) }
        foreach ($one in $results) {
            $settings = foreach ($s in @($one.settings)) {
                $source = $null
                if ($null -ne $s.source) { $source = $s.source.displayName }
                Add-AscendTypeName -TypeName 'Ascend.ResultantSetting' -Property ([ordered]@{
                        Account = $one.account.name
                        Policy  = $s.id
                        State   = ConvertTo-AscendState $s.state
                        Values  = $s.values
                        Gpo     = $source
                    })
            }
            Add-AscendTypeName -TypeName 'Ascend.ResultantPolicy' -Property ([ordered]@{
                    Account           = $one.account.name
                    Kind              = $one.account.kind
                    DistinguishedName = $one.account.dn
                    Sid               = $one.account.sid
                    Applied           = @($one.applied | ForEach-Object { $_ | Select-Object @{ n = 'DisplayName'; e = { $_.displayName } }, @{ n = 'Guid'; e = { $_.guid } }, @{ n = 'Target'; e = { $_.linkedTo } }, @{ n = 'Enforced'; e = { $_.enforced } }, @{ n = 'Precedence'; e = { $_.precedence } } })
                    NotApplied        = @($one.notApplied | ForEach-Object { $_ | Select-Object @{ n = 'DisplayName'; e = { $_.displayName } }, @{ n = 'Guid'; e = { $_.guid } }, @{ n = 'Target'; e = { $_.linkedTo } }, @{ n = 'Reason'; e = { $_.reason } } })
                    Settings          = @($settings)
                    Notes             = @(Get-AscendProperty $one 'notes')
                })
        }
    }
}
