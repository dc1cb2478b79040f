# End to end: Import-Module from the built package (build.ps1 Package, Install-PSResource),
# create a GPO, publish a key, enable TSE and offline passcodes, issue a passcode,
# Test-AscendPasscode accepts it, revoke it, Test-AscendPasscode refuses it with reason revoked.
# Runs in a fresh pwsh that packages and installs with HOME in a temporary folder, so nothing lands in
# the user's module folders or PSResourceGet repository list. The commands used inside: New-AscendGpo, New-AscendSigningKey,
# Publish-AscendSigningKey, Set-AscendGpoSetting, New-AscendPasscode, Test-AscendPasscode,
# Revoke-AscendPasscode, Remove-AscendGpo.

BeforeAll {
    . (Join-Path $PSScriptRoot '../TestSupport.ps1')
}

Describe 'The Passcode Manager workflow from the installed package' -Skip:([string]::IsNullOrEmpty($env:ASCEND_TEST_DC_SYSVOL_PATH)) {
    BeforeAll {
        $work = New-TestFolder 'e2e'
        $home2 = Join-Path $work 'home'
        New-Item -ItemType Directory -Path $home2 | Out-Null
        $saved = @{ ASCEND_HOME = $env:ASCEND_HOME; PSModulePath = $env:PSModulePath }
        try {
            $env:ASCEND_HOME = Join-Path $home2 'ascend'
            # Not the source tree's module: only what the child installs, and PowerShell's own.
            $env:PSModulePath = $null
            $pwsh = Join-Path $PSHOME 'pwsh'
            if (-not (Test-Path $pwsh)) { $pwsh = Join-Path $PSHOME 'pwsh.exe' }
            $output = & $pwsh -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'scenario.ps1') -RepositoryPath (Join-Path $work 'repo') -Work $work -GpoName ("PS E2E " + (Get-TestTag)) -IsolatedHome $home2 2>&1
            $exit = $LASTEXITCODE
        } finally {
            foreach ($k in $saved.Keys) { Set-Item -Path "env:$k" -Value $saved[$k] }
        }
        $text = ($output | Out-String)
        $json = @($output | Where-Object { $_ -is [string] -and $_.StartsWith('{') }) | Select-Object -Last 1
        $seen = $null
        if ($null -ne $json) { $seen = $json | ConvertFrom-Json }
    }
    It 'ran to the end' {
        $exit | Should -Be 0 -Because $text
        $seen | Should -Not -BeNullOrEmpty -Because $text
    }
    It 'imported the module installed by Install-PSResource from the built package, with the version of package.json' {
        $version = (Get-Content -Raw (Join-Path $PSScriptRoot '../../../package.json') | ConvertFrom-Json).version
        $seen.packageVersion | Should -Be $version
        $seen.moduleVersion | Should -Be $version
        $seen.moduleBase | Should -BeLike (Join-Path $home2 '*')
    }
    It 'publishing the key enabled TSE and trusted the key' {
        $seen.tseStateAfterPublish | Should -Be 'Enabled'
        @($seen.trustedKeys).Count | Should -Be 1
    }
    It 'Test-AscendPasscode accepted the passcode, then refused it with reason revoked after Revoke-AscendPasscode' {
        $seen.firstOk | Should -BeTrue
        $seen.firstIntegrity | Should -Be 'High'
        $seen.revokedChanged | Should -BeTrue
        $seen.secondOk | Should -BeFalse
        $seen.secondReason | Should -Be 'revoked'
    }
    It 'removed its GPO' {
        $seen.gpoRemoved | Should -BeTrue
    }
}
