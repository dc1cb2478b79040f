function Revoke-AscendPasscode {
    <#
    .SYNOPSIS
    Revokes a passcode in a GPO or a Registry.pol.
    .DESCRIPTION
    Adds the passcode's id to the additive RevokedPasscodes list ("ascend passcode revoke"),
    keeping the ids it lists already; agents refuse the passcode with reason revoked from
    their next policy refresh. A revocation, so it asks for confirmation (ConfirmImpact
    High) unless -Force is given.
    .PARAMETER Id
    The passcode id. Takes Ascend.Passcode objects from the pipeline.
    .PARAMETER Path
    An .ascpass file whose passcode to revoke, instead of -Id.
    .PARAMETER Gpo
    The GPO to edit: display name or {GUID}.
    .PARAMETER PolicyPath
    A local Registry.pol to edit instead (created when missing).
    .PARAMETER Note
    Why (stored as the list value; default "revoked by USER@HOST on DATE").
    .PARAMETER Force
    Revokes without asking for confirmation.
    .EXAMPLE
    Revoke-AscendPasscode -Path bob.ascpass -Gpo 'Ascend - Workstations' -Note 'no longer needed'
    Revokes the passcode of a file in the GPO.
    .EXAMPLE
    Get-AscendPasscode | Where-Object Title -like '*contractor*' | Revoke-AscendPasscode -Gpo 'Ascend - Workstations' -Force
    Revokes every passcode issued here for contractors.
    .OUTPUTS
    Ascend.Revocation
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High', DefaultParameterSetName = 'IdGpo')]
    [OutputType('Ascend.Revocation')]
    param(
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'IdGpo', ValueFromPipelineByPropertyName)]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'IdPolicy', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $Id,
        [Parameter(Mandatory, ParameterSetName = 'FileGpo')]
        [Parameter(Mandatory, ParameterSetName = 'FilePolicy')]
        [ValidateNotNullOrEmpty()]
        [string] $Path,
        [Parameter(Mandatory, ParameterSetName = 'IdGpo')]
        [Parameter(Mandatory, ParameterSetName = 'FileGpo')]
        [ValidateNotNullOrEmpty()]
        [string] $Gpo,
        [Parameter(Mandatory, ParameterSetName = 'IdPolicy')]
        [Parameter(Mandatory, ParameterSetName = 'FilePolicy')]
        [ValidateNotNullOrEmpty()]
        [string] $PolicyPath,
        [ValidateNotNullOrEmpty()]
        [string] $Note,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
    }
    process {
        $what = $Id
        if ($PSCmdlet.ParameterSetName -like 'File*') { $what = Resolve-AscendPath -Path $Path }
        $target = Get-AscendTargetArgument -Gpo $Gpo -Path $PolicyPath
        if (-not $PSCmdlet.ShouldProcess($target[1], "Revoke passcode $what")) { return }
        $cliArgs = @('passcode', 'revoke', $what) + $target
        if ($PSBoundParameters.ContainsKey('Note')) { $cliArgs += @('--note', $Note) }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $what
        if ($null -eq $r) { return }
        Add-AscendTypeName -TypeName 'Ascend.Revocation' -Property ([ordered]@{
                Id      = $r.id
                Title   = Get-AscendProperty $r 'title'
                Target  = $r.target
                Note    = Get-AscendProperty $r 'note'
                Changed = [bool]$r.changed
                Revoked = @(Get-AscendProperty $r 'revoked')
            })
    }
}
