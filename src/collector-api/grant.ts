/**
 * Signed grants (issue 13): every answer of the collector that grants something (an approval,
 * an MFA success, a passcode confirmation, the revocation list) is also sent as a grant, a
 * payload signed with the collector's Ed25519 key. The agent learned that key at enrollment
 * (over the pinned TLS) and acts only on what a grant says, after checking that it is for this
 * agent and answers this request (the nonce the agent sent with it). A proxy, a stale answer
 * or a forged one cannot grant anything.
 *
 * Wire form: base64url(payload JSON) "." base64url(signature); the signature covers
 * GRANT_CONTEXT followed by the first part, so the key signs nothing else by mistake.
 *
 * Part of the contract between agent, collector and CLI (DESIGN section 2): no I/O.
 */
import { createPublicKey, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { AscendError } from '../errors.js';

/** The request header that carries the agent's nonce; the answer carries `grant`. */
export const NONCE_HEADER = 'ascend-nonce';
const GRANT_CONTEXT = 'ascend-grant-v1.';
const NONCE_RE = /^[A-Za-z0-9_-]{22,64}$/;

export type GrantKind = 'mfa-verify' | 'approval' | 'approval-use' | 'passcode-redeem' | 'revocations';

export interface GrantPayload {
  v: 1;
  kind: GrantKind;
  agentId: string;
  nonce: string;
  /** Milliseconds since the epoch, by the collector's clock (for the log, not trusted for order). */
  issuedAt: number;
  /** What was decided: the route's answer, as the agent must act on it. */
  answer: unknown;
}

/** A fresh nonce for one request: 32 random bytes, base64url. */
export function newNonce(): string {
  return randomBytes(32).toString('base64url');
}

export function isNonce(text: unknown): text is string {
  return typeof text === 'string' && NONCE_RE.test(text);
}

export function signGrant(key: KeyObject, payload: Omit<GrantPayload, 'v'>): string {
  const body = Buffer.from(JSON.stringify({ v: 1, ...payload })).toString('base64url');
  const sig = sign(null, Buffer.from(GRANT_CONTEXT + body), key);
  return `${body}.${sig.toString('base64url')}`;
}

/** The collector's grant key as the agent keeps it: SPKI PEM. */
export function grantKeyOf(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new AscendError('ASC_COLLECTOR_UNTRUSTED', "the collector's grant key is not a readable public key");
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new AscendError('ASC_COLLECTOR_UNTRUSTED', "the collector's grant key is not an Ed25519 key");
  return key;
}

/**
 * Checks a grant and returns its answer. Throws ASC_COLLECTOR_UNTRUSTED when it is missing,
 * not signed by `key`, of another kind, for another agent, or for another request (nonce).
 */
export function verifyGrant(key: KeyObject, grant: unknown, expect: { kind: GrantKind; agentId: string; nonce: string }): unknown {
  const untrusted = (why: string) => new AscendError('ASC_COLLECTOR_UNTRUSTED', `the collector's answer cannot be trusted: ${why}`);
  if (typeof grant !== 'string') throw untrusted('it carries no signed grant');
  const parts = grant.split('.');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw untrusted('its grant is malformed');
  const [body, sig] = parts as [string, string];
  if (!verify(null, Buffer.from(GRANT_CONTEXT + body), key, Buffer.from(sig, 'base64url'))) throw untrusted('its grant is not signed by the pinned collector key');
  let payload: Partial<GrantPayload>;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<GrantPayload>;
  } catch {
    throw untrusted('its grant is not JSON');
  }
  if (payload === null || typeof payload !== 'object' || payload.v !== 1) throw untrusted('its grant is of an unknown version');
  if (payload.kind !== expect.kind) throw untrusted(`its grant is a ${String(payload.kind)}, not a ${expect.kind}`);
  if (payload.agentId !== expect.agentId) throw untrusted('its grant is for another agent');
  if (payload.nonce !== expect.nonce) throw untrusted('its grant answers another request (a replayed or stale answer)');
  return payload.answer;
}
