function ConvertTo-AscendPasscode {
    <#
    .SYNOPSIS
    An Ascend.Passcode from passcode terms (passcode new/inspect) or an issued-registry line (passcode list).
    #>
    [CmdletBinding()]
    [OutputType('Ascend.Passcode')]
    param(
        [Parameter(Mandatory)] [object] $Terms,
        [string] $Path,
        [string] $KeyId,
        [object] $Verified = $null
    )
    $issued = Get-AscendProperty $Terms 'issuedAt'
    if ($null -eq $issued) {
        $iat = Get-AscendProperty $Terms 'iat'
        if ($null -ne $iat) { $issued = [System.DateTimeOffset]::FromUnixTimeSeconds([long]$iat).UtcDateTime.ToString('yyyy-MM-ddTHH:mm:ssZ') }
    }
    $issuer = Get-AscendProperty $Terms 'issuer'
    if ($null -eq $issuer) { $issuer = Get-AscendProperty $Terms 'iss' }
    if ([string]::IsNullOrEmpty($KeyId)) { $KeyId = Get-AscendProperty $Terms 'kid' }
    if ([string]::IsNullOrEmpty($Path)) { $Path = Get-AscendProperty $Terms 'file' }
    $duration = Get-AscendProperty $Terms 'durationSeconds'
    Add-AscendTypeName -TypeName 'Ascend.Passcode' -Property ([ordered]@{
            Id           = $Terms.id
            Title        = $Terms.title
            Issuer       = $issuer
            IssuedAt     = $issued
            KeyId        = $KeyId
            MaxUses      = Get-AscendProperty $Terms 'maxUses'
            Duration     = [System.TimeSpan]::FromSeconds([double]$duration)
            EndProcesses = [bool](Get-AscendProperty $Terms 'endProcesses')
            Computer     = @(Get-AscendProperty $Terms 'computers')
            User         = @(Get-AscendProperty $Terms 'users')
            Group        = @(Get-AscendProperty $Terms 'groups')
            Privilege    = @(Get-AscendProperty $Terms 'privileges')
            Integrity    = Get-AscendProperty $Terms 'integrity'
            NotBefore    = ConvertFrom-AscendTime (Get-AscendProperty $Terms 'notBefore')
            NotAfter     = ConvertFrom-AscendTime (Get-AscendProperty $Terms 'notAfter')
            Path         = $Path
            Verified     = $Verified
        })
}

function ConvertFrom-AscendTime {
    <#
    .SYNOPSIS
    A UTC DateTime from Unix seconds (passcode terms) or an ISO 8601 text; $null stays $null.
    #>
    [CmdletBinding()]
    param([AllowNull()] [object] $Value)
    if ($null -eq $Value) { return $null }
    if ($Value -is [int] -or $Value -is [long] -or $Value -is [double]) {
        return [System.DateTimeOffset]::FromUnixTimeSeconds([long]$Value).UtcDateTime
    }
    if ($Value -is [datetime]) { return $Value.ToUniversalTime() }
    return [System.DateTimeOffset]::Parse([string]$Value, [System.Globalization.CultureInfo]::InvariantCulture).UtcDateTime
}
