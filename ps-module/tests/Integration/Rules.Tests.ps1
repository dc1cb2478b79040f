# Elevation rules and the what-if, in a local Registry.pol and a GPO on the real DC; this
# machine's policy and agent.

BeforeAll {
    . (Join-Path $PSScriptRoot '../TestSupport.ps1')
    $tag = Get-TestTag
    $work = New-TestFolder 'rules'
    $pol = Join-Path $work 'rules.pol'
}

Describe 'Elevation rules in a local Registry.pol' {
    It 'Add-AscendElevationRule -WhatIf writes no file' {
        Add-AscendElevationRule -PolicyPath $pol -Name 'Driver installer' -Action Allow -Application 'C:\Tools\drvinst.exe' -WhatIf | Should -BeNullOrEmpty
        $pol | Should -Not -Exist
    }
    It 'Add-AscendElevationRule adds allow and deny rules with targets and controls' {
        $r = Add-AscendElevationRule -PolicyPath $pol -Name 'Driver installer' -Action Allow -Application 'C:\Tools\drvinst.exe' -Arguments '/install *' `
            -Group 'CORP\Helpdesk' -Computer 'PC-*' -Control Justify -Description 'printer drivers' -Force
        $r.PSObject.TypeNames[0] | Should -Be 'Ascend.ElevationRule'
        $r.Action | Should -Be 'Allow'
        $r.Controls | Should -Be @('justify')
        $r.PolicyPath | Should -Be $pol
        (Add-AscendElevationRule -PolicyPath $pol -Name 'No shells' -Action Deny -Application 'cmd.exe' -Force).Action | Should -Be 'Deny'
    }
    It 'Add-AscendElevationRule refuses a duplicate name with ASC_RULE_EXISTS and writes nothing' {
        $before = Get-FileDigest $pol
        { Add-AscendElevationRule -PolicyPath $pol -Name 'No shells' -Action Deny -Application 'pwsh.exe' -Force -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_RULE_EXISTS,Add-AscendElevationRule'
        Get-FileDigest $pol | Should -Be $before
    }
    It 'Get-AscendElevationRule lists both lists' {
        $rules = @(Get-AscendElevationRule -PolicyPath $pol)
        $rules.Name | Should -Be @('Driver installer', 'No shells')
        (Get-AscendElevationRule -PolicyPath $pol -Name 'No*').List | Should -Be 'BlacklistRules'
    }
    It 'Test-AscendElevation decides as the agent would' {
        $allow = Test-AscendElevation -PolicyPath $pol -User 'CORP\bob' -Group 'CORP\Helpdesk' -Computer PC-042 -Application 'C:\Tools\drvinst.exe' -Arguments '/install x.inf'
        $allow.PSObject.TypeNames[0] | Should -Be 'Ascend.ElevationDecision'
        $allow.Decision | Should -Be 'Allow'
        $allow.Controls | Should -Be @('justify')
        $allow.MatchedRules | Should -Be @('Driver installer')
        (Test-AscendElevation -PolicyPath $pol -User 'CORP\bob' -Computer PC-042 -Application 'C:\Windows\System32\cmd.exe').Decision | Should -Be 'Deny'
        (Test-AscendElevation -PolicyPath $pol -User 'CORP\eve' -Computer PC-042 -Application 'C:\Tools\drvinst.exe' -Arguments '/install x.inf').Decision | Should -Be 'NotElevated'
    }
    It 'Remove-AscendElevationRule -WhatIf keeps the rule; from the pipeline it removes it' {
        $before = Get-FileDigest $pol
        Get-AscendElevationRule -PolicyPath $pol -Name 'No shells' | Remove-AscendElevationRule -WhatIf
        Get-FileDigest $pol | Should -Be $before
        Get-AscendElevationRule -PolicyPath $pol -Name 'No shells' | Remove-AscendElevationRule -Force
        @(Get-AscendElevationRule -PolicyPath $pol).Name | Should -Be @('Driver installer')
    }
    It 'Remove-AscendElevationRule reports an unknown rule as ASC_RULE_NOT_FOUND (ObjectNotFound)' {
        $err = $null
        Remove-AscendElevationRule -PolicyPath $pol -Name 'nope' -Force -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -Be 'ASC_RULE_NOT_FOUND,Remove-AscendElevationRule'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'Elevation rules in a GPO on the real DC' -Skip:([string]::IsNullOrEmpty($env:ASCEND_TEST_DC_SYSVOL_PATH)) {
    BeforeAll {
        $gpoName = "PS Rules $tag"
        $gpo = New-AscendGpo -Name $gpoName -Force -ErrorAction Stop
        $polPath = Get-GpoPolPath $gpo.Guid
    }
    AfterAll { Remove-AscendGpo -Name $gpoName -Force -ErrorAction SilentlyContinue }
    It 'adds a rule (the -WhatIf run first changes nothing), lists it with its GPO, tests and removes it' {
        Add-AscendElevationRule -Gpo $gpoName -Name 'Backup' -Action Allow -Application 'C:\Tools\backup.exe' -User 'CORP\bob' -WhatIf
        Get-FileDigest $polPath | Should -Be 'absent'
        (Get-AscendGpo -Name $gpoName).MachineVersion | Should -Be 0
        Add-AscendElevationRule -Gpo $gpoName -Name 'Backup' -Action Allow -Application 'C:\Tools\backup.exe' -User 'CORP\bob' -Force | Out-Null
        $rule = Get-AscendElevationRule -Gpo $gpoName
        $rule.Name | Should -Be 'Backup'
        $rule.Gpo | Should -Be $gpoName
        (Test-AscendElevation -Gpo $gpoName -User 'CORP\bob' -Computer PC-1 -Application 'C:\Tools\backup.exe').Decision | Should -Be 'Allow'
        $rule | Remove-AscendElevationRule -Force
        @(Get-AscendElevationRule -Gpo $gpoName) | Should -BeNullOrEmpty
    }
}

Describe 'This machine' {
    It 'Get-AscendLocalPolicy folds Registry.pol files and names the file that decided' {
        $states = @(Get-AscendLocalPolicy -Path $pol)
        $states[0].PSObject.TypeNames[0] | Should -Be 'Ascend.PolicyState'
        $rules = $states | Where-Object Policy -eq ElevationRules
        $rules.State | Should -Be 'Enabled'
        $rules.Source | Should -Be $pol
        ($states | Where-Object Policy -eq OfflinePasscodes).State | Should -Be 'NotConfigured'
    }
    It 'Get-AscendLocalPolicy reports a file that is not a Registry.pol with its id' {
        $bad = Join-Path $work 'bad.pol'
        [System.IO.File]::WriteAllText($bad, 'not a registry.pol')
        { Get-AscendLocalPolicy -Path $bad -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_POL_BAD_SIGNATURE,Get-AscendLocalPolicy'
    }
    It 'Get-AscendAgentStatus reports no agent as ASC_AGENT_NOT_RUNNING (ResourceUnavailable)' {
        $err = $null
        Get-AscendAgentStatus -Socket (Join-Path $work 'none.sock') -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'ASC_AGENT_NOT_RUNNING,Get-AscendAgentStatus'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $err[0].ErrorDetails.RecommendedAction | Should -Match 'start the agent'
    }
    It 'Invoke-AscendPolicyRefresh -WhatIf asks nothing of the agent; without an agent it is ASC_AGENT_NOT_RUNNING' {
        Invoke-AscendPolicyRefresh -Socket (Join-Path $work 'none.sock') -WhatIf | Should -BeNullOrEmpty
        { Invoke-AscendPolicyRefresh -Socket (Join-Path $work 'none.sock') -Force -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_AGENT_NOT_RUNNING,Invoke-AscendPolicyRefresh'
    }
}

Describe 'Finding the command line' {
    It 'names ASCEND_CLI in the error when it points nowhere (ASC_CLI_NOT_FOUND)' {
        $saved = $env:ASCEND_CLI
        try {
            $env:ASCEND_CLI = Join-Path $work 'no-such-ascend'
            $err = $null
            Get-AscendPolicyDefinition -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be 'ASC_CLI_NOT_FOUND,Get-AscendPolicyDefinition'
            $err[0].Exception.Message | Should -Match 'ASCEND_CLI'
        } finally {
            $env:ASCEND_CLI = $saved
        }
    }
    It 'falls back to the package the module ships with when ASCEND_CLI is not set and ascend is not on PATH' {
        $saved = $env:ASCEND_CLI
        try {
            $env:ASCEND_CLI = $null
            @(Get-AscendPolicyDefinition).Count | Should -BeGreaterThan 0
        } finally {
            $env:ASCEND_CLI = $saved
        }
    }
}
