function Add-AscendElevationRule {
    <#
    .SYNOPSIS
    Adds an elevation (allow) or blacklist (deny) rule to a GPO or a Registry.pol.
    .DESCRIPTION
    Runs "ascend rules add": the rule goes into ElevationRules (Allow) or BlacklistRules
    (Deny), enabling the policy if needed; the rule checker's findings are returned with it
    and written as warnings. A GPO write, so it asks for confirmation (ConfirmImpact High)
    unless -Force is given.
    .PARAMETER Name
    The rule name (unique in the GPO or file).
    .PARAMETER Action
    Allow (ElevationRules) or Deny (BlacklistRules).
    .PARAMETER Gpo
    The GPO to edit: display name or {GUID}.
    .PARAMETER PolicyPath
    A local Registry.pol to edit instead (created when missing).
    .PARAMETER Application
    The program path pattern (* ?); without a backslash it matches the file name.
    .PARAMETER Sha256
    The SHA-256 of the program file (64 hex digits).
    .PARAMETER Publisher
    The publisher (signer) pattern.
    .PARAMETER Arguments
    A pattern over the whole command line after the program ("" for none).
    .PARAMETER ParentPath
    The parent process path pattern.
    .PARAMETER User
    Users the rule is for: DOMAIN\name, name or SID.
    .PARAMETER Group
    Groups the rule is for: DOMAIN\name, name or SID.
    .PARAMETER Computer
    Computer name patterns the rule is for.
    .PARAMETER Collection
    Collection names the rule is for.
    .PARAMETER Control
    Controls the user must satisfy (allow rules only): Approval, Justify, Mfa.
    .PARAMETER Description
    A note stored with the rule.
    .PARAMETER Force
    Writes without asking for confirmation.
    .EXAMPLE
    Add-AscendElevationRule -Gpo 'Ascend - Workstations' -Name 'Printer drivers' -Action Allow -Application 'C:\Program Files\Vendor\drvinst.exe' -Group 'CORP\Helpdesk'
    Lets the Helpdesk group run a driver installer elevated.
    .EXAMPLE
    Add-AscendElevationRule -PolicyPath .\Registry.pol -Name 'No shells' -Action Deny -Application 'cmd.exe' -Force
    Blacklists cmd.exe in a local Registry.pol.
    .OUTPUTS
    Ascend.ElevationRule
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High', DefaultParameterSetName = 'Gpo')]
    [OutputType('Ascend.ElevationRule')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)] [ValidateNotNullOrEmpty()] [string] $Name,
        [Parameter(Mandatory, ValueFromPipelineByPropertyName)] [ValidateSet('Allow', 'Deny')] [string] $Action,
        [Parameter(Mandatory, ParameterSetName = 'Gpo', ValueFromPipelineByPropertyName)] [ValidateNotNullOrEmpty()] [string] $Gpo,
        [Parameter(Mandatory, ParameterSetName = 'PolicyPath', ValueFromPipelineByPropertyName)] [ValidateNotNullOrEmpty()] [string] $PolicyPath,
        [string] $Application,
        [ValidatePattern('^[0-9A-Fa-f]{64}$')] [string] $Sha256,
        [string] $Publisher,
        [AllowEmptyString()] [string] $Arguments,
        [string] $ParentPath,
        [string[]] $User,
        [string[]] $Group,
        [string[]] $Computer,
        [string[]] $Collection,
        [ValidateSet('Approval', 'Justify', 'Mfa')] [string[]] $Control,
        [string] $Description,
        [switch] $Force
    )
    begin {
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) { $ConfirmPreference = 'None' }
    }
    process {
        $target = Get-AscendTargetArgument -Gpo $Gpo -Path $PolicyPath
        $cliArgs = @('rules', 'add', '--name', $Name, '--action', $Action.ToLowerInvariant()) + $target
        if ($PSBoundParameters.ContainsKey('Application')) { $cliArgs += @('--path', $Application) }
        if ($PSBoundParameters.ContainsKey('Sha256')) { $cliArgs += @('--sha256', $Sha256) }
        if ($PSBoundParameters.ContainsKey('Publisher')) { $cliArgs += @('--publisher', $Publisher) }
        if ($PSBoundParameters.ContainsKey('Arguments')) { $cliArgs += ('--args=' + $Arguments) }
        if ($PSBoundParameters.ContainsKey('ParentPath')) { $cliArgs += @('--parent', $ParentPath) }
        foreach ($v in $User) { $cliArgs += @('--user', $v) }
        foreach ($v in $Group) { $cliArgs += @('--group', $v) }
        foreach ($v in $Computer) { $cliArgs += @('--computer', $v) }
        foreach ($v in $Collection) { $cliArgs += @('--collection', $v) }
        foreach ($v in $Control) { $cliArgs += @('--control', $v.ToLowerInvariant()) }
        if ($PSBoundParameters.ContainsKey('Description')) { $cliArgs += @('--description', $Description) }
        if (-not $PSCmdlet.ShouldProcess($target[1], "Add $Action rule '$Name'")) { return }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments $cliArgs -Target $Name
        if ($null -eq $r) { return }
        foreach ($f in @($r.findings)) { if ($null -ne $f) { Write-Warning ("{0} {1}: {2}" -f $f.severity, $f.code, $f.message) } }
        $file = $null
        if ($PSCmdlet.ParameterSetName -eq 'PolicyPath') { $file = $target[1] }
        ConvertTo-AscendElevationRule -Rule $r.rule -Gpo $Gpo -PolicyPath $file -Findings @($r.findings)
    }
}
