function Get-AscendLocalPolicy {
    <#
    .SYNOPSIS
    Gets the effective Ascend policy of Registry.pol files, folded as Windows does.
    .DESCRIPTION
    Folds the files lowest precedence first (domain before OU, as the registry client-side
    extension does) and returns each policy's state, values and the file that decided it,
    through "ascend pol effective". On Windows, without -Path, the machine's local Group
    Policy file (%SystemRoot%\System32\GroupPolicy\Machine\Registry.pol) is read.
    .PARAMETER Path
    The Registry.pol files, lowest precedence first.
    .EXAMPLE
    Get-AscendLocalPolicy -Path .\domain.pol, .\ou.pol
    The effective settings when ou.pol applies after domain.pol.
    .EXAMPLE
    Get-AscendLocalPolicy | Where-Object State -eq Enabled
    On Windows: the Ascend policies enabled by the local Group Policy of this machine.
    .OUTPUTS
    Ascend.PolicyState
    #>
    [CmdletBinding()]
    [OutputType('Ascend.PolicyState')]
    param(
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('FullName')]
        [string[]] $Path
    )
    begin { $files = New-Object System.Collections.Generic.List[string] }
    process {
        foreach ($p in $Path) { $files.Add((Resolve-AscendPath -Path $p)) }
    }
    end {
        if ($files.Count -eq 0) {
            if (-not (Test-AscendWindows)) {
                $PSCmdlet.WriteError((New-AscendErrorRecord -Code 'ASC_USAGE' -Message 'give -Path: only Windows has a local Group Policy file to default to'))
                return
            }
            $files.Add([System.IO.Path]::Combine($env:SystemRoot, 'System32', 'GroupPolicy', 'Machine', 'Registry.pol'))
        }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments (@('pol', 'effective') + $files.ToArray())
        if ($null -eq $r) { return }
        foreach ($s in @($r.policies)) {
            Add-AscendTypeName -TypeName 'Ascend.PolicyState' -Property ([ordered]@{
                    Policy = $s.id
                    State  = ConvertTo-AscendState $s.state
                    Values = $s.values
                    Source = $s.source
                })
        }
    }
}
