function Resolve-AscendCli {
    <#
    .SYNOPSIS
    Finds the ascend command line: $env:ASCEND_CLI, then ascend on PATH, then the package the module ships with.
    .OUTPUTS
    A hashtable: File (the program to start), Prefix (arguments before the command's own), Source;
    or, when none is found, only Error (the message naming what was tried). It raises no error
    itself, so nothing lands in the caller's -ErrorVariable but the one ASC_CLI_NOT_FOUND.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param()

    $tried = New-Object System.Collections.Generic.List[string]
    if (-not [string]::IsNullOrEmpty($env:ASCEND_CLI)) {
        $candidate = $env:ASCEND_CLI
        if (-not [System.IO.File]::Exists($candidate)) {
            return @{ Error = "ASCEND_CLI names '$candidate', which does not exist" }
        }
        return (New-AscendCliSpec -Path $candidate -Source 'ASCEND_CLI')
    }
    $tried.Add('$env:ASCEND_CLI (not set)')

    $onPath = Get-Command -Name 'ascend' -CommandType Application -ErrorAction Ignore | Select-Object -First 1
    if ($null -ne $onPath) {
        return (New-AscendCliSpec -Path $onPath.Source -Source 'PATH')
    }
    $tried.Add('ascend on PATH (none)')

    # The package the module ships with: ps-module/Ascend/../../bin/run.js in a checkout or an npm install.
    $shipped = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($script:AscendModuleRoot, '..', '..', 'bin', 'run.js'))
    if ([System.IO.File]::Exists($shipped)) {
        return (New-AscendCliSpec -Path $shipped -Source 'package')
    }
    $tried.Add("the package next to the module ($shipped, missing)")
    return @{ Error = 'the ascend command line was not found; looked at ' + ($tried -join ', ') + '. Set ASCEND_CLI to the ascend program or to bin/run.js' }
}

function New-AscendCliSpec {
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $Source
    )
    if ($Path -match '\.(js|mjs|cjs)$') {
        $node = Get-Command -Name 'node' -CommandType Application -ErrorAction Ignore | Select-Object -First 1
        if ($null -eq $node) {
            return @{ Error = "the ascend command line is $Path (from $Source), but node is not on PATH" }
        }
        return @{ File = $node.Source; Prefix = @($Path); Source = $Source }
    }
    return @{ File = $Path; Prefix = @(); Source = $Source }
}
