function Connect-AscendServer {
    <#
    .SYNOPSIS
    Connects to an Ascend collector; later collector functions reuse the connection.
    .DESCRIPTION
    Like Connect-MgGraph: the connection is kept in the module's session state and used by
    Get-AscendReport, Get-AscendApprovalRequest, Approve-AscendElevationRequest and the other
    collector functions. Three ways to sign in:
    -TokenFile names a file holding an API token or a sign-in session (mode 600);
    -Credential signs in with Active Directory ("ascend server sign-in"; the password goes
    to the CLI through a file of mode 600 that is removed at once, never the command line);
    -Token takes an existing token as a SecureString (written to a private file of mode
    600 for the CLI, removed by Disconnect-AscendServer or when the module is removed).
    The connection is checked (whoami) before it is kept; the token is never shown.
    .PARAMETER Server
    The collector URL, e.g. https://collector.corp.example:8003.
    .PARAMETER TokenFile
    A file holding an API token or a sign-in session.
    .PARAMETER Credential
    An Active Directory account (DOMAIN\name or name@domain) and its password.
    .PARAMETER Token
    An API token or session token as a SecureString.
    .EXAMPLE
    Connect-AscendServer -Server https://collector.corp.example:8003 -TokenFile ~/.ascend-token
    Connects with an API token kept in a file.
    .EXAMPLE
    Connect-AscendServer -Server https://collector.corp.example:8003 -Credential (Get-Credential 'CORP\alice')
    Signs in with Active Directory; the role comes from the account's groups.
    .OUTPUTS
    Ascend.Connection
    #>
    [CmdletBinding(DefaultParameterSetName = 'TokenFile')]
    [OutputType('Ascend.Connection')]
    param(
        [Parameter(Mandatory, Position = 0)]
        [ValidatePattern('^https?://')]
        [string] $Server,
        [Parameter(Mandatory, ParameterSetName = 'TokenFile')]
        [ValidateNotNullOrEmpty()]
        [string] $TokenFile,
        [Parameter(Mandatory, ParameterSetName = 'Credential')]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential,
        [Parameter(Mandatory, ParameterSetName = 'Token')]
        [System.Security.SecureString] $Token
    )
    $Server = $Server.TrimEnd('/')
    $owned = $null
    switch ($PSCmdlet.ParameterSetName) {
        'TokenFile' { $file = Resolve-AscendPath -Path $TokenFile }
        'Token' {
            $owned = New-AscendSecretFile -Secret $Token -WhatIf:$false -Confirm:$false
            $file = $owned
        }
        default {
            $passwordFile = New-AscendSecretFile -Secret $Credential.Password -WhatIf:$false -Confirm:$false
            $owned = [System.IO.Path]::Combine([System.IO.Path]::GetDirectoryName($passwordFile), 'session')
            try {
                $signIn = Invoke-AscendCli -Caller $PSCmdlet -Arguments @('server', 'sign-in', '--server', $Server, '--user', $Credential.UserName, '--password-file', $passwordFile, '--out', $owned) -Target $Server
            } finally {
                [System.IO.File]::Delete($passwordFile)
            }
            if ($null -eq $signIn) { Remove-AscendSecretFile -Path $owned -WhatIf:$false -Confirm:$false; return }
            $file = $owned
        }
    }
    $who = Invoke-AscendCli -Caller $PSCmdlet -Arguments @('server', 'whoami', '--server', $Server, '--token-file', $file) -Target $Server
    if ($null -eq $who) {
        Remove-AscendSecretFile -Path $owned -WhatIf:$false -Confirm:$false
        return
    }
    if ($null -ne $script:AscendConnection) { Remove-AscendSecretFile -Path $script:AscendConnection.OwnedFile -WhatIf:$false -Confirm:$false }
    $script:AscendConnection = [pscustomobject]@{ Server = $Server; TokenFile = $file; OwnedFile = $owned }
    Add-AscendTypeName -TypeName 'Ascend.Connection' -Property ([ordered]@{
            Server    = $Server
            Account   = $who.name
            Role      = $who.role
            Source    = Get-AscendProperty $who 'source'
            ExpiresAt = Get-AscendProperty $who 'expiresAt'
        })
}
