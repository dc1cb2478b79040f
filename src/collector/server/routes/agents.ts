/** Agents: enrollment, event ingestion, and the admin's list and revocation of agents. */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { isAscendError } from '../../../errors.js';
import type { Agent, CollectorEventInput } from '../../storage/index.js';
import { actor, fail, iso, parseTime, type RouteContext } from '../context.js';
import { EmptyQuery, EnrollBody, EnrollTokenBody, EventsBody, IdParams, ReasonBody } from '../schemas.js';

function agentView(a: Agent) {
  return { id: a.id, computer: a.computer, enrolledAt: iso(a.enrolledAt), revokedAt: iso(a.revokedAt) };
}

export function registerAgentRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { store } = ctx;

  app.post<{ Body: Static<typeof EnrollBody> }>('/api/v1/enroll', { schema: { body: EnrollBody } }, async (req, reply) => {
    const { agent, credential } = await store.enrollAgent(req.body.enrollmentToken, req.body.computer.trim());
    req.log.info({ agentId: agent.id, computer: agent.computer }, 'agent enrolled');
    return reply.code(201).send({ agentId: agent.id, computer: agent.computer, credential });
  });

  app.post<{ Body: Static<typeof EventsBody> }>('/api/v1/events', { schema: { body: EventsBody }, onRequest: ctx.agentAuth }, async (req) => {
    const agent = req.agent as Agent;
    const events = req.body.events as unknown as CollectorEventInput[];
    let stored: number;
    try {
      // Resolves only after the commit: the acknowledgement is durable.
      stored = await store.insertEvents(agent.id, events);
    } catch (e) {
      // Revoked between the check and the insert.
      if (isAscendError(e) && e.code === 'ASC_COLLECTOR_NOT_FOUND') throw fail('ASC_COLLECTOR_UNAUTHENTICATED', 'the agent credential is unknown or revoked');
      throw e;
    }
    return { accepted: events.length, stored };
  });

  app.post<{ Body: Static<typeof EnrollTokenBody> }>(
    '/api/v1/enroll-tokens',
    { schema: { body: EnrollTokenBody }, onRequest: ctx.requireRole('admin') },
    async (req, reply) => {
      const expiresAt = parseTime(req.body.expiresAt, 'body.expiresAt') ?? null;
      if (expiresAt !== null && expiresAt <= Date.now()) throw fail('ASC_COLLECTOR_BAD_INPUT', 'body.expiresAt is in the past');
      const t = await store.createEnrollmentToken({ uses: req.body.uses ?? 1, expiresAt });
      req.log.info({ enrollmentTokenId: t.id, uses: t.uses, by: actor(req) }, 'enrollment token created');
      return reply.code(201).send({ token: t.token, id: t.id, uses: t.uses, expiresAt: iso(t.expiresAt) });
    },
  );

  app.get('/api/v1/agents', { schema: { querystring: EmptyQuery }, onRequest: ctx.requireRole('viewer') }, async () => ({
    agents: (await store.listAgents()).map(agentView),
  }));

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ReasonBody> }>(
    '/api/v1/agents/:id/revoke',
    { schema: { params: IdParams, body: ReasonBody }, onRequest: ctx.requireRole('admin') },
    async (req) => {
      await store.revokeAgent(req.params.id, req.body.reason);
      req.log.info({ agentId: req.params.id, by: actor(req) }, 'agent revoked');
      const agent = await store.getAgent(req.params.id);
      return { agent: agentView(agent as Agent) };
    },
  );
}
