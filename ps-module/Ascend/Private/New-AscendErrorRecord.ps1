function New-AscendErrorRecord {
    <#
    .SYNOPSIS
    An ErrorRecord for an Ascend error code: FullyQualifiedErrorId is the code, the category fits it.
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param(
        [Parameter(Mandatory)] [string] $Code,
        [Parameter(Mandatory)] [string] $Message,
        [string] $Hint,
        [object] $Target
    )
    $category = Get-AscendErrorCategory -Code $Code
    $exception = New-Object System.Exception -ArgumentList $Message
    $record = New-Object System.Management.Automation.ErrorRecord -ArgumentList $exception, $Code, $category, $Target
    if (-not [string]::IsNullOrEmpty($Hint)) {
        $record.ErrorDetails = New-Object System.Management.Automation.ErrorDetails -ArgumentList $Message
        $record.ErrorDetails.RecommendedAction = $Hint
    }
    return $record
}

function Get-AscendErrorCategory {
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorCategory])]
    param([Parameter(Mandatory)] [string] $Code)
    $map = @(
        @('NOT_FOUND$|_NO_SUCH_OBJECT$|^ASC_POLICY_UNKNOWN$|^ASC_TSE_NO_SESSION$', 'ObjectNotFound'),
        @('_BAD_CREDENTIALS$|_UNAUTHENTICATED$|^ASC_SYSVOL_AUTH$', 'AuthenticationError'),
        @('_INSUFFICIENT_RIGHTS$|_FORBIDDEN$|^ASC_ELEVATION_DENIED$|^ASC_TSE_REFUSED$|^ASC_ELEVATION_CONTROL_FAILED$', 'PermissionDenied'),
        @('_UNREACHABLE$|_NOT_RUNNING$|^ASC_KEYCHAIN_UNAVAILABLE$|_UNAVAILABLE$|^ASC_NOT_CONNECTED$', 'ResourceUnavailable'),
        @('_ALREADY_EXISTS$|^ASC_FILE_EXISTS$|^ASC_RULE_EXISTS$', 'ResourceExists'),
        @('_CONFLICT$', 'WriteError'),
        @('_RATE_LIMITED$|_TOO_LARGE$', 'LimitsExceeded'),
        @('_INSECURE$|_INSECURE_REFUSED$|_TLS_REQUIRED$|_TLS_FAILED$', 'SecurityError'),
        @('^ASC_POL_|^ASC_ADMX_|^ASC_SD_INVALID$|^ASC_GPO_INVALID$|^ASC_AGENT_REGISTRY_OUTPUT$|_PROTOCOL$', 'InvalidData'),
        @('^ASC_FILE_UNREADABLE$|^ASC_SYSVOL_IO$', 'ReadError'),
        @('^ASC_RULE_POLICY_DISABLED$', 'InvalidOperation'),
        @('_BAD_|_INVALID$|_MALFORMED$|^ASC_USAGE$|^ASC_CONFIG$|_AMBIGUOUS$|_UNKNOWN_ELEMENT$|_BAD_TERMS$|_REFUSED$', 'InvalidArgument')
    )
    foreach ($pair in $map) {
        if ($Code -match $pair[0]) { return [System.Management.Automation.ErrorCategory]$pair[1] }
    }
    return [System.Management.Automation.ErrorCategory]::NotSpecified
}
