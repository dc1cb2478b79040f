function New-AscendSecretFile {
    <#
    .SYNOPSIS
    Writes a secret to a new file of mode 600 in a new private folder and returns the file's path.
    .DESCRIPTION
    The folder is created first and made 700 (on Unix) before anything is written, and the file
    is made 600 while still empty, so the secret is never readable by others. The caller
    removes the folder with Remove-AscendSecretFile.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType([string])]
    param([Parameter(Mandatory)] [System.Security.SecureString] $Secret)
    $dir = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'ascend-ps-' + [guid]::NewGuid().ToString('N'))
    $file = [System.IO.Path]::Combine($dir, 'secret')
    if (-not $PSCmdlet.ShouldProcess($dir, 'create a private folder for a secret')) { return }
    $null = [System.IO.Directory]::CreateDirectory($dir)
    if (-not (Test-AscendWindows)) {
        [System.IO.File]::SetUnixFileMode($dir, [System.IO.UnixFileMode]'UserRead, UserWrite, UserExecute')
        $null = [System.IO.File]::Create($file).Dispose()
        [System.IO.File]::SetUnixFileMode($file, [System.IO.UnixFileMode]'UserRead, UserWrite')
    }
    $plain = ConvertFrom-AscendSecureString -Secret $Secret
    [System.IO.File]::WriteAllText($file, $plain)
    return $file
}

function Remove-AscendSecretFile {
    [CmdletBinding(SupportsShouldProcess)]
    param([string] $Path)
    if ([string]::IsNullOrEmpty($Path)) { return }
    $dir = [System.IO.Path]::GetDirectoryName($Path)
    if ((Split-Path -Leaf $dir) -notlike 'ascend-ps-*') { return }
    if ($PSCmdlet.ShouldProcess($dir, 'remove')) {
        if ([System.IO.Directory]::Exists($dir)) { [System.IO.Directory]::Delete($dir, $true) }
    }
}

function ConvertFrom-AscendSecureString {
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)] [System.Security.SecureString] $Secret)
    $bstr = [System.Runtime.InteropServices.Marshal]::SecureStringToBSTR($Secret)
    try {
        return [System.Runtime.InteropServices.Marshal]::PtrToStringBSTR($bstr)
    } finally {
        [System.Runtime.InteropServices.Marshal]::ZeroFreeBSTR($bstr)
    }
}

function ConvertTo-AscendSecureString {
    [CmdletBinding()]
    [OutputType([System.Security.SecureString])]
    param([Parameter(Mandatory)] [string] $Plain)
    $secure = New-Object System.Security.SecureString
    foreach ($ch in $Plain.ToCharArray()) { $secure.AppendChar($ch) }
    $secure.MakeReadOnly()
    return $secure
}

function Test-AscendWindows {
    [CmdletBinding()]
    [OutputType([bool])]
    param()
    return ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT)
}
