/**
 * The privileges a Windows access token can hold (the "Privilege Constants" of winnt.h,
 * LUIDs 2 to 36, plus the obsolete SeUnsolicitedInputPrivilege that the same list still
 * documents). Account rights such as SeInteractiveLogonRight are not privileges and are
 * not here: a token never carries them.
 */
export const WINDOWS_PRIVILEGES: readonly string[] = Object.freeze([
  'SeAssignPrimaryTokenPrivilege',
  'SeAuditPrivilege',
  'SeBackupPrivilege',
  'SeChangeNotifyPrivilege',
  'SeCreateGlobalPrivilege',
  'SeCreatePagefilePrivilege',
  'SeCreatePermanentPrivilege',
  'SeCreateSymbolicLinkPrivilege',
  'SeCreateTokenPrivilege',
  'SeDebugPrivilege',
  'SeDelegateSessionUserImpersonatePrivilege',
  'SeEnableDelegationPrivilege',
  'SeImpersonatePrivilege',
  'SeIncreaseBasePriorityPrivilege',
  'SeIncreaseQuotaPrivilege',
  'SeIncreaseWorkingSetPrivilege',
  'SeLoadDriverPrivilege',
  'SeLockMemoryPrivilege',
  'SeMachineAccountPrivilege',
  'SeManageVolumePrivilege',
  'SeProfileSingleProcessPrivilege',
  'SeRelabelPrivilege',
  'SeRemoteShutdownPrivilege',
  'SeRestorePrivilege',
  'SeSecurityPrivilege',
  'SeShutdownPrivilege',
  'SeSyncAgentPrivilege',
  'SeSystemEnvironmentPrivilege',
  'SeSystemProfilePrivilege',
  'SeSystemtimePrivilege',
  'SeTakeOwnershipPrivilege',
  'SeTcbPrivilege',
  'SeTimeZonePrivilege',
  'SeTrustedCredManAccessPrivilege',
  'SeUndockPrivilege',
  'SeUnsolicitedInputPrivilege',
]);

const BY_LOWER = new Map(WINDOWS_PRIVILEGES.map((p) => [p.toLowerCase(), p]));
const EXACT = new Set(WINDOWS_PRIVILEGES);

/** The documented spelling of a privilege name given in any case; undefined when Windows has no such privilege. */
export function canonicalPrivilege(name: string): string | undefined {
  return BY_LOWER.get(name.trim().toLowerCase());
}

/** True when `name` is a Windows privilege spelled exactly as documented. */
export function isWindowsPrivilege(name: string): boolean {
  return EXACT.has(name);
}
