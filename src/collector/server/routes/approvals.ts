/**
 * Approval requests. An agent files a request for one elevation and polls (or long-polls)
 * for the decision; approvers list, approve (optionally for a limited time) or deny. The
 * agent's routes are bound to (its own agent id, its request id): a decision can not be read
 * or used by another agent, and an approval runs once. Pending requests expire (default 4 h).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Agent, ApiToken, ApprovalRequest } from '../../storage/index.js';
import { actor, fail, granted, iso, type RouteContext } from '../context.js';
import { assertNotSelfApproval } from '../self-approval.js';
import * as webhookEvents from '../../webhooks/events.js';
import type { ApprovalView } from '../../../collector-api/views.js';
import { ApprovalListQuery, ApprovalPollQuery, ApprovalRequestBody, ApprovalWatchQuery, ApproveBody, DenyBody, IdParams, RequestIdParams } from '../schemas.js';
import { watchApprovals } from './approval-watch.js';
import { pageOf, pageRequest } from '../list-page.js';

/** What an agent sees of its own request. */
function agentView(r: ApprovalRequest, ttlMs: number): ApprovalView {
  const validUntil =
    r.status === 'pending' ? r.createdAt + ttlMs : r.status === 'approved' && r.timeLimitSeconds !== null && r.decidedAt !== null ? r.decidedAt + r.timeLimitSeconds * 1000 : null;
  return {
    requestId: r.requestId,
    user: r.user,
    processPath: r.processPath,
    args: r.args,
    status: r.status,
    createdAt: iso(r.createdAt),
    decidedAt: iso(r.decidedAt),
    decidedBy: r.decidedBy,
    timeLimitSeconds: r.timeLimitSeconds,
    validUntil: iso(validUntil),
    usedAt: iso(r.usedAt),
    reason: r.reason,
  };
}

/** What an approver sees. */
export function approverView(r: ApprovalRequest, ttlMs: number) {
  return {
    id: r.id,
    agentId: r.agentId,
    requestId: r.requestId,
    computer: r.computer,
    user: r.user,
    processPath: r.processPath,
    args: r.args,
    justification: r.justification,
    status: r.status,
    createdAt: iso(r.createdAt),
    expiresAt: r.status === 'pending' ? iso(r.createdAt + ttlMs) : null,
    decidedAt: iso(r.decidedAt),
    decidedBy: r.decidedBy,
    timeLimitSeconds: r.timeLimitSeconds,
    usedAt: iso(r.usedAt),
    rule: r.rule,
    reason: r.reason,
  };
}

/** The most approval requests one agent may have pending at once (a new one past it: 429 ASC_COLLECTOR_RATE_LIMITED). */
export const MAX_PENDING_PER_AGENT = 20;

export function registerApprovalRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { store, settings, approvalEvents } = ctx;
  const ttl = settings.approvalTtlMs;
  const expire = () => store.expirePendingApprovals(ttl);

  // Long-polls end when the server starts closing (preClose), so a graceful stop does not wait for them.
  const closing = ctx.closing;

  async function ownRequest(req: FastifyRequest, requestId: string): Promise<ApprovalRequest> {
    const agent = req.agent as Agent;
    const r = await store.getApprovalForAgent(agent.id, requestId);
    if (r === undefined) throw fail('ASC_COLLECTOR_NOT_FOUND', `no approval request ${requestId} from this agent`);
    if (r.status === 'pending' && r.createdAt + ttl <= Date.now()) {
      await expire();
      return (await store.getApprovalForAgent(agent.id, requestId)) as ApprovalRequest;
    }
    return r;
  }

  /** Waits until the request is decided (here or on another collector), the wait ends, or the client goes. */
  async function waitForDecision(req: FastifyRequest, requestId: string, waitMs: number): Promise<ApprovalRequest> {
    const deadline = Date.now() + waitMs;
    const gone = new AbortController();
    const onClose = () => gone.abort();
    req.raw.once('close', onClose);
    try {
      for (;;) {
        const r = await ownRequest(req, requestId);
        const left = deadline - Date.now();
        if (r.status !== 'pending' || left <= 0 || gone.signal.aborted || closing.signal.aborted) return r;
        const signal = AbortSignal.any([gone.signal, closing.signal]);
        const wake = new AbortController();
        const onDecided = () => wake.abort();
        approvalEvents.once(`decided:${r.id}`, onDecided);
        try {
          await sleep(Math.min(left, settings.pollIntervalMs), undefined, { signal: AbortSignal.any([signal, wake.signal]) }).catch(() => undefined);
        } finally {
          approvalEvents.off(`decided:${r.id}`, onDecided);
        }
      }
    } finally {
      req.raw.off('close', onClose);
    }
  }

  // --- the agent's side

  app.post<{ Body: Static<typeof ApprovalRequestBody> }>(
    '/api/v1/agent/approvals',
    { schema: { body: ApprovalRequestBody }, onRequest: ctx.agentAuth },
    async (req, reply) => {
      const agent = req.agent as Agent;
      const before = await store.getApprovalForAgent(agent.id, req.body.requestId);
      // Expired requests no longer count against the agent's cap.
      if (before === undefined) await expire();
      // A new request's webhook deliveries commit with it (none for a request filed again).
      const r = await store.createApprovalRequest(
        agent.id,
        {
          requestId: req.body.requestId,
          user: req.body.user,
          processPath: req.body.processPath,
          ...(req.body.args === undefined ? {} : { args: req.body.args }),
          ...(req.body.justification === undefined ? {} : { justification: req.body.justification }),
          ...(req.body.rule === undefined ? {} : { rule: req.body.rule }),
        },
        undefined,
        (made) => [webhookEvents.approvalRequested(made, ttl)],
        // One computer's requests cannot crowd out everyone else's on the approvers' page (or fill the database): counted in the insert's transaction.
        MAX_PENDING_PER_AGENT,
      );
      if (before !== undefined && (before.user !== req.body.user || before.processPath !== req.body.processPath || before.args !== (req.body.args ?? null))) {
        // A request id names one elevation: reusing it for another must not inherit its decision.
        throw fail('ASC_COLLECTOR_CONFLICT', `approval request ${req.body.requestId} was filed for another user, process or arguments`);
      }
      if (before === undefined) {
        req.log.info({ approvalId: r.id, agentId: agent.id, computer: agent.computer }, 'approval requested');
        approvalEvents.emit('changed');
        ctx.webhooks.poke();
      }
      // Filing the same request again (a retry) answers with the request as it is.
      return reply.code(before === undefined ? 201 : 200).send({ request: agentView(r, ttl) });
    },
  );

  app.get<{ Params: Static<typeof RequestIdParams>; Querystring: Static<typeof ApprovalPollQuery> }>(
    '/api/v1/agent/approvals/:requestId',
    { schema: { params: RequestIdParams, querystring: ApprovalPollQuery }, onRequest: ctx.agentAuth },
    async (req) => {
      const waitS = req.query.wait === undefined ? 0 : Number(req.query.wait);
      if (waitS * 1000 > settings.maxPollWaitMs) throw fail('ASC_COLLECTOR_BAD_INPUT', `query.wait must be at most ${settings.maxPollWaitMs / 1000} seconds`);
      const r = waitS > 0 ? await waitForDecision(req, req.params.requestId, waitS * 1000) : await ownRequest(req, req.params.requestId);
      return granted(req, ctx.identity, 'approval', { request: agentView(r, ttl) });
    },
  );

  app.post<{ Params: Static<typeof RequestIdParams> }>(
    '/api/v1/agent/approvals/:requestId/use',
    { schema: { params: RequestIdParams }, onRequest: ctx.agentAuth },
    async (req) => {
      const agent = req.agent as Agent;
      const r = await store.useApproval(agent.id, req.params.requestId);
      req.log.info({ approvalId: r.id, agentId: agent.id }, 'approved elevation used');
      // The approvals page shows when an approval was used ("Run at"): wake its watchers now, not at the next poll.
      approvalEvents.emit('changed');
      return granted(req, ctx.identity, 'approval-use', { request: agentView(r, ttl) });
    },
  );

  // --- the approvers' side

  app.get<{ Querystring: Static<typeof ApprovalListQuery> }>(
    '/api/v1/approvals',
    { schema: { querystring: ApprovalListQuery }, onRequest: ctx.requireRole('approver') },
    async (req, reply) => {
      await expire();
      const status = req.query.status ?? 'pending';
      // Paged (issue 18): one more than the page tells whether another follows; the cursor is bound to the status.
      const scope = `approval-list:${status}`;
      const want = pageRequest(ctx, scope, req.query);
      const list = await store.listApprovals({ status, limit: want.limit + 1, ...(want.after === undefined ? {} : { after: want.after }) });
      const { page, nextCursor } = pageOf(ctx, scope, list, want, (r) => ({ time: r.createdAt, a: r.id, b: '' }), { reply, path: '/api/v1/approvals', query: { ...req.query } });
      return { requests: page.map((r) => approverView(r, ttl)), nextCursor };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>('/api/v1/approvals/:id', { schema: { params: IdParams }, onRequest: ctx.requireRole('approver') }, async (req) => {
    await expire();
    const r = await store.getApprovalRequest(req.params.id);
    if (r === undefined) throw fail('ASC_COLLECTOR_NOT_FOUND', `no approval request ${req.params.id}`);
    return { request: approverView(r, ttl) };
  });

  // The approvals page: pending and recently decided requests, answered when they change (long-poll).
  app.get<{ Querystring: Static<typeof ApprovalWatchQuery> }>(
    '/api/v1/approvals/watch',
    { schema: { querystring: ApprovalWatchQuery }, onRequest: ctx.requireRole('approver') },
    async (req) => {
      const waitS = req.query.wait === undefined ? 0 : Number(req.query.wait);
      if (waitS * 1000 > settings.maxPollWaitMs) throw fail('ASC_COLLECTOR_BAD_INPUT', `query.wait must be at most ${settings.maxPollWaitMs / 1000} seconds`);
      const token = req.apiToken as ApiToken;
      const state = await watchApprovals(req, { store, ttlMs: ttl, pollIntervalMs: settings.pollIntervalMs, events: approvalEvents, closing: closing.signal, view: approverView }, req.query.since, waitS * 1000);
      return { ...state, me: { name: token.name, role: token.role, source: token.source } };
    },
  );

  async function decide(req: FastifyRequest, id: string, approve: boolean, timeLimitSeconds: number | undefined, reason: string | undefined) {
    // Expire first: a request past its lifetime can not be approved any more.
    await expire();
    if (approve) {
      // No self-approval: the request's user never changes once filed, so checking before deciding holds.
      const asked = await store.getApprovalRequest(id);
      if (asked === undefined) throw fail('ASC_COLLECTOR_NOT_FOUND', `no approval request ${id}`);
      const token = req.apiToken as ApiToken;
      try {
        assertNotSelfApproval(asked.user, { name: token.name, owners: token.owners });
      } catch (e) {
        req.log.warn({ approvalId: id, by: token.name }, 'self-approval refused');
        throw e;
      }
    }
    // The decision's webhook deliveries commit with it.
    const r = await store.decideApproval(id, { approve, by: actor(req), ...(timeLimitSeconds === undefined ? {} : { timeLimitSeconds }), ...(reason === undefined ? {} : { reason }) }, undefined, (d) => [webhookEvents.approvalDecided(d)]);
    approvalEvents.emit(`decided:${r.id}`);
    approvalEvents.emit('changed');
    req.log.info({ approvalId: r.id, status: r.status, by: actor(req) }, 'approval decided');
    ctx.webhooks.poke();
    return { request: approverView(r, ttl) };
  }

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ApproveBody> }>(
    '/api/v1/approvals/:id/approve',
    { schema: { params: IdParams, body: ApproveBody }, onRequest: ctx.requireRole('approver') },
    async (req) => decide(req, req.params.id, true, req.body.timeLimitSeconds, req.body.reason),
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof DenyBody> }>(
    '/api/v1/approvals/:id/deny',
    { schema: { params: IdParams, body: DenyBody }, onRequest: ctx.requireRole('approver') },
    async (req) => decide(req, req.params.id, false, undefined, req.body.reason),
  );
}
