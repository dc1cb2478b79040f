/**
 * The agent's calls to the collector besides event upload (spool/uploader.ts): enrollment,
 * approvals, MFA checks, domain-wide passcode redemption and revocations.
 *
 * The collector is authenticated twice (issue 13). The channel: https verified against the
 * certificate authority pinned at enrollment (the enrollment token carries its fingerprint),
 * never the system's CAs, never plain http unless the agent runs with --insecure-dev. The
 * decisions: every answer that grants something is read from a grant signed with the
 * collector's Ed25519 key (learned at enrollment over the pinned channel) and bound to this
 * agent and to a fresh nonce sent with the request; the unsigned body is never acted on.
 *
 * A network failure is ASC_COLLECTOR_UNREACHABLE, an impostor or an unbound answer
 * ASC_COLLECTOR_UNTRUSTED, a refusal carries the collector's own error code.
 */
import type { KeyObject } from 'node:crypto';
import { AscendError } from '../../src/errors.js';
import { type GrantKind, grantKeyOf, newNonce, NONCE_HEADER, verifyGrant } from '../../src/collector-api/grant.js';
import { pinOfCertificate, splitEnrollmentToken } from '../../src/collector-api/pin.js';
import { fetchPinnedAnchor, jsonOf, refusalOf, send, type Trust } from '../../src/collector-api/transport.js';
import type { ApprovalAnswer, ApprovalView, EnrollAnswer, GrantAnswers, MfaVerifyAnswer, RedeemAnswer, RevocationView } from '../../src/collector-api/views.js';

// The answers are the contract's (src/collector-api/views.ts); each is checked here before it is acted on.
export type { ApprovalView, RedeemAnswer, RevocationView };

/** What the agent keeps of its enrollment (state folder, collector.json, 0600). */
export interface Enrollment {
  url: string;
  agentId: string;
  credential: string;
  computer: string;
  /** The pinned certificate authority (PEM); null only for an --insecure-dev enrollment. */
  anchor: string | null;
  /** The collector's grant key (SPKI PEM). */
  grantKey: string;
  /** Enrolled over plain http or unverified https (--insecure-dev). */
  insecure: boolean;
}

/** Reads collector.json; null (with the reason) when it is not a complete, pinned enrollment. */
export function enrollmentFrom(saved: unknown): { enrollment: Enrollment } | { why: string } {
  const e = saved as Partial<Enrollment> | null;
  if (e === null || typeof e !== 'object' || typeof e.url !== 'string' || typeof e.agentId !== 'string' || typeof e.credential !== 'string' || typeof e.computer !== 'string') {
    return { why: 'it is not a complete enrollment' };
  }
  if (typeof e.grantKey !== 'string' || (typeof e.anchor !== 'string' && e.insecure !== true)) {
    return { why: 'it was made before the agent pinned its collector (no certificate authority or grant key); enroll again with a new token' };
  }
  return { enrollment: { url: e.url, agentId: e.agentId, credential: e.credential, computer: e.computer, anchor: typeof e.anchor === 'string' ? e.anchor : null, grantKey: e.grantKey, insecure: e.insecure === true } };
}

/** Checks a collector URL: https, or plain http only in the insecure development mode. */
export function checkCollectorUrl(raw: string, insecureDev = false): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AscendError('ASC_AGENT_CONFIG', `the collector URL "${raw}" is not a URL`, { hint: 'give https://HOST:8003' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AscendError('ASC_AGENT_CONFIG', `the collector URL "${raw}" is not https`);
  if (url.protocol === 'http:' && !insecureDev) {
    throw new AscendError('ASC_AGENT_CONFIG', `the collector URL "${raw}" is plain http: anyone who can listen on that port could pose as the collector`, { hint: 'use https:// (plain http only with --insecure-dev, for development)' });
  }
  if (url.username !== '' || url.password !== '') throw new AscendError('ASC_AGENT_CONFIG', 'the collector URL must not carry a user name or password');
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

export function trustOf(e: Pick<Enrollment, 'anchor' | 'insecure'>): Trust {
  if (e.anchor !== null) return { kind: 'ca', ca: e.anchor };
  if (e.insecure) return { kind: 'insecure' };
  throw new AscendError('ASC_COLLECTOR_UNTRUSTED', 'no certificate authority is pinned for the collector; enroll again');
}

async function call<T>(base: URL, trust: Trust, credential: string | undefined, method: 'GET' | 'POST', route: string, body?: unknown, timeoutMs = 30_000, nonce?: string): Promise<T> {
  const url = new URL(route, base);
  const res = await send(url, {
    method,
    trust,
    timeoutMs,
    maxBytes: 1024 * 1024,
    headers: {
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
      ...(nonce ? { [NONCE_HEADER]: nonce } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = jsonOf(res.body);
  if (res.status < 200 || res.status > 299) throw refusalOf(res.status, json, 'the collector') ?? new AscendError('ASC_COLLECTOR_UNREACHABLE', `the collector ${url.origin} answered HTTP ${res.status} without JSON`);
  if (json === undefined) throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `the collector ${url.origin} answered HTTP ${res.status} without JSON`);
  return json as T;
}

export interface EnrollOptions {
  /** A CA the admin gave (--collector-ca, PEM): trusted instead of the anchor the collector offers. */
  ca?: string;
  /** --insecure-dev: plain http, or https without a pin. */
  insecureDev?: boolean;
}

export class AgentCollectorClient {
  readonly url: URL;
  readonly trust: Trust;
  private readonly grantKey: KeyObject;

  constructor(private readonly enrollment: Enrollment) {
    this.url = checkCollectorUrl(enrollment.url, enrollment.insecure);
    this.trust = trustOf(enrollment);
    this.grantKey = grantKeyOf(enrollment.grantKey);
  }

  get agentId(): string {
    return this.enrollment.agentId;
  }

  /**
   * Enrolls: pins the collector's certificate authority (the one the token names by its
   * fingerprint, or the admin's --collector-ca), then sends the token over that verified
   * channel and keeps the grant key the collector answers with.
   */
  static async enroll(collectorUrl: string, enrollmentToken: string, computer: string, opts: EnrollOptions = {}): Promise<Enrollment> {
    const url = checkCollectorUrl(collectorUrl, opts.insecureDev === true);
    const failed = (e: unknown): AscendError => {
      const message = e instanceof Error ? e.message : String(e);
      const code = e instanceof AscendError && e.code === 'ASC_COLLECTOR_UNTRUSTED' ? 'ASC_COLLECTOR_UNTRUSTED' : 'ASC_AGENT_ENROLL_FAILED';
      return new AscendError(code, `enrollment with ${url.origin} failed: ${message}`, { hint: 'create a new token with `ascend server enroll-token create` on that collector and pass it with --enroll-token-file' });
    };
    let secret: string;
    let pin: string | null;
    try {
      ({ secret, pin } = splitEnrollmentToken(enrollmentToken));
    } catch (e) {
      throw failed(e);
    }
    let anchor: string | null = null;
    try {
      if (opts.ca !== undefined) {
        anchor = opts.ca;
        if (pin !== null && pinOfCertificate(anchor) !== pin) {
          throw new AscendError('ASC_COLLECTOR_UNTRUSTED', 'the --collector-ca certificate is not the certificate authority whose fingerprint the enrollment token carries');
        }
      } else if (pin !== null) {
        if (url.protocol === 'https:' || !opts.insecureDev) anchor = await fetchPinnedAnchor(url, pin);
      } else if (!opts.insecureDev) {
        throw new AscendError('ASC_COLLECTOR_UNTRUSTED', 'the enrollment token carries no collector fingerprint, so the collector cannot be verified', {
          hint: 'make the token with `ascend server enroll-token create` (it carries the fingerprint), or give the collector CA with --collector-ca FILE',
        });
      }
      const trust: Trust = anchor !== null ? { kind: 'ca', ca: anchor } : { kind: 'insecure' };
      const answer = await call<Unchecked<EnrollAnswer>>(url, trust, undefined, 'POST', 'api/v1/enroll', { enrollmentToken: secret, computer });
      if (typeof answer.agentId !== 'string' || typeof answer.credential !== 'string' || typeof answer.grantKey !== 'string') {
        throw new AscendError('ASC_COLLECTOR_UNTRUSTED', 'the collector answered the enrollment without an agent id, credential and grant key');
      }
      grantKeyOf(answer.grantKey);
      return { url: url.href, agentId: answer.agentId, credential: answer.credential, computer, anchor, grantKey: answer.grantKey, insecure: anchor === null };
    } catch (e) {
      throw failed(e);
    }
  }

  /** A call whose answer grants something: sent with a fresh nonce, acted on only as the signed grant says. */
  private async granted<K extends GrantKind>(kind: K, method: 'GET' | 'POST', route: string, body?: unknown, timeoutMs?: number): Promise<Unchecked<GrantAnswers[K]> | null> {
    const nonce = newNonce();
    const answer = await call<{ grant?: unknown }>(this.url, this.trust, this.enrollment.credential, method, route, body, timeoutMs, nonce);
    return verifyGrant(this.grantKey, answer.grant, { kind, agentId: this.enrollment.agentId, nonce }) as Unchecked<GrantAnswers[K]> | null;
  }

  async fileApproval(input: { requestId: string; user: string; processPath: string; args?: string; justification?: string; rule?: string }): Promise<ApprovalView> {
    return (await call<ApprovalAnswer>(this.url, this.trust, this.enrollment.credential, 'POST', 'api/v1/agent/approvals', input)).request;
  }

  /** Long-polls up to waitSeconds (≤ 60) for a decision; the answer is the signed one. */
  async pollApproval(requestId: string, waitSeconds: number): Promise<ApprovalView> {
    const wait = Math.max(0, Math.min(60, Math.floor(waitSeconds)));
    const route = `api/v1/agent/approvals/${encodeURIComponent(requestId)}${wait > 0 ? `?wait=${wait}` : ''}`;
    return approvalOf(await this.granted('approval', 'GET', route, undefined, (wait + 30) * 1000), requestId);
  }

  /** Marks an approval used: it runs once. Refused when used already or past its time limit. */
  async useApproval(requestId: string): Promise<ApprovalView> {
    return approvalOf(await this.granted('approval-use', 'POST', `api/v1/agent/approvals/${encodeURIComponent(requestId)}/use`), requestId);
  }

  async verifyMfa(user: string, code: string): Promise<Pick<MfaVerifyAnswer, 'verified' | 'reason'>> {
    const a = await this.granted('mfa-verify', 'POST', 'api/v1/agent/mfa/verify', { user, code });
    if (a === null || typeof a !== 'object' || a.user !== user || typeof a.verified !== 'boolean') throw untrusted('its MFA answer is for another user or malformed');
    return { verified: a.verified, ...(typeof a.reason === 'string' ? { reason: a.reason } : {}) };
  }

  async redeemPasscode(passcodeId: string): Promise<RedeemAnswer> {
    const a = await this.granted('passcode-redeem', 'POST', `api/v1/agent/passcodes/${encodeURIComponent(passcodeId)}/redeem`, undefined, 10_000);
    if (a === null || typeof a !== 'object' || a.passcodeId !== passcodeId || typeof a.ok !== 'boolean') throw untrusted('its redemption answer is for another passcode or malformed');
    if (a.ok) {
      if (typeof a.uses !== 'number' || !(a.maxUses === null || typeof a.maxUses === 'number')) throw untrusted('its redemption answer is malformed');
      return { ok: true, uses: a.uses, maxUses: a.maxUses };
    }
    const reason = a.reason === 'spent' || a.reason === 'revoked' || a.reason === 'wrong-computer' ? a.reason : 'unknown';
    return { ok: false, reason };
  }

  async revocations(since?: string): Promise<RevocationView[]> {
    const route = `api/v1/agent/revocations${since ? `?since=${encodeURIComponent(since)}` : ''}`;
    const a = await this.granted('revocations', 'GET', route, undefined, 10_000);
    if (a === null || typeof a !== 'object' || a.since !== (since ?? null) || !Array.isArray(a.revocations)) throw untrusted('its revocation list answers another request or is malformed');
    return a.revocations.filter((r): r is RevocationView => r !== null && typeof r === 'object' && typeof (r as RevocationView).subject === 'string' && typeof (r as RevocationView).kind === 'string');
  }
}

function untrusted(why: string): AscendError {
  return new AscendError('ASC_COLLECTOR_UNTRUSTED', `the collector's answer cannot be trusted: ${why}`);
}

/** An answer as it arrives: the contract's field names (of every variant), no value trusted until checked. */
type Unchecked<T> = { [K in T extends unknown ? keyof T : never]?: unknown };

function approvalOf(answer: Unchecked<ApprovalAnswer> | null, requestId: string): ApprovalView {
  const r = answer?.request as Partial<ApprovalView> | null | undefined;
  if (r === undefined || r === null || typeof r !== 'object' || r.requestId !== requestId || typeof r.status !== 'string' || typeof r.user !== 'string' || typeof r.processPath !== 'string') {
    throw untrusted('its approval answer is for another request or malformed');
  }
  return r as ApprovalView;
}
