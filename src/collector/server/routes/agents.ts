/** Agents: enrollment, event ingestion, and the admin's list and revocation of agents. */
import type { Static } from '@sinclair/typebox';
import * as webhookEvents from '../../webhooks/events.js';
import type { FastifyInstance } from 'fastify';
import { isAscendError } from '../../../errors.js';
import type { Agent } from '../../storage/index.js';
import type { EventsAnswer } from '../../../collector-api/events.js';
import type { AnchorAnswer, EnrollAnswer } from '../../../collector-api/views.js';
import { joinEnrollmentToken, showPin, splitEnrollmentToken } from '../../../collector-api/pin.js';
import { actor, fail, iso, parseTime, type RouteContext } from '../context.js';
import { ListQuery, type ListQueryType, pageOf, pageRequest } from '../list-page.js';
import { EmptyQuery, EnrollBody, EnrollTokenBody, EventsBody, IdParams, ReasonBody } from '../schemas.js';

function agentView(a: Agent) {
  return { id: a.id, computer: a.computer, enrolledAt: iso(a.enrolledAt), revokedAt: iso(a.revokedAt), holdsName: a.revokedAt === null && a.bound !== false };
}

export function registerAgentRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { store } = ctx;

  app.post<{ Body: Static<typeof EnrollBody> }>('/api/v1/enroll', { schema: { body: EnrollBody } }, async (req, reply) => {
    // The token may carry the pin of the collector it was made by (SECRET.PIN): made by another, it is refused.
    let secret: string;
    try {
      const t = splitEnrollmentToken(req.body.enrollmentToken);
      if (t.pin !== null && t.pin !== ctx.identity.pin) throw fail('ASC_COLLECTOR_ENROLL_REFUSED', 'the enrollment token was made for a collector with another certificate authority');
      secret = t.secret;
    } catch (e) {
      if (isAscendError(e) && e.code === 'ASC_USAGE') throw fail('ASC_COLLECTOR_ENROLL_REFUSED', 'the enrollment token is unknown, expired or used up');
      throw e;
    }
    const { agent, credential } = await store.enrollAgent(secret, req.body.computer.trim());
    req.log.info({ agentId: agent.id, computer: agent.computer }, 'agent enrolled');
    // The agent pins the grant key from here on: it came over the TLS the token's pin verified.
    const answer: EnrollAnswer = { agentId: agent.id, computer: agent.computer, credential, grantKey: ctx.identity.grantPublicKey, fingerprint: ctx.identity.pin === null ? null : showPin(ctx.identity.pin) };
    return reply.code(201).send(answer);
  });

  // The certificate authority to pin. Public: an agent checks it against the pin its token carries.
  app.get('/api/v1/tls/anchor', { schema: { querystring: EmptyQuery } }, async (): Promise<AnchorAnswer> => {
    if (ctx.identity.anchor === null) throw fail('ASC_COLLECTOR_NOT_FOUND', 'this collector has no certificate authority to pin (it serves plain http)');
    return { anchor: ctx.identity.anchor, fingerprint: showPin(ctx.identity.pin as string) };
  });

  app.post<{ Body: Static<typeof EventsBody> }>('/api/v1/events', { schema: { body: EventsBody }, onRequest: ctx.agentAuth }, async (req): Promise<EventsAnswer> => {
    const agent = req.agent as Agent;
    const events = req.body.events;
    let stored: number;
    try {
      // Resolves only after the commit: the acknowledgement is durable.
      stored = await store.insertEvents(agent.id, events);
    } catch (e) {
      // Revoked between the check and the insert.
      if (isAscendError(e) && e.code === 'ASC_COLLECTOR_NOT_FOUND') throw fail('ASC_COLLECTOR_UNAUTHENTICATED', 'the agent credential is unknown or revoked');
      throw e;
    }
    // Their webhook deliveries (elevation.denied) were queued in the same transaction.
    if (stored > 0) ctx.webhooks.poke();
    return { accepted: events.length, stored };
  });

  app.post<{ Body: Static<typeof EnrollTokenBody> }>(
    '/api/v1/enroll-tokens',
    { schema: { body: EnrollTokenBody }, onRequest: ctx.requireRole('admin') },
    async (req, reply) => {
      const expiresAt = parseTime(req.body.expiresAt, 'body.expiresAt') ?? null;
      if (expiresAt !== null && expiresAt <= Date.now()) throw fail('ASC_COLLECTOR_BAD_INPUT', 'body.expiresAt is in the past');
      const t = await store.createEnrollmentToken({ ...(req.body.uses === undefined ? {} : { uses: req.body.uses }), expiresAt, computers: req.body.computers ?? [] });
      req.log.info({ enrollmentTokenId: t.id, uses: t.uses, computers: t.computers, by: actor(req) }, 'enrollment token created');
      // Given to agents with the pin of this collector's certificate authority, so their first contact is verified too.
      const token = ctx.identity.pin === null ? t.token : joinEnrollmentToken(t.token, ctx.identity.pin);
      return reply.code(201).send({ token, id: t.id, uses: t.uses, expiresAt: iso(t.expiresAt), computers: t.computers, fingerprint: ctx.identity.pin === null ? null : showPin(ctx.identity.pin) });
    },
  );

  // Paged (issue 18): (enrolled at, id), the cursor signed and bound to this list.
  app.get<{ Querystring: ListQueryType }>('/api/v1/agents', { schema: { querystring: ListQuery }, onRequest: ctx.requireRole('viewer') }, async (req, reply) => {
    const page = pageRequest(ctx, 'agents', req.query);
    const rows = await store.listAgents({ limit: page.limit + 1, ...(page.after === undefined ? {} : { after: page.after }) });
    const { page: agents, nextCursor } = pageOf(ctx, 'agents', rows, page, (a) => ({ time: a.enrolledAt, a: a.id, b: '' }), { reply, path: '/api/v1/agents', query: { ...req.query } });
    return { agents: agents.map(agentView), nextCursor };
  });

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ReasonBody> }>(
    '/api/v1/agents/:id/revoke',
    { schema: { params: IdParams, body: ReasonBody }, onRequest: ctx.requireRole('admin') },
    async (req) => {
      // The revocation's webhook delivery commits with it.
      await store.revokeAgent(req.params.id, req.body.reason, undefined, (a) => [webhookEvents.agentRevoked(a, req.body.reason, actor(req))]);
      req.log.info({ agentId: req.params.id, by: actor(req) }, 'agent revoked');
      ctx.webhooks.poke();
      const agent = await store.getAgent(req.params.id);
      return { agent: agentView(agent as Agent) };
    },
  );
}
