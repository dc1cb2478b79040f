#Requires -Version 5.1
<#
.SYNOPSIS
    Registers the Ascend agent as the Windows service "AscendAgent" from this unpacked folder.
.DESCRIPTION
    Copies nothing: the service runs node\node.exe on app\bin\run.js in the folder this script is
    in, which should therefore be one only administrators can write (for example under
    C:\Program Files\Ascend). The service runs as LocalSystem, starts automatically, and reads its
    policy from the registry as Windows applied it (agent run --windows-registry), with its state in
    $env:ProgramData\Ascend. NOT RUN ON WINDOWS YET: built and parsed on Linux only; node.exe does
    not answer the service control manager itself, and the agent's Windows side (named-pipe caller
    identity) is not built, so see README.txt before relying on it.
.PARAMETER Collector
    The collector's URL (https://collector.corp.example:8003); default: the policy's.
.PARAMETER EnrollTokenFile
    A file holding the enrollment token for the first start (readable by administrators only).
.PARAMETER StartupType
    Automatic (default), Manual or Disabled.
.EXAMPLE
    .\Install-AscendAgent.ps1 -Collector https://collector.corp.example:8003 -EnrollTokenFile C:\secure\enroll.token -WhatIf
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
param(
    [ValidatePattern('^https://[^\s"]+$')]
    [string] $Collector,
    [ValidateScript({ Test-Path -LiteralPath $_ -PathType Leaf })]
    [string] $EnrollTokenFile,
    [ValidateSet('Automatic', 'Manual', 'Disabled')]
    [string] $StartupType = 'Automatic'
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$serviceName = 'AscendAgent'
$root = $PSScriptRoot
$node = Join-Path $root 'node\node.exe'
$run = Join-Path $root 'app\bin\run.js'
foreach ($file in @($node, $run)) {
    if (-not (Test-Path -LiteralPath $file -PathType Leaf)) { throw "Install-AscendAgent: $file is missing; unpack the whole zip first" }
}
if ($root -match '"') { throw "Install-AscendAgent: the folder $root has a quote in its name" }
$stateDir = Join-Path $env:ProgramData 'Ascend'

$arguments = @('agent', 'run', '--windows-registry', '--state-dir', "`"$stateDir`"")
if ($Collector) { $arguments += @('--collector', $Collector) }
if ($EnrollTokenFile) { $arguments += @('--enroll-token-file', "`"$((Resolve-Path -LiteralPath $EnrollTokenFile).Path)`"") }
$binaryPath = "`"$node`" `"$run`" " + ($arguments -join ' ')

if (Get-Service -Name $serviceName -ErrorAction SilentlyContinue) {
    throw "Install-AscendAgent: the service $serviceName exists already; run Uninstall-AscendAgent.ps1 first"
}
if ($PSCmdlet.ShouldProcess($serviceName, "Register the service running $binaryPath")) {
    New-Item -ItemType Directory -Force -Path $stateDir | Out-Null
    New-Service -Name $serviceName -BinaryPathName $binaryPath -DisplayName 'Ascend privilege manager agent' `
        -Description 'Elevates programs by the rules of Group Policy (Ascend).' -StartupType $StartupType | Out-Null
    # Restart after a failure, like Restart=on-failure of the Linux unit.
    & sc.exe failure $serviceName reset= 86400 actions= restart/5000/restart/5000/restart/60000 | Out-Null
    if ($LASTEXITCODE -ne 0) { Write-Warning "sc.exe failure $serviceName exited $($LASTEXITCODE): the service does not restart by itself" }
    Write-Output "Registered the service $serviceName. Start it with: Start-Service $serviceName"
}
