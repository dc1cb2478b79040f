import { promises as fs } from 'node:fs';
import { AscendError } from '../errors.js';
import { ASCEND_CATALOG, type ElementValue, type ElementValues, type NamedValue, type PolicyState } from '../catalog/index.js';
import { effectiveFromFiles, setPolicyInFile } from '../local-policy/index.js';
import type { EffectivePolicy } from '../policy/index.js';
import { GpoAdmin } from '../../gpo-extension/admin.js';
import type { DomainConnection } from '../../gpo-extension/connection.js';
import type { TrustedKeyEntry } from './trusted-keys.js';

export const TSE_POLICY = 'TemporarySessionElevation';
export const REVOKED_POLICY = 'RevokedPasscodes';
export const OFFLINE_POLICY = 'OfflinePasscodes';

/** Where a policy edit goes: a local Registry.pol, or a GPO in the domain. */
export interface PolicyTarget {
  /** `file Registry.pol` or `GPO "name"`, for messages. */
  readonly description: string;
  /**
   * One read-modify-write of a policy as this file / GPO sets it (not the effective policy
   * of a machine): `decide` gets the current setting and returns the values to set the
   * policy Enabled with, or undefined to write nothing. On a GPO a concurrent edit makes
   * the call fail with ASC_GPO_CONFLICT rather than be lost.
   */
  update(policyId: string, decide: (current: EffectivePolicy) => ElementValues | undefined): Promise<void>;
}

export function fileTarget(file: string): PolicyTarget {
  return {
    description: `file ${file}`,
    async update(policyId, decide) {
      const exists = await fs.stat(file).then(
        () => true,
        (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? false : Promise.reject(new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot read (${e.code ?? String(e)})`))),
      );
      const policies = exists ? await effectiveFromFiles(ASCEND_CATALOG, [file]) : [];
      const values = decide(policies.find((p) => p.id === policyId) ?? { id: policyId, state: 'not-configured', values: {}, source: null });
      if (values) await setPolicyInFile(ASCEND_CATALOG, file, policyId, 'enabled', values);
    },
  };
}

/** A GPO, edited through GpoAdmin.updatePolicy so the read and the write are one edit. */
export function gpoTarget(connection: DomainConnection, gpo: string): PolicyTarget {
  const admin = new GpoAdmin(connection.dir, connection.store, ASCEND_CATALOG);
  let name = gpo;
  return {
    get description() {
      return `GPO "${name}"`;
    },
    async update(policyId, decide) {
      const result = await admin.updatePolicy(gpo, policyId, (current) => {
        const values = decide(current);
        return values ? { state: 'enabled', values } : undefined;
      });
      name = result.gpo.displayName;
    },
  };
}

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
