# Get-AscendRuleSuggestion against the real collector the mocha side started: discovered runs
# go in as an enrolled agent sends them (POST /api/v1/events); the suggestions come back typed,
# and the chosen ones go into a local policy file through Add-AscendElevationRule, where
# Test-AscendElevation allows what was run.

BeforeAll {
    . (Join-Path $PSScriptRoot '../TestSupport.ps1')
    $tag = Get-TestTag
    $work = New-TestFolder 'suggest'
    $env:ASCEND_HOME = Join-Path $work 'home'
    $server = $env:ASCEND_TEST_COLLECTOR_URL
    $adminTokenFile = $env:ASCEND_TEST_COLLECTOR_TOKEN_FILE
    $computer = "SUG-$tag"
    $tool = "/opt/sug-$tag/tool"
    $hash = 'c' * 64

    function Send-TestDiscovery([string] $Computer, [object[]] $Events) {
        Connect-AscendServer -Server $server -TokenFile $adminTokenFile | Out-Null
        $enroll = New-AscendEnrollmentToken -AsPlainText -Force
        $agent = Invoke-RestMethod -Method Post -Uri "$server/api/v1/enroll" -ContentType 'application/json' -Body (@{ enrollmentToken = $enroll.Token; computer = $Computer } | ConvertTo-Json)
        $body = @{ events = $Events } | ConvertTo-Json -Depth 5
        $null = Invoke-RestMethod -Method Post -Uri "$server/api/v1/events" -ContentType 'application/json' -Body $body -Headers @{ Authorization = "Bearer $($agent.credential)" }
    }
    function New-TestRun([string] $Id, [string] $User, [string] $Path, [string] $Arguments) {
        return @{ id = $Id; type = 'elevation-discovered'; time = [DateTimeOffset]::UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds(); user = $User; processPath = $Path; args = $Arguments; result = 'no-rule'; data = @{ runAs = 'root'; sha256 = $hash } }
    }
}
AfterAll {
    Disconnect-AscendServer
}

Describe 'Get-AscendRuleSuggestion against a real collector' -Skip:([string]::IsNullOrEmpty($env:ASCEND_TEST_COLLECTOR_URL)) {
    It 'says ASC_NOT_CONNECTED before Connect-AscendServer' {
        Disconnect-AscendServer
        { Get-AscendRuleSuggestion -ErrorAction Stop } | Should -Throw -ErrorId 'ASC_NOT_CONNECTED,Get-AscendRuleSuggestion'
    }
    It 'returns one typed suggestion per program and subcommand, with counts and the risk flag' {
        Send-TestDiscovery $computer @(
            (New-TestRun 'p1' 'CORP\ann' $tool 'restart web'),
            (New-TestRun 'p2' 'CORP\bob' $tool 'restart db'),
            (New-TestRun 'p3' 'CORP\bob' $tool 'mask web'),
            (New-TestRun 'p4' 'CORP\ann' '/usr/bin/vim' '/etc/hosts')
        )
        $all = @(Get-AscendRuleSuggestion -Computer $computer)
        $all.Count | Should -Be 3
        $all[0].PSObject.TypeNames[0] | Should -Be 'Ascend.RuleSuggestion'
        $restart = $all | Where-Object Arguments -eq 'restart *'
        $restart.Application | Should -Be $tool
        $restart.Sha256 | Should -Be $hash
        $restart.Runs | Should -Be 2
        $restart.Users | Should -Be 2
        $restart.Computers | Should -Be 1
        # A generalised * matches any words, options included: risky, written only when chosen by name.
        $restart.Generalised | Should -BeTrue
        $restart.Risky | Should -BeTrue
        $mask = $all | Where-Object Arguments -eq 'mask web'
        $mask.Runs | Should -Be 1
        $mask.Generalised | Should -BeFalse
        $mask.Risky | Should -BeFalse
        ($all | Where-Object Application -eq '/usr/bin/vim').Risky | Should -BeTrue
        @(Get-AscendRuleSuggestion -Computer $computer -MinUsers 2).Arguments | Should -Be @('restart *')
        @(Get-AscendRuleSuggestion -Computer $computer -Since ([datetime]::UtcNow.AddMinutes(1))) | Should -BeNullOrEmpty
    }
    It 'Get-AscendReport gives the Discovery reports as typed rows: every run, and counted by program, user and computer' {
        $runs = @(Get-AscendReport -Name Discovery -Computer $computer)
        $runs.Count | Should -Be 4
        $runs[0].PSObject.TypeNames[0] | Should -Be 'Ascend.Report.DiscoveryRow'
        $runs[0].runAs | Should -Be 'root'
        $programs = @(Get-AscendReport -Name DiscoveryPrograms -Computer $computer)
        $programs[0].PSObject.TypeNames[0] | Should -Be 'Ascend.Report.DiscoveryProgramsRow'
        ($programs | Where-Object processPath -eq $tool).runs | Should -Be 3
        ($programs | Where-Object processPath -eq $tool).users | Should -Be 2
        @(Get-AscendReport -Name DiscoveryUsers -Computer $computer | Where-Object processPath -eq $tool).user | Should -Be @('CORP\ann', 'CORP\bob')
        (Get-AscendReport -Name DiscoveryComputers -Computer $computer | Where-Object processPath -eq $tool).computer | Should -Be $computer
    }
    It 'the suggestions that are not risky, and a generalised one chosen by its arguments, go into a policy file through Add-AscendElevationRule, and Test-AscendElevation allows what was run' {
        $pol = Join-Path $work 'suggested.pol'
        $chosen = @(Get-AscendRuleSuggestion -Computer $computer | Where-Object { -not $_.Risky })
        $chosen.Arguments | Should -Be @('mask web')
        $chosen += @(Get-AscendRuleSuggestion -Computer $computer | Where-Object Arguments -eq 'restart *')
        $chosen | ForEach-Object {
            Add-AscendElevationRule -Name $_.Name -Action Allow -Application $_.Application -Sha256 $_.Sha256 -Arguments $_.Arguments -Description $_.Description -PolicyPath $pol -Force | Out-Null
        }
        @(Get-AscendElevationRule -PolicyPath $pol).Count | Should -Be 2
        (Test-AscendElevation -PolicyPath $pol -User 'CORP\ann' -Computer $computer -Application $tool -Arguments 'mask web' -Sha256 $hash).Decision | Should -Be 'Allow'
        (Test-AscendElevation -PolicyPath $pol -User 'CORP\ann' -Computer $computer -Application $tool -Arguments 'restart cache' -Sha256 $hash).Decision | Should -Be 'Allow'
        (Test-AscendElevation -PolicyPath $pol -User 'CORP\ann' -Computer $computer -Application $tool -Arguments 'restart cache' -Sha256 ('d' * 64)).Decision | Should -Be 'NotElevated'
        (Test-AscendElevation -PolicyPath $pol -User 'CORP\ann' -Computer $computer -Application $tool -Arguments 'mask db' -Sha256 $hash).Decision | Should -Be 'NotElevated'
    }
}
