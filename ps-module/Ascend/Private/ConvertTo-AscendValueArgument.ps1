function ConvertTo-AscendValueArgument {
    <#
    .SYNOPSIS
    --value NAME=VALUE arguments from a hashtable of element values.
    .DESCRIPTION
    A scalar is passed as it is ($true/$false as true/false). An array is a list: every item
    becomes its own --value NAME=ITEM, with "\" and "," escaped as the CLI's list syntax wants;
    an item that is a hashtable or object with Name and Value is an explicit-value list item
    (name=value).
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param([System.Collections.IDictionary] $Value)
    $out = New-Object System.Collections.Generic.List[string]
    if ($null -eq $Value) { return , @() }
    foreach ($name in $Value.Keys) {
        $v = $Value[$name]
        if ($v -is [System.Collections.IEnumerable] -and $v -isnot [string] -and $v -isnot [System.Collections.IDictionary]) {
            foreach ($item in $v) {
                $text = ConvertTo-AscendValueText -Item $item
                $out.Add('--value')
                $out.Add("$name=" + ($text.Replace('\', '\\').Replace(',', '\,')))
            }
        } else {
            $out.Add('--value')
            $out.Add("$name=" + (ConvertTo-AscendValueText -Item $v))
        }
    }
    return , $out.ToArray()
}

function ConvertTo-AscendValueText {
    [CmdletBinding()]
    [OutputType([string])]
    param([AllowNull()] [object] $Item)
    if ($null -eq $Item) { return '' }
    if ($Item -is [bool]) { if ($Item) { return 'true' } else { return 'false' } }
    if ($Item -is [System.Collections.IDictionary]) { return ([string]$Item['Name'] + '=' + [string]$Item['Value']) }
    if ($Item -is [psobject] -and $null -ne $Item.PSObject.Properties['Name'] -and $null -ne $Item.PSObject.Properties['Value'] -and $Item -isnot [string]) {
        return ([string]$Item.Name + '=' + [string]$Item.Value)
    }
    return [string]$Item
}
