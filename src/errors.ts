/**
 * The one catalogue of Ascend's error codes. Codes are stable: scripts match on them.
 * Every code here is documented in docs/errors.md (a test checks it).
 */
export const ERROR_CODES = {
  // Registry.pol (MS-GPREG) codec
  ASC_POL_BAD_SIGNATURE: 'The file does not start with the Registry.pol signature "PReg".',
  ASC_POL_BAD_VERSION: 'The Registry.pol header names a version other than 1.',
  ASC_POL_TRUNCATED: 'The file ends inside a header or an entry.',
  ASC_POL_BAD_DELIMITER: 'An entry lacks one of its delimiters "[", ";" or "]".',
  ASC_POL_SIZE_BEYOND_END: "An entry's declared data size runs past the end of the file.",
  ASC_POL_ODD_UTF16: 'A string value has an odd number of bytes, which UTF-16 cannot hold.',
  ASC_POL_BAD_DATA_SIZE: 'A REG_DWORD or REG_QWORD value does not have 4 or 8 bytes of data.',
  ASC_POL_TRAILING_BYTES: 'Bytes follow the last entry that do not form an entry.',
  ASC_POL_TOO_LARGE: 'The file is larger than the size cap (16 MiB unless set otherwise).',
  ASC_POL_BAD_ENTRY: 'An entry given to the writer cannot be written (bad key, value name, type or data).',
  // Catalog and policy values
  ASC_POLICY_UNKNOWN: 'No policy in the catalog has that id.',
  ASC_POLICY_BAD_STATE: 'The state is not one of enabled, disabled or not-configured.',
  ASC_POLICY_BAD_VALUE: 'An element value is missing, of the wrong kind, or out of range.',
  ASC_POLICY_UNKNOWN_ELEMENT: 'The policy has no element of that name.',
  // ADMX/ADML
  ASC_ADMX_INVALID: 'An ADMX or ADML file is not well-formed or lacks what a policy needs.',
  ASC_ADMX_DRIFT: 'The committed ADMX/ADML files differ from what the catalog generates.',
  // Active Directory over LDAP
  ASC_LDAP_BAD_CREDENTIALS: 'The directory refused the user name or password.',
  ASC_LDAP_NO_SUCH_OBJECT: 'The directory has no object at that distinguished name.',
  ASC_LDAP_INSUFFICIENT_RIGHTS: 'The account lacks the rights for that directory operation.',
  ASC_LDAP_TLS_REQUIRED: 'The directory requires TLS (or a stronger authentication) for that bind.',
  ASC_LDAP_INSECURE_REFUSED: 'Ascend refuses a simple bind over plain LDAP unless it is explicitly allowed.',
  ASC_LDAP_TLS_FAILED: "The TLS handshake failed, most often because the server's certificate is not trusted.",
  ASC_LDAP_UNREACHABLE: 'The directory server could not be reached.',
  ASC_LDAP_ALREADY_EXISTS: 'An object with that distinguished name already exists.',
  ASC_LDAP_ERROR: 'The directory answered with another error; the message carries its result code.',
  ASC_LDAP_BAD_FILTER: 'An LDAP search filter is not valid RFC 4515 syntax.',
  ASC_SD_INVALID: 'A security descriptor (nTSecurityDescriptor) is malformed or cannot be written.',
  ASC_SID_INVALID: 'A security identifier (SID), in binary or S-1-... form, is malformed.',
  ASC_GUID_INVALID: 'A GUID, in binary or string form, is malformed.',
  // SYSVOL and GPOs
  ASC_SYSVOL_UNSAFE_PATH: 'A SYSVOL path segment is empty, contains "..", a separator or a NUL, and is refused.',
  ASC_SYSVOL_IO: 'Reading or writing SYSVOL (a folder or SMB) failed.',
  ASC_SYSVOL_AUTH: 'The SMB server refused the user name or password for SYSVOL.',
  ASC_GPO_NOT_FOUND: 'No GPO has that display name or GUID.',
  ASC_GPO_AMBIGUOUS: 'Several GPOs have that display name; name it by {GUID}.',
  ASC_GPO_CONFLICT: 'The GPO changed while it was being edited (another admin wrote it); nothing was written.',
  ASC_GPO_INVALID: 'A GPO object or its GPT.INI is malformed.',
  ASC_ACCOUNT_NOT_FOUND: 'No computer or user account has that name.',
  ASC_CONFIG: 'A connection setting (LDAP URL, credentials, SYSVOL) is missing or malformed.',
  // TSE passcodes: signing keys, export files, the issued registry
  ASC_KEYCHAIN_UNAVAILABLE: 'No OS keychain (Secret Service, macOS Keychain, Windows Credential Manager) answered; a key file is needed.',
  ASC_KEY_NOT_FOUND: 'No signing key with that key id is in the keychain, the key index or the file given (or trusted where it is to be removed).',
  ASC_KEY_FILE_INSECURE: 'A private key file can be read or written by its group or by others, and is refused.',
  ASC_KEY_INVALID: 'A key file, trusted-keys file or key id is malformed.',
  ASC_PASSCODE_MALFORMED: 'A passcode file holds no readable passcode token, or the token is not a well-formed Ascend passcode (compact JWS with our header and terms).',
  ASC_FILE_EXISTS: 'The file to create exists already; Ascend does not overwrite keys or passcodes.',
  ASC_PASSCODE_BAD_TERMS: 'A passcode term (title, maximum usage, duration, window, hours, privilege ...) is missing or invalid; the message names the field.',
  // Elevation rules
  ASC_RULE_INVALID: 'An elevation or blacklist rule is malformed (not JSON, an unknown field, a wrong type, no application matcher); the message names the rule and the field.',
  ASC_RULE_EXISTS: 'A rule of that name exists already in the file or GPO (in ElevationRules or BlacklistRules).',
  ASC_RULE_NOT_FOUND: 'No rule of that name is in the file or GPO.',
  ASC_RULE_POLICY_DISABLED: 'The rule list policy is Disabled in the file or GPO, so a rule is not added there.',
  // Data-collection server: storage
  ASC_COLLECTOR_ENROLL_REFUSED: 'The enrollment token is unknown, expired or used up, or names other computers.',
  ASC_COLLECTOR_COMPUTER_TAKEN: 'An unrevoked agent holds that computer name already; revoke it before enrolling the machine again.',
  ASC_COLLECTOR_BAD_INPUT: 'An event, approval, passcode or token given to the collector is malformed; nothing was stored.',
  ASC_COLLECTOR_NOT_FOUND: 'The collector has no agent, approval request, passcode or API token with that id.',
  ASC_COLLECTOR_CONFLICT: 'The approval request was already decided or expired, or the record exists already.',
  ASC_COLLECTOR_STORAGE: "The collector's database could not be opened or migrated (or was written by a newer Ascend).",
  // Data-collection server: HTTP API and its CLI
  ASC_COLLECTOR_BAD_JSON: 'The request body is not well-formed JSON (or is empty where JSON is expected); nothing was stored.',
  ASC_COLLECTOR_TOO_LARGE: 'The request body is larger than the 1 MiB limit; nothing was stored.',
  ASC_COLLECTOR_RATE_LIMITED: 'Too many requests with one credential, or too many failed sign-ins or MFA codes; try again later.',
  ASC_COLLECTOR_UNAUTHENTICATED: 'The request carries no bearer credential or token, or one that is unknown or revoked.',
  ASC_COLLECTOR_FORBIDDEN: "The API token's role does not allow that request.",
  ASC_COLLECTOR_SELF_APPROVAL: 'An approver may not approve an elevation they requested themselves (or one whose requester cannot be told apart from them).',
  ASC_COLLECTOR_INSECURE_REFUSED: 'Plain HTTP refused: the admin CLI reaches the collector over https unless --insecure-http is given, and directory sign-in never crosses the network over plain HTTP.',
  ASC_COLLECTOR_UNTRUSTED: 'The collector could not be authenticated: its certificate is not the pinned one, or a decision it sent is not signed by its pinned key or answers another request.',
  ASC_COLLECTOR_UNREACHABLE: 'The collector server could not be reached, or did not answer with JSON.',
  ASC_WEBHOOK_FAILED: 'A webhook test delivery failed, or was not attempted in time.',
  // Endpoint agent
  ASC_AGENT_CONFIG: 'An agent option or its state folder is unusable (not root, a folder others may write, a bad collector URL); the message names it.',
  ASC_AGENT_POLICY_UNAVAILABLE: 'No policy could be read (no file, the domain unreachable) and no cached policy exists.',
  ASC_AGENT_REGISTRY_OUTPUT: 'The output of the Windows registry query could not be read; the message names the line.',
  ASC_AGENT_NOT_RUNNING: 'No agent answers on the socket (it is not running, or the path is wrong).',
  ASC_AGENT_PROTOCOL: 'A message on the agent socket is malformed or too large.',
  ASC_AGENT_PEER_UNKNOWN: "The kernel could not say who is on the other end of the agent socket (SO_PEERCRED unavailable), so the request is refused.",
  ASC_AGENT_ENROLL_FAILED: 'The agent could not enroll with the collector (the token was refused, or the collector is unreachable).',
  ASC_ELEVATION_DENIED: 'A blacklist rule denies the program, or no rule and no TSE session allows it.',
  ASC_ELEVATION_CONTROL_FAILED: 'A control the rules require was not satisfied: a justification too short or missing, an MFA code wrong or missing, an approval denied, expired or not decided in time.',
  ASC_TSE_REFUSED: 'The agent refused the passcode; the message gives the reason (signature, key, revocation, window, computer, user, hours, usage, policy).',
  ASC_TSE_NO_SESSION: 'The user has no active Temporary Session Elevation.',
  ASC_AUDIT_UNAVAILABLE: 'The agent cannot record the elevation or passcode redemption (its event spool is full or cannot be written), so it refuses it before anything starts.',
  ASC_EXEC_FAILED: 'The elevated program could not be started, or its ephemeral account could not be created or removed.',
  // Files and command line
  ASC_FILE_NOT_FOUND: 'A file named on the command line does not exist.',
  ASC_FILE_UNREADABLE: 'A file could not be read or written.',
  ASC_USAGE: 'The command line is incomplete or malformed.',
  ASC_INTERNAL: 'An unexpected failure inside Ascend; please report it.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base of every error Ascend raises on purpose; `code` is from ERROR_CODES. */
export class AscendError extends Error {
  readonly code: ErrorCode;
  /** A next step for the user, shown after the message by the CLI. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AscendError';
    this.code = code;
    this.hint = options?.hint;
  }
}

export function isAscendError(e: unknown): e is AscendError {
  return e instanceof AscendError;
}
