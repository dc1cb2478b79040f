@{
    RootModule           = 'Ascend.psm1'
    # The version of package.json (build.ps1 Package writes it; a test checks they agree).
    ModuleVersion        = '0.1.0'
    GUID                 = '8f4b7f3e-2d5c-4f6a-9b1e-3c7d2a5e8f10'
    Author               = 'Ascend'
    CompanyName          = 'Ascend'
    Copyright            = '(c) Ascend. All rights reserved.'
    Description          = 'Ascend Privilege Manager: Group Policy settings, TSE passcodes and signing keys, elevation rules, and the data-collection server, driven through the ascend command line.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    FormatsToProcess     = @('Ascend.Format.ps1xml')
    FunctionsToExport    = @(
        'Add-AscendElevationRule',
        'Approve-AscendElevationRequest',
        'Connect-AscendServer',
        'Deny-AscendElevationRequest',
        'Disconnect-AscendServer',
        'Get-AscendAgent',
        'Get-AscendAgentStatus',
        'Get-AscendApprovalRequest',
        'Get-AscendElevationRule',
        'Get-AscendGpo',
        'Get-AscendGpoSetting',
        'Get-AscendLocalPolicy',
        'Get-AscendPasscode',
        'Get-AscendPolicyDefinition',
        'Get-AscendReport',
        'Get-AscendResultantPolicy',
        'Get-AscendRuleSuggestion',
        'Get-AscendSigningKey',
        'Invoke-AscendPolicyRefresh',
        'New-AscendEnrollmentToken',
        'New-AscendGpo',
        'New-AscendGpoLink',
        'New-AscendPasscode',
        'New-AscendSigningKey',
        'Publish-AscendSigningKey',
        'Register-AscendPasscode',
        'Remove-AscendElevationRule',
        'Remove-AscendGpo',
        'Remove-AscendGpoLink',
        'Revoke-AscendAgent',
        'Revoke-AscendPasscode',
        'Set-AscendGpoLink',
        'Set-AscendGpoSetting',
        'Test-AscendElevation',
        'Test-AscendPasscode',
        'Unpublish-AscendSigningKey'
    )
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('GroupPolicy', 'PrivilegeManagement', 'TSE', 'Ascend')
        }
    }
}
