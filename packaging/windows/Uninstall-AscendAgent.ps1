#Requires -Version 5.1
<#
.SYNOPSIS
    Stops and removes the Windows service "AscendAgent" (NOT RUN ON WINDOWS YET; see README.txt).
.PARAMETER RemoveState
    Also removes the agent's state folder $env:ProgramData\Ascend.
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
param(
    [switch] $RemoveState
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$serviceName = 'AscendAgent'
$service = Get-Service -Name $serviceName -ErrorAction SilentlyContinue
if ($service -and $PSCmdlet.ShouldProcess($serviceName, 'Stop and remove the service')) {
    if ($service.Status -ne 'Stopped') { Stop-Service -Name $serviceName }
    & sc.exe delete $serviceName | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "Uninstall-AscendAgent: sc.exe delete $serviceName exited $LASTEXITCODE" }
}
$stateDir = Join-Path $env:ProgramData 'Ascend'
if ($RemoveState -and (Test-Path -LiteralPath $stateDir) -and $PSCmdlet.ShouldProcess($stateDir, 'Remove the state folder')) {
    Remove-Item -LiteralPath $stateDir -Recurse -Force
}
