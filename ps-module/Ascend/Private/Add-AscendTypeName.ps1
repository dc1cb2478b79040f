function Add-AscendTypeName {
    <#
    .SYNOPSIS
    Builds a typed output object (Ascend.*) from a hashtable of properties, in order.
    #>
    [CmdletBinding()]
    [OutputType([psobject])]
    param(
        [Parameter(Mandatory)] [string] $TypeName,
        [Parameter(Mandatory)] [System.Collections.Specialized.OrderedDictionary] $Property
    )
    $object = New-Object -TypeName psobject -Property $Property
    $object.PSObject.TypeNames.Insert(0, $TypeName)
    return $object
}

function Get-AscendProperty {
    <#
    .SYNOPSIS
    A property of a parsed JSON object, or $null when it has none (safe under strict mode).
    #>
    [CmdletBinding()]
    param([object] $InputObject, [Parameter(Mandatory)] [string] $Name)
    if ($null -eq $InputObject) { return $null }
    $p = $InputObject.PSObject.Properties[$Name]
    if ($null -eq $p) { return $null }
    return $p.Value
}

function ConvertTo-AscendState {
    [CmdletBinding()]
    [OutputType([string])]
    param([string] $CliState)
    switch ($CliState) {
        'enabled' { return 'Enabled' }
        'disabled' { return 'Disabled' }
        default { return 'NotConfigured' }
    }
}
