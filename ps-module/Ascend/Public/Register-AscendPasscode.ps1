function Register-AscendPasscode {
    <#
    .SYNOPSIS
    Registers an issued passcode in the collector's domain-wide passcode registry.
    .DESCRIPTION
    Runs "ascend server passcode register FILE" against the connected collector: the
    passcode's terms (not the token) are recorded so that its use across the domain shows
    in the TSE Usage Report.
    .PARAMETER Path
    The .ascpass file. Takes Ascend.Passcode objects (their Path) from the pipeline.
    .PARAMETER Force
    Registers without asking for confirmation.
    .EXAMPLE
    Register-AscendPasscode -Path bob.ascpass
    Records Bob's passcode at the collector.
    .EXAMPLE
    New-AscendPasscode -Title 'Printer driver' -MaxUses 1 -Duration 00:30:00 -OutFile p.ascpass -Force | Register-AscendPasscode -Force
    Issues a passcode and registers it at once.
    .OUTPUTS
    Ascend.RegisteredPasscode
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('Ascend.RegisteredPasscode')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('FullName')]
        [ValidateNotNullOrEmpty()]
        [string] $Path,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
        $server = Get-AscendServerArgument -Caller $PSCmdlet
    }
    process {
        if ($null -eq $server) { return }
        $file = Resolve-AscendPath -Path $Path
        if (-not $PSCmdlet.ShouldProcess($file, 'Register passcode at ' + $server[1])) { return }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments (@('server', 'passcode', 'register', $file) + $server) -Target $file
        if ($null -eq $r) { return }
        $p = Get-AscendProperty $r 'passcode'
        if ($null -eq $p) { $p = $r }
        $p.PSObject.TypeNames.Insert(0, 'Ascend.RegisteredPasscode')
        $p
    }
}
