import type { PolicyCatalog, PolicyDefinition, RegistryValueSpec } from './model.js';

/** Where every Ascend machine policy lives (the registry CSE writes it under HKLM). */
export const POLICY_ROOT = 'SOFTWARE\\Policies\\Ascend\\PrivilegeManager';
/** The collector's default TCP port. */
export const DEFAULT_COLLECTOR_PORT = 8003;
/** The group a TSE token gets when the Groups list is empty. */
export const BUILTIN_ADMINISTRATORS = { name: 'BUILTIN\\Administrators', sid: 'S-1-5-32-544' } as const;

const ON: RegistryValueSpec = { kind: 'decimal', value: 1 };
const OFF: RegistryValueSpec = { kind: 'decimal', value: 0 };
const key = (sub: string): string => `${POLICY_ROOT}\\${sub}`;

// The paragraph every help text ends with, so admins read the same inheritance rules everywhere.
const INHERIT =
  'Not Configured writes nothing for this policy in this GPO, so a GPO of lower precedence (the parent: ' +
  'the domain, or an OU higher up) decides, and child GPOs that leave it Not Configured inherit what this GPO sets.';

const SUPPORTED = 'SUPPORTED_Ascend_1_0';

const policies: PolicyDefinition[] = [
  {
    id: 'ClientDataCollection',
    class: 'Machine',
    category: 'ClientDataCollection',
    displayName: 'Client data collection',
    help:
      'Sends the events of the Ascend agent (elevations, denied attempts, passcode use, approvals, policy ' +
      'changes and agent errors) to an Ascend data-collection server, which builds the reports, among them ' +
      'the Temporary Session Elevation Usage Report.\n\n' +
      'If you enable this policy setting, agents report to the collector host you enter, on port 8003 unless ' +
      'you change it, over TLS unless you clear "Use TLS", uploading at the interval you set. Events wait in a ' +
      'durable local spool while the collector cannot be reached; none is lost. The collector must be ' +
      'running, with its port open for incoming connections, before Temporary Session Elevation is ' +
      'configured.\n\n' +
      'If you disable this policy setting, agents keep no connection to a collector and events stay on the ' +
      'machine.\n\n' +
      INHERIT,
    key: key('ClientDataCollection'),
    valueName: 'Enabled',
    enabledValue: ON,
    disabledValue: OFF,
    supportedOn: SUPPORTED,
    elements: [
      { type: 'text', id: 'CollectorHost', valueName: 'CollectorHost', label: 'Collector host name or address:', required: true, maxLength: 255, expandable: false, soft: false },
      { type: 'decimal', id: 'CollectorPort', valueName: 'CollectorPort', label: 'Collector port (default 8003):', required: true, minValue: 1, maxValue: 65535, storeAsText: false, soft: false, default: DEFAULT_COLLECTOR_PORT, spinStep: 1 },
      { type: 'boolean', id: 'UseTls', valueName: 'UseTls', label: 'Use TLS (required unless the collector is on the same machine)', default: true },
      { type: 'decimal', id: 'UploadIntervalSeconds', valueName: 'UploadIntervalSeconds', label: 'Upload interval in seconds (default 60):', required: true, minValue: 10, maxValue: 86400, storeAsText: false, soft: false, default: 60, spinStep: 10 },
      { type: 'boolean', id: 'CollectElevations', valueName: 'CollectElevations', label: 'Collect elevated processes and how they ended', default: true },
      { type: 'boolean', id: 'CollectDenials', valueName: 'CollectDenials', label: 'Collect denied elevation attempts', default: true },
      { type: 'boolean', id: 'CollectPasscodeUsage', valueName: 'CollectPasscodeUsage', label: 'Collect passcode redemptions and refusals', default: true },
      { type: 'boolean', id: 'CollectApprovals', valueName: 'CollectApprovals', label: 'Collect approval requests, justifications and MFA checks', default: true },
      { type: 'boolean', id: 'CollectPolicyEvents', valueName: 'CollectPolicyEvents', label: 'Collect policy changes and agent errors', default: true },
    ],
  },
  {
    id: 'OfflinePasscodes',
    class: 'Machine',
    category: 'ClientDeployment',
    displayName: 'Enable clients to use offline passcodes to create temporary elevated sessions',
    help:
      'Lets users redeem Temporary Session Elevation passcodes on this machine, including while it is off the ' +
      'network: the agent checks a passcode offline against the trusted signing keys that Group Policy ' +
      'delivers.\n\n' +
      'If you enable this policy setting, the agent accepts passcodes; the Instant On Demand Privilege ' +
      'Elevation policy decides what an elevated session gets.\n\n' +
      'If you disable this policy setting, the agent refuses every passcode.\n\n' +
      'When no GPO configures it, passcodes are refused.\n\n' +
      INHERIT,
    key: key('ClientDeployment'),
    valueName: 'AllowOfflinePasscodes',
    enabledValue: ON,
    disabledValue: OFF,
    supportedOn: SUPPORTED,
    elements: [],
  },
  {
    id: 'TemporarySessionElevation',
    class: 'Machine',
    category: 'TemporarySessionElevation',
    displayName: 'Instant On Demand Privilege Elevation',
    help:
      'Configures Temporary Session Elevation (TSE): what a process started in a session opened with a ' +
      'passcode runs with.\n\n' +
      'If you enable this policy setting, passcodes signed by one of the trusted signing keys open elevated ' +
      'sessions. The security token gets the groups you list; when the list is empty it gets ' +
      'BUILTIN\\Administrators (S-1-5-32-544), the default. Privileges adds Se* privileges (for example ' +
      'SeDebugPrivilege); the integrity level is High unless you choose another. Trusted signing keys ' +
      'lists key ids with their Ed25519 public keys; list several to rotate keys. A value of 0 minutes for ' +
      'the maximum session leaves the duration to each passcode. Blacklist rules still apply inside an ' +
      'elevated session: a blacklisted program does not start.\n\n' +
      'If you disable this policy setting, no passcode opens a session, and the groups, privileges and keys ' +
      'of lower-precedence GPOs are cleared.\n\n' +
      INHERIT,
    key: key('TemporarySessionElevation'),
    valueName: 'Enabled',
    enabledValue: ON,
    disabledValue: OFF,
    supportedOn: SUPPORTED,
    elements: [
      { type: 'list', id: 'Groups', key: key('TemporarySessionElevation\\Groups'), label: 'Groups in the security token (empty: BUILTIN\\Administrators, S-1-5-32-544):', additive: false, explicitValue: false, expandable: false },
      { type: 'list', id: 'Privileges', key: key('TemporarySessionElevation\\Privileges'), label: 'Privileges to add (Se* names):', additive: false, explicitValue: false, expandable: false },
      {
        type: 'enum',
        id: 'IntegrityLevel',
        valueName: 'IntegrityLevel',
        label: 'Integrity level (default High):',
        required: true,
        items: [
          { displayName: 'Medium', value: { kind: 'string', value: 'Medium' } },
          { displayName: 'High', value: { kind: 'string', value: 'High' } },
          { displayName: 'System', value: { kind: 'string', value: 'System' } },
        ],
        default: 1,
      },
      { type: 'list', id: 'TrustedKeys', key: key('TemporarySessionElevation\\TrustedKeys'), label: 'Trusted passcode signing keys (key id, public key):', additive: false, explicitValue: true, expandable: false },
      { type: 'decimal', id: 'MaxSessionMinutes', valueName: 'MaxSessionMinutes', label: 'Maximum session length in minutes (0: as the passcode says):', required: false, minValue: 0, maxValue: 10080, storeAsText: false, soft: false, default: 0, spinStep: 15 },
    ],
  },
  {
    id: 'RevokedPasscodes',
    class: 'Machine',
    category: 'TemporarySessionElevation',
    displayName: 'Revoked passcodes',
    help:
      'Lists passcodes that no agent may accept any more, by passcode id, each with a note (who revoked it ' +
      'and why).\n\n' +
      'This list is additive: the revocations of every GPO that applies to a machine count together, so a ' +
      'passcode revoked at the domain stays revoked whatever an OU says.\n\n' +
      'If you enable this policy setting, the passcodes you list are refused.\n\n' +
      'If you disable this policy setting, the revocations this GPO and lower-precedence GPOs wrote are ' +
      'cleared; revoke passcodes in the GPO of highest precedence to be sure they stay revoked.\n\n' +
      INHERIT,
    key: key('TemporarySessionElevation\\Revoked'),
    supportedOn: SUPPORTED,
    elements: [
      { type: 'list', id: 'Passcodes', key: key('TemporarySessionElevation\\Revoked'), label: 'Revoked passcodes (passcode id, note):', additive: true, explicitValue: true, expandable: false },
    ],
  },
  {
    id: 'ElevationRules',
    class: 'Machine',
    category: 'ElevationRules',
    displayName: 'Elevation rules',
    help:
      'Lists the rules that let users run programs elevated. Each value is named after its rule and holds ' +
      'the rule as JSON: the application it matches (path pattern, SHA-256, publisher, command-line ' +
      'arguments, parent process), the users, groups, computers or collections it targets, and its action ' +
      'with controls (MFA, JUSTIFY, APPROVAL). Edit rules with "ascend rules add" rather than by hand.\n\n' +
      'This list is additive: the rules of every GPO that applies to a machine stack. When several rules ' +
      'match a request, every control any of them requires must be satisfied.\n\n' +
      'If you enable this policy setting, the rules you list apply.\n\n' +
      'If you disable this policy setting, the rules of this GPO and of lower-precedence GPOs are cleared.\n\n' +
      INHERIT,
    key: key('ElevationRules'),
    supportedOn: SUPPORTED,
    elements: [
      { type: 'list', id: 'Rules', key: key('ElevationRules'), label: 'Elevation rules (rule name, rule JSON):', additive: true, explicitValue: true, expandable: false },
    ],
  },
  {
    id: 'Discovery',
    class: 'Machine',
    category: 'ElevationRules',
    displayName: 'Discovery',
    help:
      'Reports what users run as root today outside Ascend, so that rules can be written from what was ' +
      'seen before users lose sudo. The agent follows the records sudo itself writes and sends one ' +
      '"elevation-discovered" event per command sudo ran: the user, the program (its real path), the ' +
      'arguments, the working folder, the run-as user, the terminal, the time, the SHA-256 of the program, ' +
      'and what the current Ascend rules would have decided for it (would-allow with the controls the rule ' +
      'would ask for, would-deny, or no-rule). Commands sudo refused are not reported. The events go to ' +
      'the collector of the Client data collection policy, with the elevations.\n\n' +
      'If you enable this policy setting, the agent reads the source you choose: the systemd journal ' +
      '(entries only the sudo program running as root wrote; a line another program logs as "sudo" is ' +
      'ignored), or sudo\'s JSON log file (sudoers: Defaults log_format=json, logfile=PATH) at the path you ' +
      'enter, which must be a file owned by root that no one else may write. The agent remembers how far it ' +
      'read, so a restart neither repeats nor loses a command; a rotated or truncated log file is read ' +
      'from its start.\n\n' +
      'If you disable this policy setting, the agent reads no sudo records.\n\n' +
      'When no GPO configures it, discovery is off.\n\n' +
      INHERIT,
    key: key('Discovery'),
    valueName: 'Enabled',
    enabledValue: ON,
    disabledValue: OFF,
    supportedOn: SUPPORTED,
    elements: [
      {
        type: 'enum',
        id: 'Source',
        valueName: 'Source',
        label: 'Read sudo\'s records from:',
        required: true,
        items: [
          { displayName: 'The systemd journal', value: { kind: 'string', value: 'journal' } },
          { displayName: 'sudo\'s JSON log file', value: { kind: 'string', value: 'sudo-json-log' } },
        ],
        default: 0,
      },
      { type: 'text', id: 'LogFile', valueName: 'LogFile', label: 'sudo\'s JSON log file (sudoers logfile=):', required: false, maxLength: 1024, expandable: false, soft: false, default: '/var/log/sudo.json' },
    ],
  },
  {
    id: 'BlacklistRules',
    class: 'Machine',
    category: 'Blacklist',
    displayName: 'Blacklist',
    help:
      'Lists programs that must never run elevated. Each value is named after its rule and holds the rule ' +
      'as JSON, matched like an elevation rule. A blacklist rule beats every elevation rule and an active ' +
      'Temporary Session Elevation: a blacklisted program does not start inside an elevated session.\n\n' +
      'This list is additive: the blacklist rules of every GPO that applies to a machine stack.\n\n' +
      'If you enable this policy setting, the rules you list apply.\n\n' +
      'If you disable this policy setting, the blacklist rules of this GPO and of lower-precedence GPOs are ' +
      'cleared.\n\n' +
      INHERIT,
    key: key('Blacklist'),
    supportedOn: SUPPORTED,
    elements: [
      { type: 'list', id: 'Rules', key: key('Blacklist'), label: 'Blacklist rules (rule name, rule JSON):', additive: true, explicitValue: true, expandable: false },
    ],
  },
  {
    id: 'EphemeralAccounts',
    class: 'Machine',
    category: 'EphemeralAccounts',
    displayName: 'Ephemeral accounts',
    help:
      'Runs every elevated process as a temporary local account that the agent creates for the elevation ' +
      'and removes afterwards, so that no user holds administrative rights between elevations.\n\n' +
      'If you enable this policy setting, account names start with the prefix you enter ("ascend_" by ' +
      'default); an account lives at most the time you set (480 minutes by default); and a cleanup every 60 ' +
      'minutes, unless you change it, removes accounts that outlived an elevation, with their profile ' +
      'folders unless you clear that option.\n\n' +
      'If you disable this policy setting, elevated processes run under the requesting user with the ' +
      'elevated token, and no accounts are created.\n\n' +
      INHERIT,
    key: key('EphemeralAccounts'),
    valueName: 'Enabled',
    enabledValue: ON,
    disabledValue: OFF,
    supportedOn: SUPPORTED,
    elements: [
      { type: 'text', id: 'AccountPrefix', valueName: 'AccountPrefix', label: 'Account name prefix:', required: true, maxLength: 12, expandable: false, soft: false, default: 'ascend_' },
      { type: 'decimal', id: 'MaxLifetimeMinutes', valueName: 'MaxLifetimeMinutes', label: 'Longest life of an account in minutes:', required: true, minValue: 1, maxValue: 10080, storeAsText: false, soft: false, default: 480, spinStep: 30 },
      { type: 'decimal', id: 'CleanupIntervalMinutes', valueName: 'CleanupIntervalMinutes', label: 'Cleanup interval in minutes:', required: true, minValue: 5, maxValue: 1440, storeAsText: false, soft: false, default: 60, spinStep: 5 },
      { type: 'boolean', id: 'RemoveProfileFolders', valueName: 'RemoveProfileFolders', label: 'Remove the profile and home folders of removed accounts', default: true },
    ],
  },
  {
    id: 'Approvals',
    class: 'Machine',
    category: 'Approvals',
    displayName: 'Approvals, justification and MFA',
    help:
      'Sets how the controls of elevation rules behave. APPROVAL sends the request to the data-collection ' +
      'server, where an approver decides; JUSTIFY asks the user for a reason; MFA asks for a second ' +
      'factor.\n\n' +
      'If you enable this policy setting, a request waits for a decision at most the time you set (30 ' +
      'minutes by default), an approved request may be started once within its validity (15 minutes by ' +
      'default), a justification needs at least the number of characters you set (10 by default), and a ' +
      'passed MFA check covers later elevations for the grace time you set (0 by default: ask every time).\n\n' +
      'If you disable this policy setting, or leave it Not Configured in every GPO, these defaults apply.\n\n' +
      INHERIT,
    key: key('Approvals'),
    valueName: 'Enabled',
    enabledValue: ON,
    disabledValue: OFF,
    supportedOn: SUPPORTED,
    elements: [
      { type: 'decimal', id: 'RequestTimeoutMinutes', valueName: 'RequestTimeoutMinutes', label: 'Wait for a decision at most (minutes):', required: true, minValue: 1, maxValue: 1440, storeAsText: false, soft: false, default: 30, spinStep: 5 },
      { type: 'decimal', id: 'ApprovalValidMinutes', valueName: 'ApprovalValidMinutes', label: 'An approval may be used within (minutes):', required: true, minValue: 1, maxValue: 1440, storeAsText: false, soft: false, default: 15, spinStep: 5 },
      { type: 'decimal', id: 'JustificationMinLength', valueName: 'JustificationMinLength', label: 'Shortest justification (characters):', required: true, minValue: 0, maxValue: 1000, storeAsText: false, soft: false, default: 10, spinStep: 1 },
      { type: 'decimal', id: 'MfaGraceMinutes', valueName: 'MfaGraceMinutes', label: 'A passed MFA check covers later elevations for (minutes):', required: true, minValue: 0, maxValue: 480, storeAsText: false, soft: false, default: 0, spinStep: 5 },
    ],
  },
];

/** Ascend's settings catalog: the single source of the ADMX/ADML, the encoder and the decoder. */
export const ASCEND_CATALOG: PolicyCatalog = {
  namespace: 'Ascend.Policies.PrivilegeManager',
  prefix: 'ascend',
  revision: '1.0',
  displayName: 'Ascend Privilege Manager',
  description: 'Group Policy settings of the Ascend Privilege Manager agent and its data-collection server.',
  supportedOn: [{ id: SUPPORTED, displayName: 'Ascend Privilege Manager agent 1.0 or later' }],
  categories: [
    { id: 'AscendPrivilegeManager', displayName: 'Ascend Privilege Manager', help: 'Settings of the Ascend Privilege Manager agent.' },
    { id: 'ClientDataCollection', displayName: 'Client Data Collection', parent: 'AscendPrivilegeManager' },
    { id: 'ClientDeployment', displayName: 'Client Deployment', parent: 'AscendPrivilegeManager' },
    { id: 'TemporarySessionElevation', displayName: 'Temporary Session Elevation', parent: 'AscendPrivilegeManager' },
    { id: 'ElevationRules', displayName: 'Elevation Rules', parent: 'AscendPrivilegeManager' },
    { id: 'Blacklist', displayName: 'Blacklist', parent: 'AscendPrivilegeManager' },
    { id: 'EphemeralAccounts', displayName: 'Ephemeral Accounts', parent: 'AscendPrivilegeManager' },
    { id: 'Approvals', displayName: 'Approvals', parent: 'AscendPrivilegeManager' },
  ],
  policies,
};
