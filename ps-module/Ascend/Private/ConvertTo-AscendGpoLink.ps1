function ConvertTo-AscendGpoLink {
    <#
    .SYNOPSIS
    The Ascend.GpoLink objects of one GPO in the "links" answer of ascend gpo link/unlink.
    #>
    [CmdletBinding()]
    [OutputType('Ascend.GpoLink')]
    param(
        [Parameter(Mandatory)] [object] $Answer,
        [Parameter(Mandatory)] [string] $Gpo,
        [System.Management.Automation.PSCmdlet] $Caller
    )
    $guid = $Gpo
    if ($Gpo -notmatch '^\{[0-9A-Fa-f-]{36}\}$') {
        $list = Invoke-AscendCli -Caller $Caller -Arguments @('gpo', 'list')
        if ($null -eq $list) { return }
        $match = @($list.gpos | Where-Object { $_.displayName -eq $Gpo })
        if ($match.Count -ne 1) { return }
        $guid = $match[0].guid
    }
    foreach ($l in @($Answer.links)) {
        if ($l.gpo.guid -ne $guid) { continue }
        Add-AscendTypeName -TypeName 'Ascend.GpoLink' -Property ([ordered]@{
                Gpo      = $Gpo
                Guid     = $l.gpo.guid
                Target   = $l.container
                Order    = $l.linkOrder
                Enforced = [bool]$l.enforced
                Enabled  = [bool]$l.enabled
            })
    }
}
