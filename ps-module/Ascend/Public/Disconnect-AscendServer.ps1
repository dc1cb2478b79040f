function Disconnect-AscendServer {
    <#
    .SYNOPSIS
    Forgets the collector connection and removes the token file the module made for it.
    .DESCRIPTION
    After Connect-AscendServer -Token or -Credential the module keeps the token in a private
    file of mode 600; this removes it. A token file given with -TokenFile is left alone. A
    sign-in session stays valid on the server until it expires ("ascend server sign-out"
    ends it there).
    .EXAMPLE
    Disconnect-AscendServer
    Forgets the connection.
    .EXAMPLE
    Connect-AscendServer -Server $url -Token $secure; Get-AscendAgent; Disconnect-AscendServer
    Uses a token for one task and removes its file afterwards.
    .OUTPUTS
    None
    #>
    [CmdletBinding()]
    [OutputType([void])]
    param()
    if ($null -eq $script:AscendConnection) { return }
    Remove-AscendSecretFile -Path $script:AscendConnection.OwnedFile -WhatIf:$false -Confirm:$false
    $script:AscendConnection = $null
}
