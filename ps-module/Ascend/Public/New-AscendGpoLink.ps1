function New-AscendGpoLink {
    <#
    .SYNOPSIS
    Links a GPO to the domain or an OU.
    .DESCRIPTION
    Adds a link from a container (the domain or an OU, by distinguished name) to the GPO, as
    GPMC does: a new link gets the lowest precedence unless -Order places it. Runs
    "ascend gpo link". A link changes which computers the GPO applies to, so it asks for
    confirmation (ConfirmImpact High) unless -Force is given.
    .PARAMETER Gpo
    The display name or {GUID} of the GPO.
    .PARAMETER Target
    The distinguished name of the domain or the OU to link to.
    .PARAMETER Enforced
    The link is Enforced: it passes Block Inheritance and wins over links below.
    .PARAMETER Disabled
    The link is created disabled (the GPO does not apply through it yet).
    .PARAMETER Order
    The link order to place it at (1 = highest precedence inside the container).
    .PARAMETER Force
    Links without asking for confirmation.
    .EXAMPLE
    New-AscendGpoLink -Gpo 'Ascend - Workstations' -Target 'OU=Workstations,DC=corp,DC=example,DC=com'
    Links the GPO to the Workstations OU with the lowest precedence.
    .EXAMPLE
    New-AscendGpoLink -Gpo 'Ascend - Baseline' -Target 'DC=corp,DC=example,DC=com' -Enforced -Order 1 -Force
    Links the GPO to the domain, Enforced, at link order 1.
    .OUTPUTS
    Ascend.GpoLink
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('Ascend.GpoLink')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('DisplayName')]
        [ValidateNotNullOrEmpty()]
        [string] $Gpo,
        [Parameter(Mandatory, Position = 1, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()]
        [string] $Target,
        [switch] $Enforced,
        [switch] $Disabled,
        [ValidateRange(1, 10000)]
        [int] $Order,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
    }
    process {
        if (-not $PSCmdlet.ShouldProcess("$Gpo -> $Target", 'Link GPO')) { return }
        $cliArgs = @('gpo', 'link', $Gpo, $Target)
        if ($Enforced) { $cliArgs += '--enforced' }
        if ($Disabled) { $cliArgs += '--disabled' }
        if ($PSBoundParameters.ContainsKey('Order')) { $cliArgs += @('--order', [string]$Order) }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $Gpo
        if ($null -ne $r) { ConvertTo-AscendGpoLink -Answer $r -Gpo $Gpo -Caller $PSCmdlet }
    }
}
