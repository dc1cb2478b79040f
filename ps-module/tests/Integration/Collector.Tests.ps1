# The collector functions against the real collector the mocha side started (ascend server
# start, with Active Directory sign-in against the real DC).

BeforeAll {
    . (Join-Path $PSScriptRoot '../TestSupport.ps1')
    $tag = Get-TestTag
    $work = New-TestFolder 'collector'
    $env:ASCEND_HOME = Join-Path $work 'home'
    $server = $env:ASCEND_TEST_COLLECTOR_URL
    $adminTokenFile = $env:ASCEND_TEST_COLLECTOR_TOKEN_FILE

    # An agent, as the real agent talks to the collector (REST), to file approval requests.
    function New-TestAgent([string] $Computer) {
        $enroll = New-AscendEnrollmentToken -AsPlainText -Force
        $body = @{ enrollmentToken = $enroll.Token; computer = $Computer } | ConvertTo-Json
        return Invoke-RestMethod -Method Post -Uri "$server/api/v1/enroll" -ContentType 'application/json' -Body $body
    }
    function New-TestApprovalRequest($Agent, [string] $User, [string] $Process) {
        $body = @{ requestId = [guid]::NewGuid().ToString(); user = $User; processPath = $Process } | ConvertTo-Json
        $r = Invoke-RestMethod -Method Post -Uri "$server/api/v1/agent/approvals" -ContentType 'application/json' -Body $body -Headers @{ Authorization = "Bearer $($Agent.credential)" }
        return $r.request
    }
}
AfterAll {
    Disconnect-AscendServer
}

Describe 'Collector functions against a real collector' -Skip:([string]::IsNullOrEmpty($env:ASCEND_TEST_COLLECTOR_URL)) {
    It 'every collector function says ASC_NOT_CONNECTED before Connect-AscendServer' {
        Disconnect-AscendServer
        { Get-AscendAgent -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_NOT_CONNECTED,Get-AscendAgent'
        $err = $null
        Get-AscendReport -Name Approvals -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $err[0].ErrorDetails.RecommendedAction | Should -Match 'Connect-AscendServer'
    }
    It 'Connect-AscendServer -TokenFile connects with an API token' {
        $c = Connect-AscendServer -Server $server -TokenFile $adminTokenFile
        $c.PSObject.TypeNames[0] | Should -Be 'Ascend.Connection'
        $c.Role | Should -Be 'admin'
        $c.Server | Should -Be $server
    }
    It 'Connect-AscendServer -Token takes a SecureString, keeps it in a private file of mode 600, and Disconnect-AscendServer removes it' {
        $plain = ([System.IO.File]::ReadAllText($adminTokenFile)).Trim()
        $secure = ConvertTo-SecureString -String $plain -AsPlainText -Force
        $verbose = Connect-AscendServer -Server $server -Token $secure -Verbose 4>&1
        $c = @($verbose | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })[0]
        $c.Role | Should -Be 'admin'
        ($verbose | Out-String) | Should -Not -Match ([regex]::Escape($plain))
        $file = (& (Get-Module Ascend) { $script:AscendConnection.TokenFile })
        $file | Should -Exist
        if (-not $IsWindows) { [int](Get-Item $file).UnixFileMode | Should -Be 384 }
        Disconnect-AscendServer
        $file | Should -Not -Exist
    }
    It 'Connect-AscendServer -Credential signs in with Active Directory; the password is in no argument, verbose line or error' {
        $password = ([System.IO.File]::ReadAllText($env:ASCEND_TEST_AD_PASSWORD_FILE)).Trim()
        $cred = New-Object System.Management.Automation.PSCredential -ArgumentList $env:ASCEND_TEST_AD_USER, (ConvertTo-SecureString -String $password -AsPlainText -Force)
        $out = Connect-AscendServer -Server $server -Credential $cred -Verbose 4>&1
        ($out | Out-String) | Should -Not -Match ([regex]::Escape($password))
        $c = @($out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })[0]
        # The account is the domain's Administrator: Domain Admins, the collector's admin group.
        $c.Role | Should -Be 'admin'
        $c.Source | Should -Be 'ad'
        $wrong = New-Object System.Management.Automation.PSCredential -ArgumentList $env:ASCEND_TEST_AD_USER, (ConvertTo-SecureString -String "$password-x" -AsPlainText -Force)
        $err = $null
        Connect-AscendServer -Server $server -Credential $wrong -Verbose -ErrorAction SilentlyContinue -ErrorVariable err 4>&1 | Out-String | Should -Not -Match ([regex]::Escape($password))
        $err[0].FullyQualifiedErrorId | Should -Be 'ASC_COLLECTOR_UNAUTHENTICATED,Connect-AscendServer'
        $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        ($err | Out-String) | Should -Not -Match ([regex]::Escape($password))
        # The connection made before stays after the failed attempt.
        (& (Get-Module Ascend) { $script:AscendConnection.TokenFile }) | Should -Exist
    }
    It 'New-AscendEnrollmentToken returns the token as a SecureString unless -AsPlainText; -WhatIf creates none' {
        Connect-AscendServer -Server $server -TokenFile $adminTokenFile | Out-Null
        New-AscendEnrollmentToken -WhatIf | Should -BeNullOrEmpty
        $t = New-AscendEnrollmentToken -Uses 3 -Expires '1.00:00:00' -Force
        $t.PSObject.TypeNames[0] | Should -Be 'Ascend.EnrollmentToken'
        $t.Token | Should -BeOfType [System.Security.SecureString]
        $t.Uses | Should -Be 3
        $t.ExpiresAt | Should -BeGreaterThan ([datetime]::UtcNow.AddHours(23))
        (New-AscendEnrollmentToken -AsPlainText -Force).Token | Should -BeOfType [string]
    }
    It 'Get-AscendAgent lists an enrolled agent; Revoke-AscendAgent -WhatIf keeps it, -Force through the pipeline revokes it' {
        $agent = New-TestAgent "PS-$tag-1"
        $a = Get-AscendAgent -Computer "PS-$tag-1"
        $a.PSObject.TypeNames[0] | Should -Be 'Ascend.Agent'
        $a.Id | Should -Be $agent.agentId
        $a.RevokedAt | Should -BeNullOrEmpty
        $a | Revoke-AscendAgent -Reason 'pester' -WhatIf | Should -BeNullOrEmpty
        (Get-AscendAgent -Computer "PS-$tag-1").RevokedAt | Should -BeNullOrEmpty
        $r = Get-AscendAgent -Computer "PS-$tag-1" | Revoke-AscendAgent -Reason 'pester' -Force
        (Get-AscendAgent -Computer "PS-$tag-1").RevokedAt | Should -Not -BeNullOrEmpty
    }
    It 'Revoke-AscendAgent reports an unknown id as ASC_COLLECTOR_NOT_FOUND' {
        { Revoke-AscendAgent -Id ([guid]::NewGuid().ToString()) -Force -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_COLLECTOR_NOT_FOUND,Revoke-AscendAgent'
    }
    It 'approves and denies pending requests through the pipeline; a second decision is ASC_COLLECTOR_CONFLICT' {
        $agent = New-TestAgent "PS-$tag-2"
        $null = New-TestApprovalRequest $agent 'CORP\bob' 'C:\Tools\setup.exe'
        $null = New-TestApprovalRequest $agent 'CORP\eve' 'C:\Windows\System32\cmd.exe'
        $pending = @(Get-AscendApprovalRequest -Status Pending | Where-Object Computer -eq "PS-$tag-2")
        $pending.Count | Should -Be 2
        $pending[0].PSObject.TypeNames[0] | Should -Be 'Ascend.ApprovalRequest'
        $pending | Where-Object User -eq 'CORP\bob' | Approve-AscendElevationRequest -TimeLimit '00:30:00' -WhatIf | Should -BeNullOrEmpty
        @(Get-AscendApprovalRequest -Status Pending | Where-Object Computer -eq "PS-$tag-2").Count | Should -Be 2
        $approved = Get-AscendApprovalRequest -Status Pending | Where-Object User -eq 'CORP\bob' | Approve-AscendElevationRequest -TimeLimit '00:30:00' -Force
        $approved.Status | Should -Be 'Approved'
        $approved.TimeLimit | Should -Be ([timespan]'00:30:00')
        $denied = Get-AscendApprovalRequest | Where-Object ProcessPath -like '*\cmd.exe' | Deny-AscendElevationRequest -Force
        $denied.Status | Should -Be 'Denied'
        @(Get-AscendApprovalRequest -Status Approved).Id | Should -Contain $approved.Id
        { Deny-AscendElevationRequest -Id $approved.Id -Force -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_COLLECTOR_CONFLICT,Deny-AscendElevationRequest'
        { Approve-AscendElevationRequest -Id $denied.Id -Force -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_COLLECTOR_CONFLICT,Approve-AscendElevationRequest'
        Deny-AscendElevationRequest -Id $approved.Id -WhatIf | Should -BeNullOrEmpty
    }
    It 'Get-AscendReport returns typed rows with filters' {
        $rows = @(Get-AscendReport -Name Approvals -Computer "PS-$tag-2" -From ([datetime]::UtcNow.AddHours(-1)))
        $rows.Count | Should -Be 2
        $rows[0].PSObject.TypeNames[0] | Should -Be 'Ascend.Report.ApprovalsRow'
        @($rows.status | Sort-Object) | Should -Be @('approved', 'denied')
        @(Get-AscendReport -Name TseUsage -To ([datetime]'2000-01-01')) | Should -BeNullOrEmpty
        @(Get-AscendReport -Name Denied -User 'CORP\nobody') | Should -BeNullOrEmpty
    }
    It 'Register-AscendPasscode records an issued passcode; -WhatIf records nothing' {
        New-AscendSigningKey -KeyFile (Join-Path $work 'k.pem') -Force | Out-Null
        $p = New-AscendPasscode -Title "Registered $tag" -MaxUses 1 -Duration '00:15:00' -OutFile (Join-Path $work 'r.ascpass') -Force
        $p | Register-AscendPasscode -WhatIf | Should -BeNullOrEmpty
        $r = $p | Register-AscendPasscode -Force
        $r.PSObject.TypeNames[0] | Should -Be 'Ascend.RegisteredPasscode'
        $r.id | Should -Be $p.Id
        { Register-AscendPasscode -Path (Join-Path $work 'none.ascpass') -Force -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_FILE_NOT_FOUND,Register-AscendPasscode'
    }
}
