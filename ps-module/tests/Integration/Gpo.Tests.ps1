# GPOs, links, settings and RSoP against the real Samba DC of the test run.

BeforeAll {
    . (Join-Path $PSScriptRoot '../TestSupport.ps1')
    $tag = Get-TestTag
    $gpoName = "PS Gpo $tag"
    $domainDn = $env:ASCEND_TEST_DC_BASE_DN
}

Describe 'GPO functions against the real DC' -Skip:([string]::IsNullOrEmpty($env:ASCEND_TEST_DC_SYSVOL_PATH)) {
    BeforeAll {
        $created = New-AscendGpo -Name $gpoName -Force -ErrorAction Stop
        $polPath = Get-GpoPolPath $created.Guid
    }
    AfterAll {
        Remove-AscendGpo -Name $gpoName -Force -ErrorAction SilentlyContinue
    }

    It 'New-AscendGpo creates a GPO and returns an Ascend.Gpo' {
        $created.PSObject.TypeNames[0] | Should -Be 'Ascend.Gpo'
        $created.DisplayName | Should -Be $gpoName
        $created.Guid | Should -Match '^\{[0-9A-F-]{36}\}$'
        $created.MachineVersion | Should -Be 0
    }
    It 'New-AscendGpo -WhatIf creates nothing' {
        New-AscendGpo -Name "$gpoName whatif" -WhatIf | Should -BeNullOrEmpty
        Get-AscendGpo -Name "$gpoName whatif" -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
    It 'Get-AscendGpo finds it by name, by wildcard and by GUID' {
        (Get-AscendGpo -Name $gpoName).Guid | Should -Be $created.Guid
        @(Get-AscendGpo -Name "PS Gpo $tag*").DisplayName | Should -Contain $gpoName
        (Get-AscendGpo -Name $created.Guid).DisplayName | Should -Be $gpoName
        @(Get-AscendGpo).DisplayName | Should -Contain 'Default Domain Policy'
    }
    It 'Get-AscendGpo reports a missing GPO as ASC_GPO_NOT_FOUND (ObjectNotFound)' {
        $err = $null
        Get-AscendGpo -Name "no such gpo $tag" -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'ASC_GPO_NOT_FOUND,Get-AscendGpo'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
    It 'Get-AscendGpoSetting returns every Ascend policy NotConfigured in a new GPO' {
        $settings = @(Get-AscendGpoSetting -Gpo $gpoName)
        $settings.Count | Should -Be @(Get-AscendPolicyDefinition).Count
        $settings[0].PSObject.TypeNames[0] | Should -Be 'Ascend.GpoSetting'
        @($settings | Where-Object State -ne 'NotConfigured') | Should -BeNullOrEmpty
    }
    It 'Set-AscendGpoSetting enables TSE with element values, bumping the version' {
        $r = Set-AscendGpoSetting -Gpo $gpoName -Policy TemporarySessionElevation -State Enabled -Value @{ Groups = @('S-1-5-32-544', 'CORP\Help,desk'); IntegrityLevel = 'Medium'; MaxSessionMinutes = 20 } -Force
        $r.Changed | Should -BeTrue
        $r.State | Should -Be 'Enabled'
        $r.MachineVersion | Should -Be 1
        $s = Get-AscendGpoSetting -Gpo $gpoName -Policy TemporarySessionElevation
        $s.State | Should -Be 'Enabled'
        $s.Values.Groups | Should -Be @('S-1-5-32-544', 'CORP\Help,desk')
        $s.Values.IntegrityLevel | Should -Be 'Medium'
    }
    It 'Set-AscendGpoSetting -WhatIf (also through the pipeline) changes neither the version nor the file bytes' {
        Set-AscendGpoSetting -Gpo $gpoName -Policy OfflinePasscodes -State Enabled -Force | Out-Null
        $before = Get-FileDigest $polPath
        $versionBefore = (Get-AscendGpo -Name $gpoName).MachineVersion
        $whatIf = Get-AscendGpoSetting -Gpo $gpoName | Where-Object State -eq Enabled | Set-AscendGpoSetting -State NotConfigured -WhatIf
        $whatIf | Should -BeNullOrEmpty
        Get-FileDigest $polPath | Should -Be $before
        (Get-AscendGpo -Name $gpoName).MachineVersion | Should -Be $versionBefore
    }
    It 'Set-AscendGpoSetting through the pipeline sets every enabled policy back to NotConfigured' {
        $r = @(Get-AscendGpoSetting -Gpo $gpoName | Where-Object State -eq Enabled | Set-AscendGpoSetting -State NotConfigured -Force)
        $r.Count | Should -Be 2
        @(Get-AscendGpoSetting -Gpo $gpoName | Where-Object State -ne 'NotConfigured') | Should -BeNullOrEmpty
    }
    It 'Set-AscendGpoSetting reports a bad value with its id and writes nothing' {
        $before = Get-FileDigest $polPath
        { Set-AscendGpoSetting -Gpo $gpoName -Policy TemporarySessionElevation -State Enabled -Value @{ MaxSessionMinutes = -5 } -Force -ErrorAction Stop } |
            Should -Throw -ErrorId 'ASC_POLICY_BAD_VALUE,Set-AscendGpoSetting'
        Get-FileDigest $polPath | Should -Be $before
    }
    It 'Set-AscendGpoSetting pins its parameters: -State is one of Enabled, Disabled, NotConfigured' {
        { Set-AscendGpoSetting -Gpo $gpoName -Policy OfflinePasscodes -State On -Force } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Set-AscendGpoSetting'
    }
    It 'New-AscendGpoLink links the GPO to the domain; -WhatIf links nothing' {
        New-AscendGpoLink -Gpo $gpoName -Target $domainDn -WhatIf | Should -BeNullOrEmpty
        $link = New-AscendGpoLink -Gpo $gpoName -Target $domainDn -Force
        $link.PSObject.TypeNames[0] | Should -Be 'Ascend.GpoLink'
        $link.Guid | Should -Be $created.Guid
        $link.Target | Should -Be $domainDn
        $link.Enforced | Should -BeFalse
        $link.Enabled | Should -BeTrue
    }
    It 'Set-AscendGpoLink makes the link Enforced and disabled; -WhatIf changes nothing' {
        Set-AscendGpoLink -Gpo $gpoName -Target $domainDn -Enforced $false -WhatIf | Should -BeNullOrEmpty
        $link = Set-AscendGpoLink -Gpo $gpoName -Target $domainDn -Enforced $true -Enabled $false -Force
        $link.Enforced | Should -BeTrue
        $link.Enabled | Should -BeFalse
        $link = Set-AscendGpoLink -Gpo $gpoName -Target $domainDn -Enabled $true -Force
        $link.Enforced | Should -BeTrue
        $link.Enabled | Should -BeTrue
    }
    It 'Get-AscendResultantPolicy -Computer shows the linked GPO applying (with a setting) and the empty ones not' {
        Set-AscendGpoSetting -Gpo $gpoName -Policy OfflinePasscodes -State Enabled -Force | Out-Null
        $rsop = Get-AscendResultantPolicy -Computer DC1
        $rsop.PSObject.TypeNames[0] | Should -Be 'Ascend.ResultantPolicy'
        $rsop.Account | Should -Be 'DC1$'
        $rsop.Applied.DisplayName | Should -Contain $gpoName
        ($rsop.Settings | Where-Object Policy -eq OfflinePasscodes).Gpo | Should -Be $gpoName
        ($rsop.Settings | Where-Object Policy -eq OfflinePasscodes).State | Should -Be 'Enabled'
    }
    It 'Get-AscendResultantPolicy -User resolves a user account (binding as ASCEND_LDAP_USER)' {
        $rsop = Get-AscendResultantPolicy -User Administrator
        $rsop.Kind | Should -Be 'user'
        $rsop.Account | Should -Be 'Administrator'
        $rsop.Sid | Should -Match '-500$'
        $rsop.DistinguishedName | Should -Match '^CN=Administrator,'
    }
    It 'Get-AscendResultantPolicy -SearchBase returns one object per computer under the OU' {
        $all = @(Get-AscendResultantPolicy -SearchBase "OU=Domain Controllers,$domainDn")
        $all.Count | Should -BeGreaterOrEqual 1
        $all.Account | Should -Contain 'DC1$'
    }
    It 'Get-AscendResultantPolicy reports an unknown computer as ASC_ACCOUNT_NOT_FOUND' {
        { Get-AscendResultantPolicy -Computer "nope$tag" -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_ACCOUNT_NOT_FOUND,Get-AscendResultantPolicy'
    }
    It 'Remove-AscendGpoLink removes the link; -WhatIf keeps it' {
        Remove-AscendGpoLink -Gpo $gpoName -Target $domainDn -WhatIf
        (Get-AscendResultantPolicy -Computer DC1).Applied.DisplayName | Should -Contain $gpoName
        Remove-AscendGpoLink -Gpo $gpoName -Target $domainDn -Force
        $rsop = Get-AscendResultantPolicy -Computer DC1
        $rsop.Applied.DisplayName | Should -Not -Contain $gpoName
        $rsop.NotApplied.DisplayName | Should -Not -Contain $gpoName
    }
    It 'Remove-AscendGpo -WhatIf keeps the GPO; Remove-AscendGpo -Force through the pipeline deletes it' {
        $other = New-AscendGpo -Name "$gpoName del" -Force
        $other | Remove-AscendGpo -WhatIf
        (Get-AscendGpo -Name "$gpoName del").Guid | Should -Be $other.Guid
        Get-AscendGpo -Name "$gpoName del" | Remove-AscendGpo -Force
        Get-AscendGpo -Name "$gpoName del" -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'Get-AscendPolicyDefinition' {
    It 'returns the catalog as Ascend.PolicyDefinition objects with their elements' {
        $tse = Get-AscendPolicyDefinition -Id TemporarySessionElevation
        $tse.PSObject.TypeNames[0] | Should -Be 'Ascend.PolicyDefinition'
        $tse.Class | Should -Be 'Machine'
        $tse.Elements.id | Should -Contain 'TrustedKeys'
        @(Get-AscendPolicyDefinition -Id 'Offline*').Id | Should -Be @('OfflinePasscodes')
    }
    It 'takes ids from the pipeline' {
        @('OfflinePasscodes', 'ElevationRules' | Get-AscendPolicyDefinition).Id | Should -Be @('OfflinePasscodes', 'ElevationRules')
    }
    It 'reports an unknown id as ASC_POLICY_UNKNOWN (ObjectNotFound)' {
        { Get-AscendPolicyDefinition -Id NoSuchPolicy -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_POLICY_UNKNOWN,Get-AscendPolicyDefinition'
    }
}
