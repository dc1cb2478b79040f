function Get-AscendServerArgument {
    <#
    .SYNOPSIS
    --server URL --token-file FILE of the connection Connect-AscendServer made; writes ASC_NOT_CONNECTED through the caller when there is none.
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param([Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Caller)
    if ($null -eq $script:AscendConnection) {
        $Caller.WriteError((New-AscendErrorRecord -Code 'ASC_NOT_CONNECTED' -Message 'not connected to a collector' -Hint 'run Connect-AscendServer -Server URL first'))
        return
    }
    return @('--server', $script:AscendConnection.Server, '--token-file', $script:AscendConnection.TokenFile)
}

function Get-AscendTargetArgument {
    <#
    .SYNOPSIS
    --gpo NAME or --policy FILE, from the parameters -Gpo and -Path of the caller.
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param([string] $Gpo, [string] $Path, [string] $PathFlag = '--policy')
    if (-not [string]::IsNullOrEmpty($Gpo)) { return @('--gpo', $Gpo) }
    return @($PathFlag, (Resolve-AscendPath -Path $Path))
}

function Resolve-AscendPath {
    <#
    .SYNOPSIS
    A provider path made absolute against the current FileSystem location (the file need not exist).
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)] [string] $Path)
    return $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
}
