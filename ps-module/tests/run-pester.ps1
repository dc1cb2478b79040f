<#
.SYNOPSIS
Runs the Pester suites of ps-module/tests and writes their results as JSON.
.DESCRIPTION
Called by test/ps-module/pester.test.ts (which starts the collector and names the DC through
environment variables) and by build.ps1 Test. Writes {"result","passed","failed","skipped",
"notRun","tests":[{"path","result","error"}],"containerErrors"} to $env:ASCEND_PESTER_RESULT
when set. Exits 0 when every test passed.
#>
[CmdletBinding()]
param(
    [string[]] $Path = @($PSScriptRoot)
)
$ErrorActionPreference = 'Stop'
$pester = $env:ASCEND_PESTER_MODULE
if ([string]::IsNullOrEmpty($pester)) { $pester = 'Pester' }
Import-Module -Name $pester -MinimumVersion 5.7.1 -ErrorAction Stop

$config = New-PesterConfiguration
$config.Run.Path = $Path
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Normal'
$result = Invoke-Pester -Configuration $config

$tests = @($result.Tests | ForEach-Object {
        $message = $null
        if ($_.ErrorRecord.Count -gt 0) { $message = (@($_.ErrorRecord | ForEach-Object { $_.ToString() }) -join "`n") }
        elseif ($null -ne $_.Block -and $_.Block.ErrorRecord.Count -gt 0) { $message = 'in the block''s setup: ' + (@($_.Block.ErrorRecord | ForEach-Object { $_.ToString() }) -join "`n") }
        [ordered]@{ path = ($_.ExpandedPath); result = [string]$_.Result; error = $message }
    })
$containerErrors = @($result.Containers | Where-Object { $_.Result -eq 'Failed' -and $_.ErrorRecord.Count -gt 0 } | ForEach-Object {
        "$($_.Item): " + (@($_.ErrorRecord | ForEach-Object { $_.ToString() }) -join '; ')
    })
# Failures in BeforeAll/AfterAll blocks mark their tests failed; say why in each.
$summary = [ordered]@{
    result          = [string]$result.Result
    passed          = [int]$result.PassedCount
    failed          = [int]$result.FailedCount
    skipped         = [int]$result.SkippedCount
    notRun          = [int]$result.NotRunCount
    tests           = $tests
    containerErrors = $containerErrors
}
if (-not [string]::IsNullOrEmpty($env:ASCEND_PESTER_RESULT)) {
    [System.IO.File]::WriteAllText($env:ASCEND_PESTER_RESULT, (ConvertTo-Json -InputObject $summary -Depth 6))
}
if ($result.FailedCount -gt 0 -or $containerErrors.Count -gt 0) { exit 1 }
exit 0
