<#
.SYNOPSIS
The PowerShell build entry of Ascend (the same steps as the npm scripts).
.DESCRIPTION
Tasks, run in the order given:
  Install  npm ci, then PowerShell 7.6.10 and Pester 5.7.1 into .tools/ (scripts/install-pwsh.sh;
           on Windows the same dotnet commands run from here)
  Build    npm run build: native addons, tsc, the oclif manifest, the ADMX drift check
  Test     npm test: mocha, which runs the module's Pester suites through pwsh and counts them
  Package  the module ps-module/Ascend with the version of package.json, staged under
           dist/ps-module/Ascend and published to a local PSResourceGet repository folder
           (default dist/ps-repo), from which Install-PSResource installs it
Works with pwsh on Linux; written so that it works on Windows.
.PARAMETER Task
The tasks to run (default: Build, Test).
.PARAMETER RepositoryPath
The local repository folder Package publishes to (default dist/ps-repo).
.PARAMETER RepositoryName
The name the repository is registered under while publishing (default AscendLocal).
.EXAMPLE
./build.ps1 -Task Install, Build, Test
.EXAMPLE
./build.ps1 -Task Package; Install-PSResource -Name Ascend -Repository AscendLocal -TrustRepository
#>
[CmdletBinding()]
param(
    [ValidateSet('Install', 'Build', 'Test', 'Package')]
    [string[]] $Task = @('Build', 'Test'),
    [string] $RepositoryPath,
    [string] $RepositoryName = 'AscendLocal'
)
$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot
$onWindows = [System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT
if ([string]::IsNullOrEmpty($RepositoryPath)) { $RepositoryPath = Join-Path $root 'dist/ps-repo' }

function Invoke-Step([string] $File, [string[]] $Arguments) {
    Write-Verbose "$File $($Arguments -join ' ')"
    Push-Location $root
    try {
        & $File @Arguments
        if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') exited $LASTEXITCODE" }
    } finally {
        Pop-Location
    }
}

function Install-PowerShellTools {
    if (-not $onWindows) {
        Invoke-Step 'bash' @('scripts/install-pwsh.sh')
        return
    }
    # The same two steps as scripts/install-pwsh.sh.
    $tools = Join-Path $root '.tools'
    $pwsh = Join-Path $tools 'pwsh/pwsh.exe'
    if (-not (Test-Path $pwsh)) {
        Invoke-Step 'dotnet' @('tool', 'install', '--tool-path', (Join-Path $tools 'pwsh'), 'PowerShell', '--version', '7.6.10')
    }
    $pester = Join-Path $tools 'nuget/pester/5.7.1/tools/Pester.psd1'
    if (-not (Test-Path $pester)) {
        $proj = Join-Path $tools 'pester-restore'
        New-Item -ItemType Directory -Force -Path $proj | Out-Null
        $tfm = 'net' + ((& dotnet --version) -split '\.')[0] + '.0'
        Set-Content -Path (Join-Path $proj 'restore.csproj') -Value @"
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>$tfm</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[5.7.1]" /></ItemGroup>
</Project>
"@
        $env:NUGET_PACKAGES = Join-Path $tools 'nuget'
        Invoke-Step 'dotnet' @('restore', (Join-Path $proj 'restore.csproj'))
    }
}

function New-ModulePackage {
    $package = Get-Content -Raw (Join-Path $root 'package.json') | ConvertFrom-Json
    $version = [string]$package.version
    $stage = Join-Path $root 'dist/ps-module/Ascend'
    if (Test-Path $stage) { Remove-Item -Recurse -Force $stage }
    New-Item -ItemType Directory -Force -Path (Split-Path $stage) | Out-Null
    Copy-Item -Recurse -Path (Join-Path $root 'ps-module/Ascend') -Destination $stage
    $manifestPath = Join-Path $stage 'Ascend.psd1'
    $text = [System.IO.File]::ReadAllText($manifestPath)
    $text = [regex]::Replace($text, "ModuleVersion\s*=\s*'[^']*'", "ModuleVersion        = '$version'")
    [System.IO.File]::WriteAllText($manifestPath, $text)
    Test-ModuleManifest -Path $manifestPath | Out-Null

    New-Item -ItemType Directory -Force -Path $RepositoryPath | Out-Null
    # PSResourceGet keeps its repository list under LocalApplicationData and NuGet its settings under
    # ApplicationData; when those folders do not exist yet (~/.local/share, ~/.config on a fresh Linux
    # account) .NET answers "" and the files would land in the current folder. Create them first.
    foreach ($folder in @([System.Environment+SpecialFolder]::LocalApplicationData, [System.Environment+SpecialFolder]::ApplicationData)) {
        $null = [System.Environment]::GetFolderPath($folder, [System.Environment+SpecialFolderOption]::Create)
    }
    $existing = Get-PSResourceRepository -Name $RepositoryName -ErrorAction SilentlyContinue
    if ($null -eq $existing) {
        Register-PSResourceRepository -Name $RepositoryName -Uri $RepositoryPath -Trusted
    } elseif ($existing.Uri.LocalPath.TrimEnd('\', '/') -ne ([System.IO.Path]::GetFullPath($RepositoryPath)).TrimEnd('\', '/')) {
        throw "a repository named $RepositoryName is registered for $($existing.Uri); pass -RepositoryName"
    }
    $nupkg = Join-Path $RepositoryPath "Ascend.$version.nupkg"
    if (Test-Path $nupkg) { Remove-Item -Force $nupkg }
    Publish-PSResource -Path $stage -Repository $RepositoryName
    Write-Output ([pscustomobject]@{ Module = 'Ascend'; Version = $version; Package = $nupkg; Repository = $RepositoryName; RepositoryPath = $RepositoryPath })
}

foreach ($t in $Task) {
    switch ($t) {
        'Install' { Invoke-Step 'npm' @('ci', '--no-audit', '--no-fund'); Install-PowerShellTools }
        'Build' { Invoke-Step 'npm' @('run', 'build') }
        'Test' { Invoke-Step 'npm' @('test') }
        'Package' { New-ModulePackage }
    }
}
