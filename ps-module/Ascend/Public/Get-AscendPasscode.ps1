function Get-AscendPasscode {
    <#
    .SYNOPSIS
    Gets the passcodes this console issued, or what a passcode file says.
    .DESCRIPTION
    Without -Path: the issued registry of this console ("ascend passcode list"). With -Path:
    the terms of .ascpass files, decoded WITHOUT verifying the signature ("ascend passcode
    inspect"; Verified is $false): use Test-AscendPasscode for the agent's verdict.
    .PARAMETER Id
    Only the issued passcodes with these ids (wildcards allowed).
    .PARAMETER Path
    The .ascpass files (or files holding only the token) to decode.
    .EXAMPLE
    Get-AscendPasscode | Where-Object Title -like '*Bob*'
    The passcodes issued here for Bob.
    .EXAMPLE
    Get-ChildItem *.ascpass | Get-AscendPasscode
    What every passcode file in the folder says (unverified).
    .OUTPUTS
    Ascend.Passcode
    #>
    [CmdletBinding(DefaultParameterSetName = 'Issued')]
    [OutputType('Ascend.Passcode')]
    param(
        [Parameter(ParameterSetName = 'Issued', Position = 0)]
        [SupportsWildcards()]
        [string[]] $Id = @('*'),
        [Parameter(Mandatory, ParameterSetName = 'File', ValueFromPipeline, ValueFromPipelineByPropertyName)]
        [Alias('FullName')]
        [ValidateNotNullOrEmpty()]
        [string[]] $Path
    )
    process {
        if ($PSCmdlet.ParameterSetName -eq 'File') {
            foreach ($p in $Path) {
                $file = Resolve-AscendPath -Path $p
                $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments @('passcode', 'inspect', $file) -Target $file
                if ($null -ne $r) { ConvertTo-AscendPasscode -Terms $r.terms -Path $file -KeyId $r.header.kid -Verified ([bool]$r.verified) }
            }
            return
        }
        $r = Invoke-AscendCli -Caller $PSCmdlet -Arguments @('passcode', 'list')
        if ($null -eq $r) { return }
        foreach ($line in @($r.passcodes)) {
            foreach ($pattern in $Id) {
                if ($line.id -like $pattern) { ConvertTo-AscendPasscode -Terms $line; break }
            }
        }
    }
}
