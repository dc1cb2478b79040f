# Shared by the integration suites: the module from source, the test DC and collector the
# mocha side (test/ps-module/pester.test.ts) started and named through ASCEND_TEST_* variables.

$script:TestModuleRoot = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../Ascend'))
Import-Module (Join-Path $script:TestModuleRoot 'Ascend.psd1') -Force

function Test-DomainAvailable {
    return -not [string]::IsNullOrEmpty($env:ASCEND_LDAP_URL) -and -not [string]::IsNullOrEmpty($env:ASCEND_TEST_DC_SYSVOL_PATH)
}

function Test-CollectorAvailable {
    return -not [string]::IsNullOrEmpty($env:ASCEND_TEST_COLLECTOR_URL)
}

function New-TestFolder([string] $Name) {
    $base = $env:ASCEND_TEST_TMP
    if ([string]::IsNullOrEmpty($base)) { $base = [System.IO.Path]::GetTempPath() }
    $dir = Join-Path $base ("pester-$Name-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $dir | Out-Null
    return $dir
}

function Get-TestTag { if ($env:ASCEND_TEST_TAG) { return $env:ASCEND_TEST_TAG } return [guid]::NewGuid().ToString('N').Substring(0, 6) }

# The GPO's Machine\Registry.pol in the DC's own SYSVOL folder.
function Get-GpoPolPath([string] $Guid) {
    return [System.IO.Path]::Combine($env:ASCEND_TEST_DC_SYSVOL_PATH, $env:ASCEND_TEST_DC_DNS_DOMAIN, 'Policies', $Guid, 'Machine', 'Registry.pol')
}

# The SHA-256 of a file, or 'absent'.
function Get-FileDigest([string] $Path) {
    if (-not (Test-Path -LiteralPath $Path)) { return 'absent' }
    return (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash
}
