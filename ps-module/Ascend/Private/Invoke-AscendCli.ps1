function Invoke-AscendCli {
    <#
    .SYNOPSIS
    Runs one ascend command with --json and returns its parsed result.
    .DESCRIPTION
    The program comes from Resolve-AscendCli. Arguments never carry secrets: passwords and
    tokens reach the command line through files of mode 600 or the child's environment
    (-Environment), which is set on the child process only. A failure ({"error":{"code",
    "message"}}) is written through the calling cmdlet as an ErrorRecord whose
    FullyQualifiedErrorId is the code; nothing is returned then.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Caller,
        [Parameter(Mandatory)] [string[]] $Arguments,
        [hashtable] $Environment = @{},
        # Exit codes after which a JSON answer without "error" is a result (passcode check: 1 = refused).
        [int[]] $ResultExitCode = @(0),
        [object] $Target
    )

    $cli = Resolve-AscendCli
    if ($cli.ContainsKey('Error')) {
        $Caller.WriteError((New-AscendErrorRecord -Code 'ASC_CLI_NOT_FOUND' -Message $cli.Error -Target $Target))
        return
    }
    $all = @($cli.Prefix) + @($Arguments) + @('--json')
    Write-Verbose ('ascend ' + (($Arguments | ForEach-Object { ConvertTo-AscendArgument -Value $_ }) -join ' ') + " (the CLI from $($cli.Source))")

    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = $cli.File
    $psi.Arguments = (($all | ForEach-Object { ConvertTo-AscendArgument -Value $_ }) -join ' ')
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.RedirectStandardInput = $true
    $psi.CreateNoWindow = $true
    $psi.WorkingDirectory = (Get-Location -PSProvider FileSystem).ProviderPath
    $psi.EnvironmentVariables['NO_COLOR'] = '1'
    $psi.EnvironmentVariables['FORCE_COLOR'] = '0'
    foreach ($name in $Environment.Keys) {
        $psi.EnvironmentVariables[$name] = [string]$Environment[$name]
    }
    $process = New-Object System.Diagnostics.Process
    $process.StartInfo = $psi
    try {
        $null = $process.Start()
    } catch {
        $Caller.WriteError((New-AscendErrorRecord -Code 'ASC_CLI_NOT_FOUND' -Message "the ascend command line ($($cli.File)) could not be started: $($_.Exception.Message)" -Target $Target))
        return
    }
    $process.StandardInput.Close()
    $stdoutTask = $process.StandardOutput.ReadToEndAsync()
    $stderrTask = $process.StandardError.ReadToEndAsync()
    $process.WaitForExit()
    $stdout = $stdoutTask.Result
    $stderr = $stderrTask.Result
    $exitCode = $process.ExitCode
    $process.Dispose()

    $parsed = $null
    foreach ($text in @($stdout, $stderr)) {
        if ($null -eq $parsed -and -not [string]::IsNullOrWhiteSpace($text) -and $text.TrimStart().StartsWith('{')) {
            try { $parsed = ConvertFrom-Json -InputObject $text -ErrorAction Stop } catch { $parsed = $null }
        }
    }
    if ($null -ne $parsed -and $null -ne $parsed.PSObject.Properties['error'] -and $null -ne $parsed.error.code) {
        $hint = $null
        if ($null -ne $parsed.error.PSObject.Properties['hint']) { $hint = [string]$parsed.error.hint }
        $Caller.WriteError((New-AscendErrorRecord -Code ([string]$parsed.error.code) -Message ([string]$parsed.error.message) -Hint $hint -Target $Target))
        return
    }
    if ($ResultExitCode -notcontains $exitCode -or $null -eq $parsed) {
        $line = (($stderr + "`n" + $stdout) -split "`n" | Where-Object { $_.Trim() -ne '' } | Select-Object -First 1)
        if ($null -eq $line) { $line = 'no output' }
        $Caller.WriteError((New-AscendErrorRecord -Code 'ASC_INTERNAL' -Message "ascend $($Arguments[0]) exited $exitCode without a JSON answer: $line" -Target $Target))
        return
    }
    return $parsed
}

function ConvertTo-AscendArgument {
    <#
    .SYNOPSIS
    Quotes one argument for ProcessStartInfo.Arguments (the rules of CommandLineToArgvW, which .NET also applies on Linux and macOS).
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)] [AllowEmptyString()] [string] $Value)
    if ($Value -eq '') { return '""' }
    if ($Value -notmatch '[\s"]') { return $Value }
    $builder = New-Object System.Text.StringBuilder
    $null = $builder.Append('"')
    $backslashes = 0
    foreach ($ch in $Value.ToCharArray()) {
        if ($ch -eq '\') { $backslashes++; continue }
        if ($ch -eq '"') {
            $null = $builder.Append('\', (2 * $backslashes + 1)).Append('"')
        } else {
            $null = $builder.Append('\', $backslashes).Append($ch)
        }
        $backslashes = 0
    }
    $null = $builder.Append('\', (2 * $backslashes)).Append('"')
    return $builder.ToString()
}
