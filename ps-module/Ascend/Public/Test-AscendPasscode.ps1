function Test-AscendPasscode {
    <#
    .SYNOPSIS
    Checks a passcode as the agent on a computer will: accepted with the session, or refused with the reason.
    .DESCRIPTION
    Runs "ascend passcode check" against the policy of a GPO, of Registry.pol files, or of a
    trusted-keys file. A refusal is a result, not an error: Ok is $false and Reason is one
    code (malformed, unknown-key, bad-signature, revoked, tse-disabled, offline-not-allowed,
    not-yet-valid, expired, wrong-computer, wrong-user, outside-hours, uses-exhausted).
    .PARAMETER Path
    The .ascpass file. Takes Ascend.Passcode objects (their Path) from the pipeline.
    .PARAMETER Computer
    The computer the passcode is used on.
    .PARAMETER User
    The user who uses it, DOMAIN\name or name.
    .PARAMETER Gpo
    A GPO whose settings decide: display name or {GUID}.
    .PARAMETER PolicyPath
    Registry.pol files whose folded settings decide, lowest precedence first.
    .PARAMETER TrustedKeysPath
    A trusted-keys file (keys export-public); TSE and offline use are then taken as enabled.
    .PARAMETER At
    The time of use (default: now).
    .PARAMETER Uses
    How often the passcode was used on the machine before (default 0).
    .PARAMETER ComputerSid
    The computer's SID, for SID patterns.
    .PARAMETER UserSid
    The user's SID and group SIDs, for SID patterns.
    .EXAMPLE
    Test-AscendPasscode -Path bob.ascpass -Computer PC-042 -User 'CORP\bob' -Gpo 'Ascend - Workstations'
    The agent's verdict on PC-042 under the GPO's settings.
    .EXAMPLE
    Get-AscendPasscode -Path *.ascpass | Test-AscendPasscode -Computer PC-042 -User 'CORP\bob' -PolicyPath .\domain.pol, .\ou.pol | Where-Object { -not $_.Ok }
    The passcode files that PC-042 would refuse, with the reason.
    .OUTPUTS
    Ascend.PasscodeCheck
    #>
    [CmdletBinding(DefaultParameterSetName = 'Gpo')]
    [OutputType('Ascend.PasscodeCheck')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('FullName')]
        [ValidateNotNullOrEmpty()]
        [string] $Path,
        [Parameter(Mandatory)] [ValidateNotNullOrEmpty()] [string] $Computer,
        [Parameter(Mandatory)] [ValidateNotNullOrEmpty()] [string] $User,
        [Parameter(Mandatory, ParameterSetName = 'Gpo')] [ValidateNotNullOrEmpty()] [string] $Gpo,
        [Parameter(Mandatory, ParameterSetName = 'PolicyPath')] [ValidateNotNullOrEmpty()] [string[]] $PolicyPath,
        [Parameter(Mandatory, ParameterSetName = 'TrustedKeys')] [ValidateNotNullOrEmpty()] [string] $TrustedKeysPath,
        [datetime] $At,
        [ValidateRange(0, 1000000)] [int] $Uses,
        [string[]] $ComputerSid,
        [string[]] $UserSid
    )
    process {
        $file = Resolve-AscendPath -Path $Path
        $cliArgs = @('passcode', 'check', $file, '--computer', $Computer, '--user', $User)
        switch ($PSCmdlet.ParameterSetName) {
            'Gpo' { $cliArgs += @('--gpo', $Gpo) }
            'PolicyPath' { foreach ($p in $PolicyPath) { $cliArgs += @('--policy', (Resolve-AscendPath -Path $p)) } }
            default { $cliArgs += @('--trusted-keys', (Resolve-AscendPath -Path $TrustedKeysPath)) }
        }
        if ($PSBoundParameters.ContainsKey('At')) { $cliArgs += @('--at', $At.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)) }
        if ($PSBoundParameters.ContainsKey('Uses')) { $cliArgs += @('--uses', [string]$Uses) }
        foreach ($s in $ComputerSid) { $cliArgs += @('--computer-sid', $s) }
        foreach ($s in $UserSid) { $cliArgs += @('--user-sid', $s) }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -ResultExitCode @(0, 1) -Target $file
        if ($null -eq $r) { return }
        $terms = Get-AscendProperty $r 'terms'
        Add-AscendTypeName -TypeName 'Ascend.PasscodeCheck' -Property ([ordered]@{
                Ok           = [bool]$r.ok
                Reason       = Get-AscendProperty $r 'reason'
                Message      = Get-AscendProperty $r 'message'
                Id           = Get-AscendProperty $terms 'id'
                Title        = Get-AscendProperty $terms 'title'
                KeyId        = Get-AscendProperty $r 'kid'
                Computer     = $Computer
                User         = $User
                Session      = Get-AscendProperty $r 'session'
                PolicySource = Get-AscendProperty $r 'policySource'
                KeyProblems  = @(Get-AscendProperty $r 'keyProblems')
                Path         = $file
            })
    }
}
