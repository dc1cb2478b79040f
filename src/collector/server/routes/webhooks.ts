/**
 * Webhooks (issue 18), admin only: add (the secret is answered this once), list, remove,
 * test, and the deliveries view. Events reach webhooks through ctx.webhooks.enqueue, called
 * by the routes where the events happen; sending is the dispatcher's, off the request path.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_FORMATS,
  WEBHOOK_SECRET_PREFIX,
  WEBHOOK_TEST_EVENT,
  type WebhookDeliveryStatus,
  type WebhookDeliveryView,
  type WebhookView,
} from '../../../collector-api/webhooks.js';
import { LIST_DELIVERIES_ROWS } from '../../../collector-api/reports.js';
import { checkWebhookUrl } from '../../webhooks/target.js';
import { redactedUrl, sealTarget } from '../../webhooks/secret-box.js';
import type { Webhook, WebhookDelivery } from '../../webhooks/store.js';
import { actor, fail, iso, type RouteContext } from '../context.js';
import { ListQuery, type ListQueryType, PageQueryFields, pageOf, pageRequest } from '../list-page.js';

const Uuid = Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z-]+$' });
const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
const AddBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
    url: Type.String({ minLength: 1, maxLength: 2000 }),
    events: Type.Array(Type.Unsafe<(typeof WEBHOOK_EVENT_TYPES)[number]>({ type: 'string', enum: [...WEBHOOK_EVENT_TYPES] }), { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true }),
    format: Type.Optional(Type.Unsafe<(typeof WEBHOOK_FORMATS)[number]>({ type: 'string', enum: [...WEBHOOK_FORMATS] })),
  },
  { additionalProperties: false },
);
const DeliveriesQuery = Type.Object(
  {
    webhook: Type.Optional(Uuid),
    status: Type.Optional(Type.Unsafe<WebhookDeliveryStatus>({ type: 'string', enum: ['pending', 'delivered', 'failed'] })),
    ...PageQueryFields,
  },
  { additionalProperties: false },
);
const EmptyQuery = Type.Object({}, { additionalProperties: false });

/** At most this many webhooks: each event is a row per webhook. */
export const MAX_WEBHOOKS = 100;


function webhookView(h: Webhook, counts: Record<WebhookDeliveryStatus, number> | undefined): WebhookView {
  return { id: h.id, name: h.name, url: h.url, events: h.events, format: h.format, createdAt: iso(h.createdAt), createdBy: h.createdBy, deliveries: counts ?? { pending: 0, delivered: 0, failed: 0 } };
}

export function deliveryView(d: WebhookDelivery): WebhookDeliveryView {
  return {
    id: d.id,
    webhookId: d.webhookId,
    event: d.eventType,
    status: d.status,
    attempts: d.attempts,
    createdAt: iso(d.createdAt),
    lastAttemptAt: iso(d.lastAttemptAt),
    nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    deliveredAt: iso(d.deliveredAt),
    lastError: d.lastError,
  };
}

export function registerWebhookRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const hooks = ctx.webhookStore;
  const admin = ctx.requireRole('admin');

  app.post<{ Body: Static<typeof AddBody> }>('/api/v1/webhooks', { schema: { body: AddBody }, onRequest: admin }, async (req, reply) => {
    const url = checkWebhookUrl(req.body.url);
    if ((await hooks.list()).length >= MAX_WEBHOOKS) throw fail('ASC_COLLECTOR_CONFLICT', `there are ${MAX_WEBHOOKS} webhooks already; remove one first`);
    const secret = `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const h = await hooks.add({
      name: req.body.name.trim(),
      url: redactedUrl(url),
      events: req.body.events,
      format: req.body.format ?? 'json',
      createdBy: actor(req),
      seal: (id) => sealTarget(ctx.secretBox, { secret, url: url.href }, id),
    });
    req.log.info({ webhookId: h.id, events: h.events, format: h.format, by: actor(req) }, 'webhook added');
    return reply.code(201).send({ secret, webhook: webhookView(h, undefined) });
  });

  // Paged (issue 18) like the other lists; the delivery counts are read for the page's webhooks only.
  app.get<{ Querystring: ListQueryType }>('/api/v1/webhooks', { schema: { querystring: ListQuery }, onRequest: admin }, async (req, reply) => {
    const page = pageRequest(ctx, 'webhooks', req.query);
    const rows = await hooks.list({ limit: page.limit + 1, ...(page.after === undefined ? {} : { after: page.after }) });
    const { page: list, nextCursor } = pageOf(ctx, 'webhooks', rows, page, (h) => ({ time: h.createdAt, a: h.id, b: '' }), { reply, path: '/api/v1/webhooks', query: { ...req.query } });
    const counts = await hooks.counts(list.map((h) => h.id));
    return { webhooks: list.map((h) => webhookView(h, counts.get(h.id))), nextCursor };
  });

  app.post<{ Params: Static<typeof IdParams> }>('/api/v1/webhooks/:id/remove', { schema: { params: IdParams, querystring: EmptyQuery }, onRequest: admin }, async (req) => {
    await hooks.remove(req.params.id);
    req.log.info({ webhookId: req.params.id, by: actor(req) }, 'webhook removed');
    return { id: req.params.id, removed: true };
  });

  app.post<{ Params: Static<typeof IdParams> }>('/api/v1/webhooks/:id/test', { schema: { params: IdParams, querystring: EmptyQuery }, onRequest: admin }, async (req, reply) => {
    const h = await hooks.get(req.params.id);
    if (h === undefined || h.removedAt !== null) throw fail('ASC_COLLECTOR_NOT_FOUND', `no webhook ${req.params.id}`);
    const made = await hooks.enqueue(
      { key: `test:${randomUUID()}`, type: WEBHOOK_TEST_EVENT, occurredAt: Date.now(), data: { message: `a test of webhook ${h.name}`, by: actor(req) } },
      { only: h.id },
    );
    ctx.webhooks.poke();
    const d = made[0] === undefined ? undefined : await hooks.getDelivery(made[0].id);
    if (d === undefined) throw fail('ASC_INTERNAL', 'the test delivery was not stored');
    return reply.code(202).send({ delivery: deliveryView(d) });
  });

  app.get<{ Querystring: Static<typeof DeliveriesQuery> }>('/api/v1/webhooks/deliveries', { schema: { querystring: DeliveriesQuery }, onRequest: admin }, async (req, reply) => {
    // Paged (issue 18), newest first: the cursor is bound to the filters (webhook, status).
    const scope = `webhook-deliveries:${req.query.webhook ?? ''}:${req.query.status ?? ''}`;
    const page = pageRequest(ctx, scope, { ...req.query, limit: req.query.limit ?? String(LIST_DELIVERIES_ROWS) });
    const rows = await hooks.listDeliveries({
      ...(req.query.webhook === undefined ? {} : { webhookId: req.query.webhook }),
      ...(req.query.status === undefined ? {} : { status: req.query.status }),
      ...(page.after === undefined ? {} : { before: page.after }),
      limit: page.limit + 1,
    });
    const { page: list, nextCursor } = pageOf(ctx, scope, rows, page, (d) => ({ time: d.createdAt, a: d.id, b: '' }), { reply, path: '/api/v1/webhooks/deliveries', query: { ...req.query } });
    return { deliveries: list.map(deliveryView), more: nextCursor !== null, nextCursor };
  });

  app.get<{ Params: Static<typeof IdParams> }>('/api/v1/webhooks/deliveries/:id', { schema: { params: IdParams }, onRequest: admin }, async (req) => {
    const d = await hooks.getDelivery(req.params.id);
    if (d === undefined) throw fail('ASC_COLLECTOR_NOT_FOUND', `no webhook delivery ${req.params.id}`);
    return { delivery: deliveryView(d) };
  });
}
