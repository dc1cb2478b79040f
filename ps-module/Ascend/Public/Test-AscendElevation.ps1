function Test-AscendElevation {
    <#
    .SYNOPSIS
    What would the rules decide for an elevation request? (the what-if)
    .DESCRIPTION
    Runs "ascend rules test": the decision engine of the agent applied to a request (user,
    computer, program and its command line) under the rules of a GPO, of Registry.pol files,
    or of the GPOs that apply to a computer account. Returns the decision (allow or deny),
    the reason, the controls the user must satisfy and the rules that matched. Decision is
    Allow, Deny or NotElevated (no rule matched).
    .PARAMETER User
    The requesting user: DOMAIN\name, name or SID.
    .PARAMETER Computer
    The computer the request is made on.
    .PARAMETER Application
    The program's full path.
    .PARAMETER Arguments
    The command line after the program.
    .PARAMETER Sha256
    The SHA-256 of the program file.
    .PARAMETER Publisher
    The program's publisher (signer).
    .PARAMETER ParentPath
    The parent process's full path.
    .PARAMETER Group
    Groups of the user's token, by name or SID.
    .PARAMETER Collection
    Collections the computer is in.
    .PARAMETER TseActive
    A Temporary Session Elevation is active for the user.
    .PARAMETER Gpo
    A GPO whose rules decide: display name or {GUID}.
    .PARAMETER PolicyPath
    Registry.pol files, lowest precedence first.
    .PARAMETER RsopComputer
    A computer account whose applying GPOs decide (RSoP).
    .EXAMPLE
    Test-AscendElevation -Gpo 'Ascend - Workstations' -User 'CORP\bob' -Computer PC-042 -Application 'C:\Program Files\Vendor\drvinst.exe'
    Would Bob's request be elevated on PC-042?
    .EXAMPLE
    Test-AscendElevation -RsopComputer PC-042 -User 'CORP\bob' -Computer PC-042 -Application 'C:\Windows\System32\cmd.exe' -Arguments '/c whoami'
    The decision under every GPO that applies to PC-042.
    .OUTPUTS
    Ascend.ElevationDecision
    #>
    [CmdletBinding(DefaultParameterSetName = 'Gpo')]
    [OutputType('Ascend.ElevationDecision')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName)] [ValidateNotNullOrEmpty()] [string] $User,
        [Parameter(Mandatory, ValueFromPipelineByPropertyName)] [ValidateNotNullOrEmpty()] [string] $Computer,
        [Parameter(Mandatory, ValueFromPipelineByPropertyName)] [ValidateNotNullOrEmpty()] [string] $Application,
        [Parameter(ValueFromPipelineByPropertyName)] [AllowEmptyString()] [string] $Arguments,
        [string] $Sha256,
        [string] $Publisher,
        [string] $ParentPath,
        [string[]] $Group,
        [string[]] $Collection,
        [switch] $TseActive,
        [Parameter(Mandatory, ParameterSetName = 'Gpo')] [ValidateNotNullOrEmpty()] [string] $Gpo,
        [Parameter(Mandatory, ParameterSetName = 'PolicyPath')] [ValidateNotNullOrEmpty()] [string[]] $PolicyPath,
        [Parameter(Mandatory, ParameterSetName = 'RsopComputer')] [ValidateNotNullOrEmpty()] [string] $RsopComputer
    )
    process {
        $cliArgs = @('rules', 'test', '--user', $User, '--computer', $Computer, '--app', $Application)
        switch ($PSCmdlet.ParameterSetName) {
            'Gpo' { $cliArgs += @('--gpo', $Gpo) }
            'PolicyPath' { foreach ($p in $PolicyPath) { $cliArgs += @('--policy', (Resolve-AscendPath -Path $p)) } }
            default { $cliArgs += @('--rsop-computer', $RsopComputer) }
        }
        if ($PSBoundParameters.ContainsKey('Arguments')) { $cliArgs += ('--args=' + $Arguments) }
        if ($PSBoundParameters.ContainsKey('Sha256')) { $cliArgs += @('--sha256', $Sha256) }
        if ($PSBoundParameters.ContainsKey('Publisher')) { $cliArgs += @('--publisher', $Publisher) }
        if ($PSBoundParameters.ContainsKey('ParentPath')) { $cliArgs += @('--parent', $ParentPath) }
        foreach ($g in $Group) { $cliArgs += @('--group', $g) }
        foreach ($c in $Collection) { $cliArgs += @('--collection', $c) }
        if ($TseActive) { $cliArgs += '--tse-active' }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $Application
        if ($null -eq $r) { return }
        # allow, deny, not-elevated -> Allow, Deny, NotElevated
        $decision = (@(([string]$r.decision) -split '-' | Where-Object { $_ -ne '' } | ForEach-Object { $_.Substring(0, 1).ToUpperInvariant() + $_.Substring(1) }) -join '')
        Add-AscendTypeName -TypeName 'Ascend.ElevationDecision' -Property ([ordered]@{
                Decision     = $decision
                Reason       = $r.reason
                Controls     = @($r.controls)
                MatchedRules = @($r.matchedRules)
                User         = $User
                Computer     = $Computer
                Application  = $Application
                Findings     = @(Get-AscendProperty $r 'findings')
            })
    }
}
