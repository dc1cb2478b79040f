function ConvertTo-AscendApprovalRequest {
    [CmdletBinding()]
    [OutputType('Ascend.ApprovalRequest')]
    param([Parameter(Mandatory)] [object] $Request)
    $status = [string](Get-AscendProperty $Request 'status')
    if ($status.Length -gt 0) { $status = $status.Substring(0, 1).ToUpperInvariant() + $status.Substring(1) }
    $limit = Get-AscendProperty $Request 'timeLimitSeconds'
    if ($null -ne $limit) { $limit = [System.TimeSpan]::FromSeconds([double]$limit) }
    Add-AscendTypeName -TypeName 'Ascend.ApprovalRequest' -Property ([ordered]@{
            Id            = $Request.id
            Status        = $status
            Computer      = Get-AscendProperty $Request 'computer'
            User          = Get-AscendProperty $Request 'user'
            ProcessPath   = Get-AscendProperty $Request 'processPath'
            Arguments     = Get-AscendProperty $Request 'args'
            Justification = Get-AscendProperty $Request 'justification'
            CreatedAt     = ConvertFrom-AscendTime (Get-AscendProperty $Request 'createdAt')
            ExpiresAt     = ConvertFrom-AscendTime (Get-AscendProperty $Request 'expiresAt')
            DecidedAt     = ConvertFrom-AscendTime (Get-AscendProperty $Request 'decidedAt')
            DecidedBy     = Get-AscendProperty $Request 'decidedBy'
            TimeLimit     = $limit
            AgentId       = Get-AscendProperty $Request 'agentId'
        })
}

function Get-AscendApprovalAnswer {
    [CmdletBinding()]
    param([object] $Answer)
    $inner = Get-AscendProperty $Answer 'request'
    if ($null -ne $inner) { return $inner }
    return $Answer
}
