function New-AscendEnrollmentToken {
    <#
    .SYNOPSIS
    Creates an enrollment token that agents enroll with.
    .DESCRIPTION
    Runs "ascend server enroll-token create" against the connected collector. The token is a
    secret: like Get-LapsADPassword, it is returned as a SecureString unless -AsPlainText is
    given, and it is never written to verbose output.
    .PARAMETER Uses
    How many agents may enroll with it (default 1).
    .PARAMETER Expires
    How long it stays valid (default: no expiry).
    .PARAMETER AsPlainText
    Returns the token as plain text.
    .PARAMETER Force
    Creates the token without asking for confirmation.
    .EXAMPLE
    New-AscendEnrollmentToken -Uses 50 -Expires 7.00:00:00
    A token for 50 agents, valid for a week (Token is a SecureString).
    .EXAMPLE
    (New-AscendEnrollmentToken -AsPlainText).Token | Set-Content -Path .\enroll-token -NoNewline
    A one-use token written to a file for a deployment script.
    .OUTPUTS
    Ascend.EnrollmentToken
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('Ascend.EnrollmentToken')]
    param(
        [ValidateRange(1, 1000000)]
        [int] $Uses = 1,
        [timespan] $Expires,
        [switch] $AsPlainText,
        [switch] $Force
    )
    if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
    $server = Get-AscendServerArgument -Caller $PSCmdlet
    if ($null -eq $server) { return }
    if (-not $PSCmdlet.ShouldProcess($server[1], "Create an enrollment token for $Uses agent(s)")) { return }
    $cliArgs = @('server', 'enroll-token', 'create', '--uses', [string]$Uses) + $server
    if ($PSBoundParameters.ContainsKey('Expires')) { $cliArgs += @('--expires', ([string][long][System.Math]::Round($Expires.TotalMinutes) + 'm')) }
    $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs
    if ($null -eq $r) { return }
    $token = [string]$r.token
    if (-not $AsPlainText) { $token = ConvertTo-AscendSecureString -Plain $token }
    Add-AscendTypeName -TypeName 'Ascend.EnrollmentToken' -Property ([ordered]@{
            Id        = $r.id
            Uses      = $r.uses
            ExpiresAt = ConvertFrom-AscendTime (Get-AscendProperty $r 'expiresAt')
            Token     = $token
        })
}
