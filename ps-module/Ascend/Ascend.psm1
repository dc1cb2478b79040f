# The Ascend PowerShell module: every function drives the ascend command line (its --json
# output) or the collector's API; there is no format, rule or crypto code here.
# Windows PowerShell 5.1-compatible syntax throughout (tests/QA checks it).

$script:AscendModuleRoot = $PSScriptRoot
$script:AscendConnection = $null
$script:AscendCompletionCache = @{}

foreach ($folder in @('Private', 'Public')) {
    $files = @(Get-ChildItem -Path ([System.IO.Path]::Combine($PSScriptRoot, $folder)) -Filter '*.ps1' -File -ErrorAction SilentlyContinue)
    foreach ($file in $files) { . $file.FullName }
}

# ---- argument completers: policy ids, GPO names, report names

function Get-AscendCompletionList {
    <# The completion words of one kind, cached for a minute (a completer must not stall the prompt). #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param([Parameter(Mandatory)] [ValidateSet('Policy', 'Gpo')] [string] $Kind)
    $cached = $script:AscendCompletionCache[$Kind]
    if ($null -ne $cached -and $cached.At -gt [datetime]::UtcNow.AddMinutes(-1)) { return $cached.Words }
    $words = @()
    try {
        if ($Kind -eq 'Policy') { $words = @(Get-AscendPolicyDefinition -ErrorAction Stop | ForEach-Object { $_.Id }) }
        else { $words = @(Get-AscendGpo -ErrorAction Stop | ForEach-Object { $_.DisplayName }) }
    } catch {
        $words = @()
    }
    $script:AscendCompletionCache[$Kind] = @{ At = [datetime]::UtcNow; Words = $words }
    return $words
}

$completeFrom = {
    param($Kind, $WordToComplete)
    $prefix = ([string]$WordToComplete).Trim("'", '"')
    foreach ($word in (Get-AscendCompletionList -Kind $Kind)) {
        if ($word -like "$prefix*") {
            $text = $word
            if ($word -match '[\s''"]') { $text = "'" + $word.Replace("'", "''") + "'" }
            New-Object System.Management.Automation.CompletionResult -ArgumentList $text, $word, 'ParameterValue', $word
        }
    }
}
$policyCompleter = { param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters) & $completeFrom 'Policy' $wordToComplete }.GetNewClosure()
$gpoCompleter = { param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters) & $completeFrom 'Gpo' $wordToComplete }.GetNewClosure()
$reportCompleter = {
    param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters)
    foreach ($name in @('TseUsage', 'Elevations', 'Denied', 'Approvals', 'Discovery', 'DiscoveryPrograms', 'DiscoveryUsers', 'DiscoveryComputers')) {
        if ($name -like "$wordToComplete*") { New-Object System.Management.Automation.CompletionResult -ArgumentList $name, $name, 'ParameterValue', $name }
    }
}
Register-ArgumentCompleter -CommandName 'Get-AscendPolicyDefinition' -ParameterName 'Id' -ScriptBlock $policyCompleter
Register-ArgumentCompleter -CommandName @('Get-AscendGpoSetting', 'Set-AscendGpoSetting') -ParameterName 'Policy' -ScriptBlock $policyCompleter
Register-ArgumentCompleter -CommandName @('Get-AscendGpo', 'Remove-AscendGpo') -ParameterName 'Name' -ScriptBlock $gpoCompleter
Register-ArgumentCompleter -CommandName @(
    'Get-AscendGpoSetting', 'Set-AscendGpoSetting', 'New-AscendGpoLink', 'Set-AscendGpoLink', 'Remove-AscendGpoLink',
    'Publish-AscendSigningKey', 'Unpublish-AscendSigningKey', 'Test-AscendPasscode', 'Revoke-AscendPasscode',
    'Get-AscendElevationRule', 'Add-AscendElevationRule', 'Remove-AscendElevationRule', 'Test-AscendElevation'
) -ParameterName 'Gpo' -ScriptBlock $gpoCompleter
Register-ArgumentCompleter -CommandName 'Get-AscendReport' -ParameterName 'Name' -ScriptBlock $reportCompleter

# A token file the module wrote (Connect-AscendServer -Token/-Credential) goes with the module.
$ExecutionContext.SessionState.Module.OnRemove = {
    if ($null -ne $script:AscendConnection) { Remove-AscendSecretFile -Path $script:AscendConnection.OwnedFile -WhatIf:$false -Confirm:$false }
}

$public = @(Get-ChildItem -Path ([System.IO.Path]::Combine($PSScriptRoot, 'Public')) -Filter '*.ps1' -File | ForEach-Object { $_.BaseName })
Export-ModuleMember -Function $public
