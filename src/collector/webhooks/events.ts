/**
 * The webhook events, built from what the routes have in hand. Each has a key that names it
 * once (enqueuing it again, as a resent batch does, adds no delivery) and the data a receiver
 * gets. Pure: no I/O.
 */
import type { Agent, ApprovalRequest } from '../storage/index.js';
import type { WebhookEventInput } from './store.js';

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

function approvalData(r: ApprovalRequest): Record<string, unknown> {
  return {
    approvalId: r.id,
    agentId: r.agentId,
    requestId: r.requestId,
    computer: r.computer,
    user: r.user,
    processPath: r.processPath,
    args: r.args,
    justification: r.justification,
    createdAt: iso(r.createdAt),
  };
}

export function approvalRequested(r: ApprovalRequest, ttlMs: number): WebhookEventInput {
  return { key: `approval-requested:${r.id}`, type: 'approval.requested', occurredAt: r.createdAt, data: { ...approvalData(r), expiresAt: iso(r.createdAt + ttlMs) } };
}

export function approvalDecided(r: ApprovalRequest): WebhookEventInput {
  return {
    key: `approval-decided:${r.id}`,
    type: 'approval.decided',
    occurredAt: r.decidedAt ?? Date.now(),
    data: {
      ...approvalData(r),
      status: r.status,
      decidedBy: r.decidedBy,
      decidedAt: iso(r.decidedAt),
      timeLimitSeconds: r.timeLimitSeconds,
      reason: r.reason,
    },
  };
}

/**
 * One event per elevation-denied event of an agent's batch, keyed by (agent, event id), and
 * limited per agent (a hostile agent's flood becomes one summary a window).
 */
export function elevationsDenied(agent: Pick<Agent, 'id' | 'computer'>, events: readonly Record<string, unknown>[], now = Date.now()): WebhookEventInput[] {
  const out: WebhookEventInput[] = [];
  for (const e of events) {
    if (e.type !== 'elevation-denied' || typeof e.id !== 'string') continue;
    const t = typeof e.time === 'number' ? e.time : typeof e.time === 'string' ? Date.parse(e.time) : NaN;
    const pick = (k: string) => (typeof e[k] === 'string' ? e[k] : null);
    out.push({
      key: `elevation-denied:${agent.id}:${e.id}`,
      type: 'elevation.denied',
      limitKey: agent.id,
      occurredAt: Number.isFinite(t) ? t : now,
      data: { agentId: agent.id, eventId: e.id, computer: agent.computer, user: pick('user'), processPath: pick('processPath'), args: pick('args'), rule: pick('rule'), reason: pick('reason') },
    });
  }
  return out;
}

export function mfaLockout(user: string, computer: string, agentId: string | undefined, lockedUntil: number, now = Date.now()): WebhookEventInput {
  return {
    key: `mfa-lockout:${user.trim().toLowerCase()}:${computer}:${lockedUntil}`,
    type: 'mfa.lockout',
    occurredAt: now,
    data: { user, computer, agentId: agentId ?? null, lockedUntil: iso(lockedUntil) },
  };
}

export function passcodeRevoked(id: string, reason: string | undefined, by: string, now = Date.now()): WebhookEventInput {
  return { key: `passcode-revoked:${id}`, type: 'passcode.revoked', occurredAt: now, data: { passcodeId: id, reason: reason ?? null, by } };
}

export function agentRevoked(agent: Agent, reason: string | undefined, by: string): WebhookEventInput {
  return {
    key: `agent-revoked:${agent.id}`,
    type: 'agent.revoked',
    occurredAt: agent.revokedAt ?? Date.now(),
    data: { agentId: agent.id, computer: agent.computer, reason: reason ?? null, by },
  };
}
