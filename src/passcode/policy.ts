/**
 * The passcode policy from the effective settings (the fold of every applying GPO's
 * Registry.pol, src/policy): Instant On Demand Privilege Elevation (TemporarySessionElevation),
 * the client deployment's OfflinePasscodes and the additive RevokedPasscodes list.
 * Not Configured means "as the GPOs of lower precedence say" - the fold has already
 * applied that - and, when no GPO says anything, TSE disabled and offline use not allowed.
 */
import type { ElementValue, NamedValue } from '../catalog/model.js';
import type { EffectivePolicy } from '../policy/decode.js';
import type { TrustedKey } from './keys.js';
import { DEFAULT_INTEGRITY } from './terms.js';
import type { PasscodePolicy } from './verify.js';

export const TSE_POLICY_ID = 'TemporarySessionElevation';
export const OFFLINE_POLICY_ID = 'OfflinePasscodes';
export const REVOKED_POLICY_ID = 'RevokedPasscodes';

function strings(v: ElementValue | undefined): string[] {
  return Array.isArray(v) ? (v as readonly unknown[]).filter((x): x is string => typeof x === 'string').map((s) => s.trim()).filter((s) => s !== '') : [];
}

function named(v: ElementValue | undefined): NamedValue[] {
  if (!Array.isArray(v)) return [];
  return (v as readonly unknown[]).filter((x): x is NamedValue => typeof x === 'object' && x !== null && typeof (x as NamedValue).name === 'string' && typeof (x as NamedValue).value === 'string');
}

export function passcodePolicyFromEffective(effective: readonly EffectivePolicy[]): PasscodePolicy {
  const find = (id: string): EffectivePolicy | undefined => effective.find((p) => p.id === id);
  const tse = find(TSE_POLICY_ID);
  const tseEnabled = tse?.state === 'enabled';
  const values = tseEnabled ? tse.values : {};
  const trustedKeys: TrustedKey[] = named(values.TrustedKeys).map((n) => ({ kid: n.name, publicKey: n.value }));
  const revokedPolicy = find(REVOKED_POLICY_ID);
  const revoked = new Set(revokedPolicy?.state === 'enabled' ? named(revokedPolicy.values.Passcodes).map((n) => n.name) : []);
  const integrity = typeof values.IntegrityLevel === 'string' && values.IntegrityLevel !== '' ? values.IntegrityLevel : DEFAULT_INTEGRITY;
  const max = values.MaxSessionMinutes;
  return {
    tseEnabled,
    offlineAllowed: find(OFFLINE_POLICY_ID)?.state === 'enabled',
    trustedKeys,
    revoked,
    groups: strings(values.Groups),
    privileges: strings(values.Privileges),
    integrity,
    maxSessionMinutes: typeof max === 'number' && Number.isSafeInteger(max) && max > 0 ? max : 0,
  };
}

/**
 * A policy that trusts the given keys and allows everything else (TSE and offline use
 * enabled, nothing revoked, no groups or privileges of its own, no integrity or duration
 * ceiling): for `passcode check --trusted-keys FILE` and tests.
 */
export function policyForTrustedKeys(trustedKeys: readonly TrustedKey[], revoked: Iterable<string> = []): PasscodePolicy {
  return {
    tseEnabled: true,
    offlineAllowed: true,
    trustedKeys: [...trustedKeys],
    revoked: new Set(revoked),
    groups: [],
    privileges: [],
    integrity: 'System',
    maxSessionMinutes: 0,
  };
}
