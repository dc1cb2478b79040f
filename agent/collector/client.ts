/**
 * The agent's calls to the collector besides event upload (spool/uploader.ts): enrollment,
 * approvals, MFA checks, domain-wide passcode redemption and revocations. Every call carries
 * the agent's credential; a network failure is ASC_COLLECTOR_UNREACHABLE, a refusal carries
 * the collector's own error code.
 */
import { AscendError, ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { isLoopback } from '../../src/collector/server/client.js';

export interface ApprovalView {
  requestId: string;
  user: string;
  processPath: string;
  args: string | null;
  status: 'pending' | 'approved' | 'denied' | 'expired';
  decidedBy: string | null;
  timeLimitSeconds: number | null;
  validUntil: string | null;
  usedAt: string | null;
}

export type RedeemAnswer = { ok: true; uses: number; maxUses: number | null } | { ok: false; reason: 'spent' | 'revoked' | 'unknown' };

export interface RevocationView {
  kind: 'passcode' | 'agent' | string;
  subject: string;
  revokedAt: string;
}

/** Checks a collector URL: http(s) only, and plain http only to this machine. */
export function checkCollectorUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AscendError('ASC_AGENT_CONFIG', `the collector URL "${raw}" is not a URL`, { hint: 'give https://HOST:8003' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AscendError('ASC_AGENT_CONFIG', `the collector URL "${raw}" is not http(s)`);
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new AscendError('ASC_AGENT_CONFIG', `the collector URL "${raw}" is plain http to another machine; the agent's credential would cross the network in clear`, { hint: 'use https://' });
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

async function call<T>(base: URL, credential: string | undefined, method: 'GET' | 'POST', route: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  const url = new URL(route, base);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { ...(credential ? { authorization: `Bearer ${credential}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const cause = (e as Error & { cause?: Error }).cause;
    throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `cannot reach the collector ${url.origin}: ${cause?.message ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `the collector ${url.origin} answered HTTP ${res.status} without JSON`);
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } }).error;
    const code: ErrorCode = err?.code !== undefined && err.code in ERROR_CODES ? (err.code as ErrorCode) : 'ASC_COLLECTOR_UNREACHABLE';
    throw new AscendError(code, `the collector refused (HTTP ${res.status}): ${err?.message ?? 'no message'}`);
  }
  return json as T;
}

export class AgentCollectorClient {
  readonly url: URL;

  constructor(
    collectorUrl: string,
    private readonly credential: string,
  ) {
    this.url = checkCollectorUrl(collectorUrl);
  }

  static async enroll(collectorUrl: string, enrollmentToken: string, computer: string): Promise<{ agentId: string; credential: string }> {
    const url = checkCollectorUrl(collectorUrl);
    try {
      return await call<{ agentId: string; credential: string }>(url, undefined, 'POST', 'api/v1/enroll', { enrollmentToken, computer });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new AscendError('ASC_AGENT_ENROLL_FAILED', `enrollment with ${url.origin} failed: ${message}`, { hint: 'create a new token with `ascend server enroll-token create` and pass it with --enroll-token-file' });
    }
  }

  async fileApproval(input: { requestId: string; user: string; processPath: string; args?: string; justification?: string }): Promise<ApprovalView> {
    return (await call<{ request: ApprovalView }>(this.url, this.credential, 'POST', 'api/v1/agent/approvals', input)).request;
  }

  /** Long-polls up to waitSeconds (≤ 60) for a decision. */
  async pollApproval(requestId: string, waitSeconds: number): Promise<ApprovalView> {
    const wait = Math.max(0, Math.min(60, Math.floor(waitSeconds)));
    const route = `api/v1/agent/approvals/${encodeURIComponent(requestId)}${wait > 0 ? `?wait=${wait}` : ''}`;
    return (await call<{ request: ApprovalView }>(this.url, this.credential, 'GET', route, undefined, (wait + 30) * 1000)).request;
  }

  /** Marks an approval used: it runs once. Refused when used already or past its time limit. */
  async useApproval(requestId: string): Promise<ApprovalView> {
    return (await call<{ request: ApprovalView }>(this.url, this.credential, 'POST', `api/v1/agent/approvals/${encodeURIComponent(requestId)}/use`)).request;
  }

  async verifyMfa(user: string, code: string): Promise<{ verified: boolean; reason?: string }> {
    return call<{ verified: boolean; reason?: string }>(this.url, this.credential, 'POST', 'api/v1/agent/mfa/verify', { user, code });
  }

  async redeemPasscode(passcodeId: string): Promise<RedeemAnswer> {
    return call<RedeemAnswer>(this.url, this.credential, 'POST', `api/v1/agent/passcodes/${encodeURIComponent(passcodeId)}/redeem`, undefined, 10_000);
  }

  async revocations(since?: string): Promise<RevocationView[]> {
    const route = `api/v1/agent/revocations${since ? `?since=${encodeURIComponent(since)}` : ''}`;
    return (await call<{ revocations: RevocationView[] }>(this.url, this.credential, 'GET', route, undefined, 10_000)).revocations;
  }
}
