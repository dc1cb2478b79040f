<#
.SYNOPSIS
The end-to-end scenario, run in a fresh pwsh (Scenario.Tests.ps1
starts it): package the module with build.ps1 and install it, with HOME in a temporary folder, from the local repository with
Install-PSResource, import it by name, and go through the Passcode Manager workflow against the
real DC. Prints one JSON line with what it saw.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $RepositoryPath,
    [Parameter(Mandatory)] [string] $Work,
    [Parameter(Mandatory)] [string] $GpoName,
    [Parameter(Mandatory)] [string] $IsolatedHome
)
$ErrorActionPreference = 'Stop'
$repoRoot = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../..'))
$seen = [ordered]@{}

# Packaging and installing run with HOME (and the XDG folders) in the isolated folder: that is
# where PSResourceGet keeps its repository list and Install-PSResource -Scope CurrentUser installs.
$saved = @{ HOME = $env:HOME; XDG_DATA_HOME = $env:XDG_DATA_HOME; XDG_CONFIG_HOME = $env:XDG_CONFIG_HOME }
try {
    $env:HOME = $IsolatedHome
    $env:XDG_DATA_HOME = Join-Path $IsolatedHome '.local/share'
    $env:XDG_CONFIG_HOME = Join-Path $IsolatedHome '.config'
    $package = & (Join-Path $repoRoot 'build.ps1') -Task Package -RepositoryPath $RepositoryPath -RepositoryName 'AscendE2E'
    $seen.packageVersion = $package.Version
    Install-PSResource -Name Ascend -Repository AscendE2E -TrustRepository -Scope CurrentUser -Quiet
    $installed = Get-InstalledPSResource -Name Ascend -Scope CurrentUser
} finally {
    foreach ($k in $saved.Keys) { Set-Item -Path "env:$k" -Value $saved[$k] }
}
# The folder Install-PSResource installed into, first on the module path; then import by name.
$env:PSModulePath = $installed.InstalledLocation + [System.IO.Path]::PathSeparator + $env:PSModulePath
Import-Module Ascend
$module = Get-Module Ascend
$seen.moduleBase = $module.ModuleBase
$seen.moduleVersion = $module.Version.ToString()

Set-Location $Work
$gpo = New-AscendGpo -Name $GpoName -Force
try {
    $key = New-AscendSigningKey -Name 'e2e' -KeyFile (Join-Path $Work 'e2e.pem') -Force
    $published = Publish-AscendSigningKey -Gpo $GpoName -KeyId $key.KeyId -Force
    $seen.tseStateAfterPublish = (Get-AscendGpoSetting -Gpo $GpoName -Policy TemporarySessionElevation).State
    $seen.trustedKeys = @($published.TrustedKeys)
    Set-AscendGpoSetting -Gpo $GpoName -Policy OfflinePasscodes -State Enabled -Force | Out-Null
    $passcode = New-AscendPasscode -Title 'E2E printer driver' -MaxUses 1 -Duration '00:30:00' -EndProcesses -Computer 'PC-0*' -User 'CORP\bob' -OutFile (Join-Path $Work 'bob.ascpass') -Force
    $seen.passcodeId = $passcode.Id
    $first = $passcode | Test-AscendPasscode -Computer PC-042 -User 'CORP\bob' -Gpo $GpoName
    $seen.firstOk = $first.Ok
    $seen.firstIntegrity = $first.Session.integrity
    $revoked = $passcode | Revoke-AscendPasscode -Gpo $GpoName -Note 'e2e' -Force
    $seen.revokedChanged = $revoked.Changed
    $second = $passcode | Test-AscendPasscode -Computer PC-042 -User 'CORP\bob' -Gpo $GpoName
    $seen.secondOk = $second.Ok
    $seen.secondReason = $second.Reason
} finally {
    Remove-AscendGpo -Name $GpoName -Force
}
$seen.gpoRemoved = ($null -eq (Get-AscendGpo -Name $GpoName -ErrorAction SilentlyContinue))
ConvertTo-Json -InputObject $seen -Compress
