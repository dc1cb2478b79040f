/** Shared fixtures of the passcode tests: keys made once per run, terms, policies, contexts. */
import {
  buildTerms,
  generateSigningKeyPair,
  importSigningKey,
  policyForTrustedKeys,
  type CheckContext,
  type NewPasscodeInput,
  type PasscodePolicy,
  type PasscodeSigningKey,
  type PasscodeTerms,
  type TrustedKey,
} from '../../src/passcode/index.js';

export interface TestKey {
  signing: PasscodeSigningKey;
  trusted: TrustedKey;
  pem: string;
}

export function newKey(): TestKey {
  const pair = generateSigningKeyPair();
  return { signing: importSigningKey(pair.privateKeyPkcs8Pem), trusted: { kid: pair.kid, publicKey: pair.publicKey }, pem: pair.privateKeyPkcs8Pem };
}

/** Unix seconds of an ISO text. */
export const sec = (iso: string): number => Date.parse(iso) / 1000;
export const at = (seconds: number, ms = 0): Date => new Date(seconds * 1000 + ms);

export const ISSUED = new Date('2025-06-01T00:00:00Z');

export function terms(overrides: Partial<NewPasscodeInput> = {}): PasscodeTerms {
  return buildTerms({ title: 'Install the printer driver', issuer: 'CORP\\helpdesk', maxUses: 3, duration: '30m', now: ISSUED, id: 'pc-0001', ...overrides });
}

export function policy(key: TestKey | TestKey[], overrides: Partial<PasscodePolicy> = {}): PasscodePolicy {
  const keys = Array.isArray(key) ? key : [key];
  return { ...policyForTrustedKeys(keys.map((k) => k.trusted)), integrity: 'High', ...overrides };
}

export function context(p: PasscodePolicy, overrides: Partial<CheckContext> = {}): CheckContext {
  return { computer: 'WS-0042', user: 'CORP\\alice', at: new Date('2025-06-02T10:00:00Z'), utcOffsetMinutes: 0, usesSoFar: 0, policy: p, ...overrides };
}
