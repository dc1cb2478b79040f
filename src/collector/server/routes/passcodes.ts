/**
 * The domain-wide passcode registry: passcodes the console issued (with their use limits),
 * redemptions counted across every agent (an online agent's redemption is refused once the
 * count is spent), and revocations, which agents fetch.
 */
import { type Static, Type } from '@sinclair/typebox';
import * as webhookEvents from '../../webhooks/events.js';
import type { FastifyInstance } from 'fastify';
import type { Agent, PasscodeRecord, Revocation } from '../../storage/index.js';
import { actor, fail, granted, iso, parseTime, type RouteContext } from '../context.js';
import type { RevocationsAnswer, RevocationView } from '../../../collector-api/views.js';
import { ListQuery, type ListQueryType, PageQueryFields, pageOf, pageRequest } from '../list-page.js';
import { PasscodeBody, PasscodeIdParams, ReasonBody, SinceQuery } from '../schemas.js';

function passcodeView(p: PasscodeRecord) {
  return {
    id: p.id,
    title: p.title,
    maxUses: p.maxUses,
    uses: p.uses,
    usesLeft: p.maxUses === null ? null : Math.max(0, p.maxUses - p.uses),
    issuedAt: iso(p.issuedAt),
    revokedAt: iso(p.revokedAt),
    computers: p.computers,
  };
}

const RevocationListQuery = Type.Object({ ...SinceQuery.properties, ...PageQueryFields }, { additionalProperties: false });

function revocationView(r: Revocation): RevocationView {
  return { kind: r.kind, subject: r.subject, reason: r.reason, revokedAt: iso(r.revokedAt) };
}

export function registerPasscodeRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { store } = ctx;

  app.post<{ Body: Static<typeof PasscodeBody> }>(
    '/api/v1/passcodes',
    { schema: { body: PasscodeBody }, onRequest: ctx.requireRole('admin') },
    async (req, reply) => {
      const p = await store.registerPasscode({ id: req.body.id, title: req.body.title, maxUses: req.body.maxUses ?? null, computers: req.body.computers });
      req.log.info({ passcodeId: p.id, maxUses: p.maxUses, by: actor(req) }, 'passcode registered');
      return reply.code(201).send({ passcode: passcodeView(p) });
    },
  );

  // Paged (issue 18): (issued at, id), the cursor signed and bound to this list.
  app.get<{ Querystring: ListQueryType }>('/api/v1/passcodes', { schema: { querystring: ListQuery }, onRequest: ctx.requireRole('viewer') }, async (req, reply) => {
    const page = pageRequest(ctx, 'passcodes', req.query);
    const rows = await store.listPasscodes({ limit: page.limit + 1, ...(page.after === undefined ? {} : { after: page.after }) });
    const { page: passcodes, nextCursor } = pageOf(ctx, 'passcodes', rows, page, (p) => ({ time: p.issuedAt, a: p.id, b: '' }), { reply, path: '/api/v1/passcodes', query: { ...req.query } });
    return { passcodes: passcodes.map(passcodeView), nextCursor };
  });

  app.get<{ Params: Static<typeof PasscodeIdParams> }>(
    '/api/v1/passcodes/:id',
    { schema: { params: PasscodeIdParams }, onRequest: ctx.requireRole('viewer') },
    async (req) => {
      const p = await store.getPasscode(req.params.id);
      if (p === undefined) throw fail('ASC_COLLECTOR_NOT_FOUND', `no passcode ${req.params.id} in the registry`);
      return { passcode: passcodeView(p) };
    },
  );

  app.post<{ Params: Static<typeof PasscodeIdParams>; Body: Static<typeof ReasonBody> }>(
    '/api/v1/passcodes/:id/revoke',
    { schema: { params: PasscodeIdParams, body: ReasonBody }, onRequest: ctx.requireRole('admin') },
    async (req) => {
      // Revoking a passcode the registry never saw (issued offline) still lists it for agents.
      // The revocation's webhook delivery commits with it.
      await store.revokePasscode(req.params.id, req.body.reason, undefined, () => [webhookEvents.passcodeRevoked(req.params.id, req.body.reason, actor(req))]);
      req.log.info({ passcodeId: req.params.id, by: actor(req) }, 'passcode revoked');
      ctx.webhooks.poke();
      const p = await store.getPasscode(req.params.id);
      return { id: req.params.id, revoked: true, passcode: p === undefined ? null : passcodeView(p) };
    },
  );

  const listRevocations = async (since: string | undefined): Promise<Pick<RevocationsAnswer, 'revocations'>> => ({
    revocations: (await store.listRevocations(parseTime(since, 'query.since'))).map(revocationView),
  });
  // The people's view is paged (issue 18): (revoked at, kind, subject), the cursor bound to `since`.
  app.get<{ Querystring: Static<typeof RevocationListQuery> }>(
    '/api/v1/revocations',
    { schema: { querystring: RevocationListQuery }, onRequest: ctx.requireRole('viewer') },
    async (req, reply) => {
      const since = parseTime(req.query.since, 'query.since');
      const scope = `revocations:${since ?? ''}`;
      const page = pageRequest(ctx, scope, req.query);
      const rows = await store.listRevocations(since, { limit: page.limit + 1, ...(page.after === undefined ? {} : { after: page.after }) });
      const { page: list, nextCursor } = pageOf(ctx, scope, rows, page, (r) => ({ time: r.revokedAt, a: r.kind, b: r.subject }), { reply, path: '/api/v1/revocations', query: { ...req.query } });
      return { revocations: list.map(revocationView), nextCursor };
    },
  );
  app.get<{ Querystring: Static<typeof SinceQuery> }>(
    '/api/v1/agent/revocations',
    { schema: { querystring: SinceQuery }, onRequest: ctx.agentAuth },
    async (req) => granted(req, ctx.identity, 'revocations', { since: req.query.since ?? null, ...(await listRevocations(req.query.since)) }),
  );

  app.post<{ Params: Static<typeof PasscodeIdParams> }>(
    '/api/v1/agent/passcodes/:id/redeem',
    { schema: { params: PasscodeIdParams }, onRequest: ctx.agentAuth },
    async (req) => {
      const agent = req.agent as Agent;
      const r = await store.recordRedemption(req.params.id, agent.id);
      req.log.info({ passcodeId: req.params.id, agentId: agent.id, ok: r.ok, ...(r.ok ? { uses: r.uses } : { reason: r.reason }) }, 'passcode redemption');
      if (!r.ok) return granted(req, ctx.identity, 'passcode-redeem', { passcodeId: req.params.id, ok: false, reason: r.reason });
      const p = await store.getPasscode(req.params.id);
      return granted(req, ctx.identity, 'passcode-redeem', { passcodeId: req.params.id, ok: true, uses: r.uses, maxUses: p?.maxUses ?? null });
    },
  );
}
