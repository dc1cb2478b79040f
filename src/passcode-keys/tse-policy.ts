/**
 * Edits of the TSE policies (trusted keys, revoked passcodes) in one policy target: a local
 * Registry.pol (src/local-policy fileTarget) or a GPO (gpo-extension gpoTarget); this module
 * knows neither, only the PolicyTarget interface of src/policy.
 */
import { AscendError } from '../errors.js';
import type { ElementValue, NamedValue, PolicyState } from '../catalog/index.js';
import type { PolicyTarget } from '../policy/index.js';
import type { TrustedKeyEntry } from './trusted-keys.js';

export const TSE_POLICY = 'TemporarySessionElevation';
export const REVOKED_POLICY = 'RevokedPasscodes';
export const OFFLINE_POLICY = 'OfflinePasscodes';

function namedList(value: ElementValue | undefined): NamedValue[] {
  return Array.isArray(value) ? (value as readonly unknown[]).filter((v): v is NamedValue => typeof v === 'object' && v !== null && 'name' in v).map((v) => ({ name: v.name, value: v.value })) : [];
}

export interface TrustedKeysEdit {
  target: string;
  /** The TSE policy's state in the target before the edit. */
  stateBefore: PolicyState;
  /** True when the edit enabled a TSE policy that was Disabled or Not Configured. */
  enabledPolicy: boolean;
  /** The key ids trusted in the target after the edit. */
  trustedKeys: string[];
  changed: boolean;
}

/**
 * Adds public keys to the TSE policy's trusted keys in one file or GPO, enabling the policy
 * when it is not. An Enabled policy keeps its groups, privileges, integrity level, session
 * cap and other keys; a Disabled or Not Configured one is enabled with the defaults.
 */
export async function addTrustedKeys(target: PolicyTarget, keys: readonly TrustedKeyEntry[]): Promise<TrustedKeysEdit> {
  let edit: Omit<TrustedKeysEdit, 'target'> | undefined;
  await target.update(TSE_POLICY, (current) => {
    const enabled = current.state === 'enabled';
    const trusted = enabled ? namedList(current.values.TrustedKeys) : [];
    let added = 0;
    for (const key of keys) {
      const same = trusted.find((t) => t.name.toLowerCase() === key.kid.toLowerCase());
      if (same) {
        if (same.value !== key.publicKey) {
          throw new AscendError('ASC_KEY_INVALID', `${target.description} trusts another public key under key id ${same.name}; nothing was written`, {
            hint: 'remove it first with "ascend keys unpublish"',
          });
        }
        continue;
      }
      trusted.push({ name: key.kid, value: key.publicKey });
      added++;
    }
    const changed = !(enabled && added === 0);
    edit = { stateBefore: current.state, trustedKeys: trusted.map((t) => t.name), enabledPolicy: changed && !enabled, changed };
    return changed ? { ...(enabled ? current.values : {}), TrustedKeys: trusted } : undefined;
  });
  return { target: target.description, ...edit! };
}

/**
 * Removes key ids from the TSE policy's trusted keys in one file or GPO; the policy stays
 * Enabled with its other values (an empty list trusts no key there).
 */
export async function removeTrustedKeys(target: PolicyTarget, kids: readonly string[]): Promise<TrustedKeysEdit> {
  let edit: Omit<TrustedKeysEdit, 'target'> | undefined;
  await target.update(TSE_POLICY, (current) => {
    if (current.state !== 'enabled') {
      throw new AscendError('ASC_KEY_NOT_FOUND', `${target.description}: the TSE policy is ${current.state}, so it trusts no key to remove`);
    }
    const trusted = namedList(current.values.TrustedKeys);
    const wanted = new Set(kids.map((k) => k.toLowerCase()));
    const missing = kids.filter((k) => !trusted.some((t) => t.name.toLowerCase() === k.toLowerCase()));
    if (missing.length) {
      throw new AscendError('ASC_KEY_NOT_FOUND', `${target.description} does not trust ${missing.join(', ')}`, {
        hint: trusted.length ? `it trusts: ${trusted.map((t) => t.name).join(', ')}` : 'it trusts no key',
      });
    }
    const kept = trusted.filter((t) => !wanted.has(t.name.toLowerCase()));
    edit = { stateBefore: current.state, enabledPolicy: false, trustedKeys: kept.map((t) => t.name), changed: true };
    return { ...current.values, TrustedKeys: kept };
  });
  return { target: target.description, ...edit! };
}

export interface RevokeEdit {
  target: string;
  id: string;
  note: string;
  /** The RevokedPasscodes policy's state in the target before the edit. */
  stateBefore: PolicyState;
  /** Every passcode id revoked in the target after the edit. */
  revoked: string[];
  /** False when the target revoked the id already (nothing written). */
  changed: boolean;
}

/**
 * Adds a passcode id to the additive revoked list of one file or GPO, keeping the ids
 * already there. (A Disabled RevokedPasscodes policy clears the lists of lower GPOs; once
 * it holds this id it is Enabled, so those lists count again: more is revoked, never less.)
 */
export async function revokePasscode(target: PolicyTarget, id: string, note: string): Promise<RevokeEdit> {
  if (id.length === 0 || id.startsWith('**') || /[\u0000-\u001f\u007f]/.test(id)) throw new AscendError('ASC_USAGE', `${JSON.stringify(id)} is not a passcode id`);
  let edit: Omit<RevokeEdit, 'target'> | undefined;
  await target.update(REVOKED_POLICY, (current) => {
    const list = current.state === 'enabled' ? namedList(current.values.Passcodes) : [];
    const already = list.some((v) => v.name.toLowerCase() === id.toLowerCase());
    if (!already) list.push({ name: id, value: note });
    edit = { id, note, stateBefore: current.state, revoked: list.map((v) => v.name), changed: !already };
    return already ? undefined : { Passcodes: list };
  });
  return { target: target.description, ...edit! };
}
