function New-AscendGpo {
    <#
    .SYNOPSIS
    Creates a GPO in the domain as GPMC does.
    .DESCRIPTION
    Creates the GPO's Active Directory container (gPCFunctionalityVersion 2, Machine and User
    halves) and its SYSVOL folder with GPT.INI, through "ascend gpo create". The connection
    to the domain controller comes from the ASCEND_LDAP_* environment variables (see
    about_Ascend). The GPO is not linked: use New-AscendGpoLink.
    .PARAMETER Name
    The display name of the new GPO.
    .PARAMETER Force
    Creates the GPO without asking for confirmation.
    .EXAMPLE
    New-AscendGpo -Name 'Ascend - Workstations'
    Creates the GPO and returns it.
    .EXAMPLE
    'Ascend - Servers', 'Ascend - Kiosks' | New-AscendGpo -Force | New-AscendGpoLink -Target 'OU=Servers,DC=corp,DC=example,DC=com' -Force
    Creates two GPOs and links both to an OU.
    .OUTPUTS
    Ascend.Gpo
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('Ascend.Gpo')]
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
        if (-not $PSCmdlet.ShouldProcess($Name, 'Create GPO')) { return }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments @('gpo', 'create', $Name) -Target $Name
        if ($null -ne $r) { ConvertTo-AscendGpo -Gpo $r.gpo }
    }
}
