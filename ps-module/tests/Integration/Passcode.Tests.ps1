# Signing keys and passcodes: local Registry.pol files, and a GPO on the real DC.

BeforeAll {
    . (Join-Path $PSScriptRoot '../TestSupport.ps1')
    $tag = Get-TestTag
    $work = New-TestFolder 'passcode'
    # Each suite its own Ascend home (key index, issued registry), never the user's.
    $env:ASCEND_HOME = Join-Path $work 'home'
    Push-Location $work
}
AfterAll {
    Pop-Location
}

Describe 'Signing keys and passcodes with local Registry.pol files' {
    BeforeAll {
        $key = New-AscendSigningKey -Name "pester $tag" -KeyFile (Join-Path $work 'a.pem') -Force
        $pol = Join-Path $work 'machine.pol'
    }
    It 'New-AscendSigningKey makes a key file of mode 600 and returns an Ascend.SigningKey without the private key' {
        $key.PSObject.TypeNames[0] | Should -Be 'Ascend.SigningKey'
        $key.KeyId | Should -Match '^asc-[0-9a-f]{16}$'
        $key.Storage | Should -Be 'file'
        $key.PublicKey | Should -Match '^MCowBQYDK2VwAyEA'
        ($key | Out-String) | Should -Not -Match 'PRIVATE KEY'
        if (-not $IsWindows) { [int](Get-Item (Join-Path $work 'a.pem')).UnixFileMode | Should -Be 384 }
    }
    It 'New-AscendSigningKey -WhatIf writes no key' {
        New-AscendSigningKey -Name whatif -KeyFile (Join-Path $work 'w.pem') -WhatIf | Should -BeNullOrEmpty
        Join-Path $work 'w.pem' | Should -Not -Exist
    }
    It 'New-AscendSigningKey refuses to overwrite a key file with ASC_FILE_EXISTS (ResourceExists)' {
        $err = $null
        New-AscendSigningKey -KeyFile (Join-Path $work 'a.pem') -Force -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -Be 'ASC_FILE_EXISTS,New-AscendSigningKey'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
    }
    It 'Get-AscendSigningKey lists the key index' {
        @(Get-AscendSigningKey).KeyId | Should -Contain $key.KeyId
        (Get-AscendSigningKey -KeyId $key.KeyId).Name | Should -Be "pester $tag"
    }
    It 'Publish-AscendSigningKey -WhatIf writes no file; then publishes from the pipeline' {
        $key | Publish-AscendSigningKey -PolicyPath $pol -WhatIf | Should -BeNullOrEmpty
        $pol | Should -Not -Exist
        $r = $key | Publish-AscendSigningKey -PolicyPath $pol -Force
        $r.PSObject.TypeNames[0] | Should -Be 'Ascend.TrustedKeys'
        $r.TrustedKeys | Should -Be @($key.KeyId)
        $r.EnabledPolicy | Should -BeTrue
        (Get-AscendLocalPolicy -Path $pol | Where-Object Policy -eq TemporarySessionElevation).State | Should -Be 'Enabled'
    }
    It 'New-AscendPasscode issues a passcode with every wizard option into a new file of mode 600' {
        $p = New-AscendPasscode -Title 'Night shift' -MaxUses 5 -Duration ([timespan]'02:00:00') -EndProcesses -Computer 'PC-0*' -User 'CORP\bob' `
            -NotBefore ([datetime]'2026-01-01T00:00:00Z') -NotAfter ([datetime]'2099-12-31T00:00:00Z') -Weekdays 'mon-sun' -Hours '00:00-23:59' -UtcOffset '+00:00' `
            -Group 'S-1-5-32-544' -Privilege 'SeBackupPrivilege' -Integrity Medium -Issuer "pester@$tag" -KeyId $key.KeyId -OutFile night.ascpass -Force
        $p.PSObject.TypeNames[0] | Should -Be 'Ascend.Passcode'
        $p.Title | Should -Be 'Night shift'
        $p.MaxUses | Should -Be 5
        $p.Duration | Should -Be ([timespan]'02:00:00')
        $p.EndProcesses | Should -BeTrue
        $p.Computer | Should -Be @('PC-0*')
        $p.Privilege | Should -Be @('SeBackupPrivilege')
        $p.Integrity | Should -Be 'Medium'
        $p.Issuer | Should -Be "pester@$tag"
        $p.KeyId | Should -Be $key.KeyId
        $p.NotAfter.Year | Should -Be 2099
        if (-not $IsWindows) { [int](Get-Item night.ascpass).UnixFileMode | Should -Be 384 }
    }
    It 'New-AscendPasscode -WhatIf writes no file and records nothing' {
        $before = @(Get-AscendPasscode).Count
        New-AscendPasscode -Title 'x' -MaxUses 1 -Duration '00:10:00' -OutFile whatif.ascpass -WhatIf | Should -BeNullOrEmpty
        'whatif.ascpass' | Should -Not -Exist
        @(Get-AscendPasscode).Count | Should -Be $before
    }
    It 'New-AscendPasscode reports a bad term with ASC_PASSCODE_BAD_TERMS and writes nothing' {
        { New-AscendPasscode -Title 'x' -MaxUses 1 -Duration '00:00:00' -OutFile zero.ascpass -Force -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_PASSCODE_BAD_TERMS,New-AscendPasscode'
        'zero.ascpass' | Should -Not -Exist
    }
    It 'Get-AscendPasscode lists the issued registry and decodes files (unverified)' {
        (Get-AscendPasscode).Title | Should -Contain 'Night shift'
        $decoded = Get-Item night.ascpass | Get-AscendPasscode
        $decoded.Title | Should -Be 'Night shift'
        $decoded.Verified | Should -BeFalse
        $decoded.Path | Should -Be (Join-Path $work 'night.ascpass')
    }
    It 'Get-AscendPasscode reports a missing file as ASC_FILE_NOT_FOUND' {
        { Get-AscendPasscode -Path nothing.ascpass -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_FILE_NOT_FOUND,Get-AscendPasscode'
    }
    It 'Test-AscendPasscode refuses offline use until OfflinePasscodes is enabled, then accepts' {
        New-AscendPasscode -Title 'Printer' -MaxUses 1 -Duration '00:30:00' -OutFile printer.ascpass -Force | Out-Null
        $r = Test-AscendPasscode -Path printer.ascpass -Computer PC-042 -User 'CORP\bob' -PolicyPath $pol
        $r.PSObject.TypeNames[0] | Should -Be 'Ascend.PasscodeCheck'
        $r.Ok | Should -BeFalse
        $r.Reason | Should -Be 'offline-not-allowed'
        # A second file of lower precedence enables offline passcodes: the fold decides.
        $domainPol = Join-Path $work 'domain.pol'
        & $env:ASCEND_CLI pol set $domainPol OfflinePasscodes --state enabled | Out-Null
        $ok = Test-AscendPasscode -Path printer.ascpass -Computer PC-042 -User 'CORP\bob' -PolicyPath $domainPol, $pol
        $ok.Ok | Should -BeTrue
        $ok.Session.durationSeconds | Should -Be 1800
    }
    It 'Test-AscendPasscode with a trusted-keys file accepts, and refuses outside the passcode''s limits' {
        & $env:ASCEND_CLI keys export-public --out trusted.json | Out-Null
        (Test-AscendPasscode -Path night.ascpass -Computer PC-042 -User 'CORP\bob' -TrustedKeysPath trusted.json).Ok | Should -BeTrue
        (Test-AscendPasscode -Path night.ascpass -Computer SRV-1 -User 'CORP\bob' -TrustedKeysPath trusted.json).Reason | Should -Be 'wrong-computer'
        (Test-AscendPasscode -Path night.ascpass -Computer PC-042 -User 'CORP\bob' -TrustedKeysPath trusted.json -Uses 5).Reason | Should -Be 'uses-exhausted'
        (Test-AscendPasscode -Path night.ascpass -Computer PC-042 -User 'CORP\bob' -TrustedKeysPath trusted.json -At ([datetime]'2025-06-01T12:00:00Z')).Reason | Should -Be 'not-yet-valid'
    }
    It 'Revoke-AscendPasscode -WhatIf writes nothing; revoking by id from the pipeline makes the check refuse with revoked' {
        $before = Get-FileDigest $pol
        Get-AscendPasscode | Where-Object Title -eq 'Printer' | Revoke-AscendPasscode -PolicyPath $pol -WhatIf | Should -BeNullOrEmpty
        Get-FileDigest $pol | Should -Be $before
        $r = Get-AscendPasscode | Where-Object Title -eq 'Printer' | Revoke-AscendPasscode -PolicyPath $pol -Note 'lost' -Force
        $r.PSObject.TypeNames[0] | Should -Be 'Ascend.Revocation'
        $r.Changed | Should -BeTrue
        $r.Note | Should -Be 'lost'
        $check = Test-AscendPasscode -Path printer.ascpass -Computer PC-042 -User 'CORP\bob' -PolicyPath (Join-Path $work 'domain.pol'), $pol
        $check.Ok | Should -BeFalse
        $check.Reason | Should -Be 'revoked'
    }
    It 'Revoke-AscendPasscode -Path revokes the passcode of a file' {
        $r = Revoke-AscendPasscode -Path night.ascpass -PolicyPath $pol -Force
        $r.Title | Should -Be 'Night shift'
        $r.Revoked | Should -Contain $r.Id
    }
    It 'Unpublish-AscendSigningKey -WhatIf keeps the key; then removes it and the check says unknown-key' {
        $before = Get-FileDigest $pol
        Unpublish-AscendSigningKey -PolicyPath $pol -KeyId $key.KeyId -WhatIf | Should -BeNullOrEmpty
        Get-FileDigest $pol | Should -Be $before
        $r = $key | Unpublish-AscendSigningKey -PolicyPath $pol -Force
        $r.TrustedKeys | Should -Not -Contain $key.KeyId
        New-AscendPasscode -Title 'after' -MaxUses 1 -Duration '00:05:00' -OutFile after.ascpass -Force | Out-Null
        (Test-AscendPasscode -Path after.ascpass -Computer PC-1 -User bob -PolicyPath (Join-Path $work 'domain.pol'), $pol).Reason | Should -Be 'unknown-key'
    }
}

Describe 'Keys and passcodes in a GPO on the real DC' -Skip:([string]::IsNullOrEmpty($env:ASCEND_TEST_DC_SYSVOL_PATH)) {
    BeforeAll {
        $gpoName = "PS Passcodes $tag"
        $gpo = New-AscendGpo -Name $gpoName -Force -ErrorAction Stop
        $polPath = Get-GpoPolPath $gpo.Guid
        $gkey = New-AscendSigningKey -Name 'gpo key' -KeyFile (Join-Path $work 'g.pem') -Force
    }
    AfterAll { Remove-AscendGpo -Name $gpoName -Force -ErrorAction SilentlyContinue }

    It 'Publish-AscendSigningKey -Gpo -WhatIf changes neither the GPO version nor SYSVOL' {
        $before = Get-FileDigest $polPath
        Publish-AscendSigningKey -Gpo $gpoName -KeyId $gkey.KeyId -WhatIf | Should -BeNullOrEmpty
        Get-FileDigest $polPath | Should -Be $before
        (Get-AscendGpo -Name $gpoName).MachineVersion | Should -Be 0
    }
    It 'publishes the key, issues, checks against the GPO, revokes and checks again' {
        $pub = Publish-AscendSigningKey -Gpo $gpoName -KeyId $gkey.KeyId -Force
        $pub.TrustedKeys | Should -Be @($gkey.KeyId)
        Set-AscendGpoSetting -Gpo $gpoName -Policy OfflinePasscodes -State Enabled -Force | Out-Null
        $p = New-AscendPasscode -Title 'GPO passcode' -MaxUses 2 -Duration '01:00:00' -KeyId $gkey.KeyId -OutFile gpo.ascpass -Force
        $ok = $p | Test-AscendPasscode -Computer PC-042 -User 'CORP\bob' -Gpo $gpoName
        $ok.Ok | Should -BeTrue
        $ok.PolicySource | Should -Match ([regex]::Escape($gpo.Guid))
        $version = (Get-AscendGpo -Name $gpoName).MachineVersion
        $r = $p | Revoke-AscendPasscode -Gpo $gpoName -Force
        $r.Changed | Should -BeTrue
        (Get-AscendGpo -Name $gpoName).MachineVersion | Should -BeGreaterThan $version
        ($p | Test-AscendPasscode -Computer PC-042 -User 'CORP\bob' -Gpo $gpoName).Reason | Should -Be 'revoked'
        (Unpublish-AscendSigningKey -Gpo $gpoName -KeyId $gkey.KeyId -Force).TrustedKeys | Should -BeNullOrEmpty
    }
    It 'Test-AscendPasscode against a missing GPO is ASC_GPO_NOT_FOUND' {
        { Test-AscendPasscode -Path gpo.ascpass -Computer PC-1 -User bob -Gpo "missing $tag" -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_GPO_NOT_FOUND,Test-AscendPasscode'
    }
}
