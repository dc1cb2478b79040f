function Remove-AscendGpo {
    <#
    .SYNOPSIS
    Deletes a GPO: its links everywhere, its Active Directory objects and its SYSVOL folder.
    .DESCRIPTION
    Runs "ascend gpo delete". This cannot be undone, so it asks for confirmation
    (ConfirmImpact High) unless -Force or -Confirm:$false is given.
    .PARAMETER Name
    The display name or {GUID} of the GPO. Takes Ascend.Gpo objects from the pipeline.
    .PARAMETER Force
    Deletes without asking for confirmation.
    .EXAMPLE
    Remove-AscendGpo -Name 'Ascend - Old'
    Asks, then deletes the GPO and its links.
    .EXAMPLE
    Get-AscendGpo -Name 'Test *' | Remove-AscendGpo -Force
    Deletes every GPO whose name starts with "Test ".
    .OUTPUTS
    None
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType([void])]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('DisplayName')]
        [ValidateNotNullOrEmpty()]
        [string] $Name,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
    }
    process {
        if (-not $PSCmdlet.ShouldProcess($Name, 'Delete GPO, its links and its SYSVOL folder')) { return }
        $null = Invoke-AscendCli -Caller $PSCmdlet -Arguments @('gpo', 'delete', $Name) -Target $Name
    }
}
