# Quality checks of the module (they stand in for PSScriptAnalyzer, which the package source
# does not serve): Windows PowerShell 5.1 syntax, the manifest, help, ShouldProcess, verbs,
# no aliases or Write-Host, a view for every output type, a Pester test for every function.

BeforeDiscovery {
    $script:moduleRoot = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../Ascend'))
    $script:files = @(Get-ChildItem -Path $moduleRoot -Recurse -Include '*.ps1', '*.psm1', '*.psd1' -File | ForEach-Object { @{ File = $_.FullName; Name = $_.Name } })
    Import-Module (Join-Path $moduleRoot 'Ascend.psd1') -Force
    $script:functions = @(Get-Command -Module Ascend -CommandType Function | ForEach-Object { @{ Name = $_.Name } })
    $script:changingVerbs = @('New', 'Set', 'Remove', 'Add', 'Publish', 'Unpublish', 'Revoke', 'Register', 'Approve', 'Deny', 'Invoke')
}

BeforeAll {
    $moduleRoot = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../Ascend'))
    $repoRoot = [System.IO.Path]::GetFullPath((Join-Path $moduleRoot '../..'))
    Import-Module (Join-Path $moduleRoot 'Ascend.psd1') -Force
    function Get-FileAst([string] $Path) {
        $tokens = $null; $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$tokens, [ref]$errors)
        return @{ Ast = $ast; Tokens = $tokens; Errors = $errors }
    }
}

Describe 'Windows PowerShell 5.1 syntax: <Name>' -ForEach $files {
    BeforeAll { $parsed = Get-FileAst $File }
    It 'parses without errors' {
        $parsed.Errors | Should -BeNullOrEmpty
    }
    It 'uses no PowerShell 7 only syntax (ternary, ??, ??=, ?. , && / || chains)' {
        $seven = @($parsed.Ast.FindAll({ param($n)
                    $n -is [System.Management.Automation.Language.TernaryExpressionAst] -or
                    $n -is [System.Management.Automation.Language.PipelineChainAst] -or
                    ($n -is [System.Management.Automation.Language.BinaryExpressionAst] -and $n.Operator -eq 'QuestionQuestion') -or
                    ($n -is [System.Management.Automation.Language.AssignmentStatementAst] -and $n.Operator -eq 'QuestionQuestionEquals') -or
                    ($n -is [System.Management.Automation.Language.MemberExpressionAst] -and $n.NullConditional)
                }, $true))
        @($seven | ForEach-Object { "line $($_.Extent.StartLineNumber): $($_.Extent.Text)" }) | Should -BeNullOrEmpty
    }
    It 'uses no -Parallel, -AsHashtable, or other parameters Windows PowerShell 5.1 lacks' {
        $bad = @($parsed.Ast.FindAll({ param($n)
                    $n -is [System.Management.Automation.Language.CommandParameterAst] -and
                    @('Parallel', 'AsHashtable', 'ThrottleLimit', 'SkipHttpErrorCheck', 'StatusCodeVariable', 'Depth') -contains $n.ParameterName -and
                    $n.Parent.GetCommandName() -in @('ForEach-Object', 'ConvertFrom-Json', 'Invoke-RestMethod', 'Invoke-WebRequest', 'foreach')
                }, $true))
        @($bad | ForEach-Object { "line $($_.Extent.StartLineNumber): $($_.Parent.Extent.Text)" }) | Should -BeNullOrEmpty
    }
    It 'has no aliases, Write-Host or automatic variables of PowerShell 6+ ($IsWindows, $IsLinux, $IsMacOS)' {
        $commands = @($parsed.Ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] }, $true) | ForEach-Object { $_.GetCommandName() } | Where-Object { $_ })
        $aliases = @($commands | Where-Object { $null -ne (Get-Alias -Name $_ -ErrorAction SilentlyContinue) })
        $aliases | Should -BeNullOrEmpty
        $commands | Should -Not -Contain 'Write-Host'
        $commands | Should -Not -Contain 'Set-Alias'
        $commands | Should -Not -Contain 'New-Alias'
        $vars = @($parsed.Ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.VariableExpressionAst] -and @('IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR') -contains $n.VariablePath.UserPath }, $true))
        $vars | Should -BeNullOrEmpty
    }
}

Describe 'The manifest' {
    BeforeAll { $manifest = Import-PowerShellDataFile (Join-Path $moduleRoot 'Ascend.psd1') }
    It 'is valid (Test-ModuleManifest)' {
        { Test-ModuleManifest -Path (Join-Path $moduleRoot 'Ascend.psd1') -ErrorAction Stop } | Should -Not -Throw
    }
    It 'exports exactly the functions of Public/, one function per file named after it' {
        $public = @(Get-ChildItem (Join-Path $moduleRoot 'Public') -Filter *.ps1 | ForEach-Object { $_.BaseName } | Sort-Object)
        @($manifest.FunctionsToExport | Sort-Object) | Should -Be $public
        foreach ($f in Get-ChildItem (Join-Path $moduleRoot 'Public') -Filter *.ps1) {
            $ast = (Get-FileAst $f.FullName).Ast
            $defs = @($ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $false))
            @($defs | ForEach-Object { $_.Name }) | Should -Be @($f.BaseName)
        }
        @((Get-Module Ascend).ExportedFunctions.Keys | Sort-Object) | Should -Be $public
        $public.Count | Should -BeGreaterOrEqual 28
    }
    It 'is for Desktop and Core, exports no aliases, cmdlets or variables' {
        $manifest.CompatiblePSEditions | Should -Be @('Desktop', 'Core')
        $manifest.PowerShellVersion | Should -Be '5.1'
        $manifest.AliasesToExport | Should -BeNullOrEmpty
        $manifest.CmdletsToExport | Should -BeNullOrEmpty
        $manifest.VariablesToExport | Should -BeNullOrEmpty
        (Get-Module Ascend).ExportedAliases.Count | Should -Be 0
    }
    It 'has the version of package.json' {
        $package = Get-Content -Raw (Join-Path $repoRoot 'package.json') | ConvertFrom-Json
        $manifest.ModuleVersion | Should -Be $package.version
    }
    It 'has the about_Ascend help topic' {
        Join-Path $moduleRoot 'en-US/about_Ascend.help.txt' | Should -Exist
        Get-Content -Raw (Join-Path $moduleRoot 'en-US/about_Ascend.help.txt') | Should -Match 'about_Ascend'
    }
}

Describe 'Help and conventions of <Name>' -ForEach $functions {
    BeforeAll {
        $command = Get-Command -Module Ascend -Name $Name
        $help = Get-Help -Name $Name -Full
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
    }
    It 'has a synopsis and a description' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$Name"
        ($help.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }
    It 'documents every parameter' {
        foreach ($p in $command.Parameters.Keys | Where-Object { $common -notcontains $_ }) {
            $doc = $help.Parameters.Parameter | Where-Object Name -eq $p
            ($doc.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$p of $Name needs a description"
        }
    }
    It 'has at least two examples' {
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        foreach ($e in @($help.Examples.Example)) { $e.Code | Should -Match $Name }
    }
    It 'uses an approved verb and the Ascend noun prefix' {
        (Get-Verb).Verb | Should -Contain $command.Verb
        $command.Noun | Should -BeLike 'Ascend*'
    }
    It 'supports ShouldProcess when its verb changes state, and -Force with it' {
        $verb = $command.Verb
        if ($changingVerbs -contains $verb) {
            $command.Parameters.Keys | Should -Contain 'WhatIf'
            $command.Parameters.Keys | Should -Contain 'Confirm'
            $command.Parameters.Keys | Should -Contain 'Force'
        }
    }
    It 'declares a typed output (Ascend.*) unless it returns nothing' {
        $types = @($command.OutputType | ForEach-Object { $_.Name })
        $types.Count | Should -BeGreaterThan 0
        @($types | Where-Object { $_ -notlike 'Ascend.*' -and $_ -ne 'System.Void' }) | Should -BeNullOrEmpty
    }
    It 'has at least one Pester test outside the QA suite' {
        $tests = @(Get-ChildItem (Join-Path $PSScriptRoot '..') -Recurse -Filter *.Tests.ps1 | Where-Object { $_.Directory.Name -ne 'QA' })
        $uses = @($tests | Where-Object { (Get-Content -Raw $_.FullName) -match "\b$Name\b" })
        $uses.Count | Should -BeGreaterThan 0
    }
}

Describe 'Confirm impact' {
    It 'is High for deletes, revocations and GPO writes' {
        $high = @('Remove-AscendGpo', 'New-AscendGpoLink', 'Set-AscendGpoLink', 'Remove-AscendGpoLink', 'Set-AscendGpoSetting',
            'Publish-AscendSigningKey', 'Unpublish-AscendSigningKey', 'Revoke-AscendPasscode', 'Add-AscendElevationRule',
            'Remove-AscendElevationRule', 'Revoke-AscendAgent')
        foreach ($name in $high) {
            $attr = (Get-Command $name).ScriptBlock.Attributes | Where-Object { $_ -is [System.Management.Automation.CmdletBindingAttribute] }
            [string]$attr.ConfirmImpact | Should -Be 'High' -Because $name
        }
    }
}

Describe 'Formats' {
    It 'has a view for every output type the functions declare' {
        [xml]$xml = Get-Content -Raw (Join-Path $moduleRoot 'Ascend.Format.ps1xml')
        $viewed = @($xml.Configuration.ViewDefinitions.View | ForEach-Object { $_.ViewSelectedBy.TypeName })
        $declared = @(Get-Command -Module Ascend | ForEach-Object { $_.OutputType } | ForEach-Object { $_.Name } | Where-Object { $_ -like 'Ascend.*' } | Sort-Object -Unique)
        foreach ($t in $declared) { $viewed | Should -Contain $t }
    }
}

Describe 'Parameter sets (pinned)' {
    It '<Name> has the parameter sets <Sets>' -ForEach @(
        @{ Name = 'Get-AscendResultantPolicy'; Sets = 'Computer,SearchBase,User' }
        @{ Name = 'Connect-AscendServer'; Sets = 'Credential,Token,TokenFile' }
        @{ Name = 'Publish-AscendSigningKey'; Sets = 'Gpo,PolicyPath' }
        @{ Name = 'Unpublish-AscendSigningKey'; Sets = 'Gpo,PolicyPath' }
        @{ Name = 'Test-AscendPasscode'; Sets = 'Gpo,PolicyPath,TrustedKeys' }
        @{ Name = 'Revoke-AscendPasscode'; Sets = 'FileGpo,FilePolicy,IdGpo,IdPolicy' }
        @{ Name = 'Get-AscendPasscode'; Sets = 'File,Issued' }
        @{ Name = 'Get-AscendElevationRule'; Sets = 'Gpo,PolicyPath' }
        @{ Name = 'Add-AscendElevationRule'; Sets = 'Gpo,PolicyPath' }
        @{ Name = 'Remove-AscendElevationRule'; Sets = 'Gpo,PolicyPath' }
        @{ Name = 'Test-AscendElevation'; Sets = 'Gpo,PolicyPath,RsopComputer' }
    ) {
        ((Get-Command $Name).ParameterSets.Name | Sort-Object) -join ',' | Should -Be $Sets
    }
    It 'every other function has one parameter set' {
        $multi = @('Get-AscendResultantPolicy', 'Connect-AscendServer', 'Publish-AscendSigningKey', 'Unpublish-AscendSigningKey', 'Test-AscendPasscode',
            'Revoke-AscendPasscode', 'Get-AscendPasscode', 'Get-AscendElevationRule', 'Add-AscendElevationRule', 'Remove-AscendElevationRule', 'Test-AscendElevation')
        foreach ($c in Get-Command -Module Ascend | Where-Object { $multi -notcontains $_.Name }) {
            @($c.ParameterSets).Count | Should -Be 1 -Because $c.Name
        }
    }
}

Describe 'Argument completers' {
    It 'completes policy ids for -Policy' {
        $r = TabExpansion2 -inputScript 'Set-AscendGpoSetting -Policy TemporarySess' -cursorColumn 42
        $r.CompletionMatches.CompletionText | Should -Contain 'TemporarySessionElevation'
    }
    It 'completes report names for Get-AscendReport -Name' {
        $r = TabExpansion2 -inputScript 'Get-AscendReport -Name Ts' -cursorColumn 25
        $r.CompletionMatches.CompletionText | Should -Contain 'TseUsage'
    }
}
