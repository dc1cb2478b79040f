/**
 * Webhooks and their deliveries in the collector's database (migration 5), over the shared
 * driver, so SQLite and PostgreSQL behave alike. A delivery is claimed with a lease before it
 * is sent: a collector that dies mid-send leaves a lease that runs out, and the delivery is
 * sent again with the same id (receivers drop duplicates by it). Several collectors on one
 * PostgreSQL database claim different rows (the claim is one conditional UPDATE).
 */
import { randomUUID } from 'node:crypto';
import { AscendError } from '../../errors.js';
import type { WebhookDeliveryStatus, WebhookEventType, WebhookFormat } from '../../collector-api/webhooks.js';
import type { Driver, Row, Sql } from '../storage/driver.js';

export interface Webhook {
  id: string;
  name: string;
  url: string;
  events: WebhookEventType[];
  format: WebhookFormat;
  secretSealed: string;
  createdAt: number;
  createdBy: string;
  removedAt: number | null;
}

export interface WebhookDelivery {
  id: string;
  webhookId: string;
  eventKey: string;
  eventType: string;
  /** The event as JSON: { type, occurredAt, data } (the delivery id is added when sent). */
  body: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  createdAt: number;
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  lastError: string | null;
  deliveredAt: number | null;
}

/** An event to deliver: `key` names it uniquely (an event enqueued again is one delivery). */
export interface WebhookEventInput {
  key: string;
  type: string;
  occurredAt: number;
  data: Record<string, unknown>;
  /**
   * Who caused it, for the flood limit (elevation.denied: the agent): per webhook and limit
   * key, at most `perWindow` such deliveries a window; the rest become one summary.
   */
  limitKey?: string;
}

/** The flood limit of rate-limited events (elevation.denied): per webhook and agent, per window. */
export interface WebhookLimit {
  perWindow: number;
  windowMs: number;
}

export const DEFAULT_WEBHOOK_LIMIT: WebhookLimit = { perWindow: 10, windowMs: 60_000 };

/** approval.* deliveries are claimed before the others: an approver must not wait behind a flood. */
export function deliveryPriority(type: string): number {
  return type.startsWith('approval.') ? 0 : 1;
}

/** Rows per multi-row INSERT of deliveries (10 parameters a row). */
const DELIVERY_CHUNK = 300;

const HOOK_COLUMNS = 'id, name, url, events, format, secret_sealed, created_at, created_by, removed_at';
const DELIVERY_COLUMNS = 'id, webhook_id, event_key, event_type, body, status, attempts, created_at, next_attempt_at, last_attempt_at, last_error, delivered_at';

/** What a delivery stores: the event as JSON, { type, occurredAt, data } (the delivery id is added when sent). */
function bodyOf(e: WebhookEventInput): string {
  return JSON.stringify({ type: e.type, occurredAt: new Date(e.occurredAt).toISOString(), data: e.data });
}

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function hookOf(r: Row): Webhook {
  let events: WebhookEventType[] = [];
  try {
    const parsed: unknown = JSON.parse(String(r.events));
    if (Array.isArray(parsed)) events = parsed.filter((x): x is WebhookEventType => typeof x === 'string');
  } catch {
    // A malformed list subscribes to nothing.
  }
  return {
    id: String(r.id),
    name: String(r.name),
    url: String(r.url),
    events,
    format: String(r.format) as WebhookFormat,
    secretSealed: String(r.secret_sealed),
    createdAt: Number(r.created_at),
    createdBy: String(r.created_by),
    removedAt: numOrNull(r.removed_at),
  };
}

function deliveryOf(r: Row): WebhookDelivery {
  return {
    id: String(r.id),
    webhookId: String(r.webhook_id),
    eventKey: String(r.event_key),
    eventType: String(r.event_type),
    body: String(r.body),
    status: String(r.status) as WebhookDeliveryStatus,
    attempts: Number(r.attempts),
    createdAt: Number(r.created_at),
    nextAttemptAt: numOrNull(r.next_attempt_at),
    lastAttemptAt: numOrNull(r.last_attempt_at),
    lastError: r.last_error === null || r.last_error === undefined ? null : String(r.last_error),
    deliveredAt: numOrNull(r.delivered_at),
  };
}

export class WebhookStore {
  constructor(private readonly db: Driver) {}

  /** `seal` turns the new webhook's id into its sealed secret (the id is the sealing's associated data). */
  async add(h: { name: string; url: string; events: readonly WebhookEventType[]; format: WebhookFormat; createdBy: string; seal: (id: string) => string }, now = Date.now()): Promise<Webhook> {
    const id = randomUUID();
    const sealed = h.seal(id);
    await this.db.run(`INSERT INTO webhooks (${HOOK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)`, [id, h.name, h.url, JSON.stringify([...h.events]), h.format, sealed, now, h.createdBy]);
    return (await this.get(id)) as Webhook;
  }

  async get(id: string): Promise<Webhook | undefined> {
    const rows = await this.db.all(`SELECT ${HOOK_COLUMNS} FROM webhooks WHERE id = ?`, [id]);
    return rows[0] === undefined ? undefined : hookOf(rows[0]);
  }

  /**
   * The live webhooks (removed ones with `all`), oldest first: (created at, id). Paged (issue 18):
   * `after` the key of the last one seen, at most `limit`.
   */
  async list(opts: { all?: boolean; after?: { time: number; a: string }; limit?: number } = {}): Promise<Webhook[]> {
    const where: string[] = opts.all ? [] : ['removed_at IS NULL'];
    const params: (string | number)[] = [];
    if (opts.after !== undefined) (where.push('(created_at, id) > (?, ?)'), params.push(opts.after.time, opts.after.a));
    if (opts.limit !== undefined) params.push(opts.limit);
    const rows = await this.db.all(
      `SELECT ${HOOK_COLUMNS} FROM webhooks${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id${opts.limit === undefined ? '' : ' LIMIT ?'}`,
      params,
    );
    return rows.map(hookOf);
  }

  /** Per webhook (these, or all): how many deliveries are pending, delivered and failed. */
  async counts(ids?: readonly string[]): Promise<Map<string, Record<WebhookDeliveryStatus, number>>> {
    if (ids !== undefined && ids.length === 0) return new Map();
    const only = ids === undefined ? '' : ` WHERE webhook_id IN (${ids.map(() => '?').join(', ')})`;
    const rows = await this.db.all(`SELECT webhook_id, status, COUNT(*) AS n FROM webhook_deliveries${only} GROUP BY webhook_id, status`, ids === undefined ? [] : [...ids]);
    const out = new Map<string, Record<WebhookDeliveryStatus, number>>();
    for (const r of rows) {
      const id = String(r.webhook_id);
      const c = out.get(id) ?? { pending: 0, delivered: 0, failed: 0 };
      const s = String(r.status) as WebhookDeliveryStatus;
      if (s in c) c[s] = Number(r.n);
      out.set(id, c);
    }
    return out;
  }

  /** Removes a webhook: it gets no new deliveries, and its pending ones are given up. */
  async remove(id: string, now = Date.now()): Promise<void> {
    await this.db.tx(async (q) => {
      const n = await q.run('UPDATE webhooks SET removed_at = ? WHERE id = ? AND removed_at IS NULL', [now, id]);
      if (n === 0) throw new AscendError('ASC_COLLECTOR_NOT_FOUND', `no webhook ${id}`);
      await q.run("UPDATE webhook_deliveries SET status = 'failed', last_error = 'the webhook was removed', next_attempt_at = NULL, lease_until = NULL WHERE webhook_id = ? AND status = 'pending'", [id]);
    });
  }

  /**
   * Queues the deliveries of `events` inside the caller's transaction `q` (the one that makes
   * the state change they report: the change and its deliveries commit together, or neither
   * does). One read of the live webhooks and multi-row INSERTs; an event key seen before adds
   * nothing. Events with a `limitKey` are limited per webhook and key (see WebhookLimit): past
   * the limit they are counted in one summary delivery per window, sent when the window ends.
   * Returns how many deliveries were made or updated.
   */
  async enqueueIn(q: Sql, events: readonly WebhookEventInput[], now: number, limit: WebhookLimit = DEFAULT_WEBHOOK_LIMIT): Promise<number> {
    if (events.length === 0) return 0;
    // In a fixed order: the flood-limit rows are locked in it, so two batches can not deadlock on PostgreSQL.
    const hooks = (await q.all(`SELECT ${HOOK_COLUMNS} FROM webhooks WHERE removed_at IS NULL ORDER BY id`)).map(hookOf);
    if (hooks.length === 0) return 0;
    // id, webhook, event key, type, body, priority, created at, next attempt at
    const rows: [string, string, string, string, string, number, number, number][] = [];
    let made = 0;
    for (const h of hooks) {
      const mine = events.filter((e) => h.events.includes(e.type as WebhookEventType));
      const limited = new Map<string, WebhookEventInput[]>();
      for (const e of mine) {
        if (e.limitKey === undefined) rows.push([randomUUID(), h.id, e.key, e.type, bodyOf(e), deliveryPriority(e.type), now, now]);
        else {
          const list = limited.get(e.limitKey);
          if (list === undefined) limited.set(e.limitKey, [e]);
          else list.push(e);
        }
      }
      for (const [key, list] of limited) {
        const { pass, summary } = await this.limitIn(q, h.id, key, list, now, limit);
        for (const e of pass) rows.push([randomUUID(), h.id, e.key, e.type, bodyOf(e), deliveryPriority(e.type), now, now]);
        if (summary !== undefined) {
          // One summary per window, sent when the window ends; a later batch of the same window updates its count.
          made += await q.run(
            `INSERT INTO webhook_deliveries (id, webhook_id, event_key, event_type, body, priority, status, attempts, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
             ON CONFLICT (webhook_id, event_key) DO UPDATE SET body = excluded.body WHERE webhook_deliveries.status = 'pending' AND webhook_deliveries.attempts = 0 AND webhook_deliveries.lease_until IS NULL`,
            [randomUUID(), h.id, summary.event.key, summary.event.type, bodyOf(summary.event), deliveryPriority(summary.event.type), now, summary.sendAt],
          );
        }
      }
    }
    for (let start = 0; start < rows.length; start += DELIVERY_CHUNK) {
      const chunk = rows.slice(start, start + DELIVERY_CHUNK);
      made += await q.run(
        `INSERT INTO webhook_deliveries (id, webhook_id, event_key, event_type, body, priority, created_at, next_attempt_at, status, attempts) VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0)").join(', ')} ON CONFLICT (webhook_id, event_key) DO NOTHING`,
        chunk.flat(),
      );
    }
    return made;
  }

  /** Counts `list` against the webhook's window for `key`: what passes, and the window's summary when some did not. */
  private async limitIn(q: Sql, webhookId: string, key: string, list: readonly WebhookEventInput[], now: number, limit: WebhookLimit): Promise<{ pass: WebhookEventInput[]; summary?: { event: WebhookEventInput; sendAt: number } }> {
    // The row exists first, so that PostgreSQL can lock it: two collectors counting at once do not both pass the limit.
    await q.run('INSERT INTO webhook_limits (webhook_id, limit_key, window_start, sent, suppressed) VALUES (?, ?, ?, 0, 0) ON CONFLICT (webhook_id, limit_key) DO NOTHING', [webhookId, key, now]);
    const row = (await q.all(`SELECT window_start, sent, suppressed FROM webhook_limits WHERE webhook_id = ? AND limit_key = ?${this.db.dialect === 'postgres' ? ' FOR UPDATE' : ''}`, [webhookId, key]))[0] as Row;
    let windowStart = Number(row.window_start);
    let sent = Number(row.sent);
    let suppressed = Number(row.suppressed);
    if (now - windowStart >= limit.windowMs || now < windowStart) {
      windowStart = now;
      sent = 0;
      suppressed = 0;
    }
    const pass = list.slice(0, Math.max(0, limit.perWindow - sent));
    sent += pass.length;
    const held = list.length - pass.length;
    suppressed += held;
    await q.run('UPDATE webhook_limits SET window_start = ?, sent = ?, suppressed = ? WHERE webhook_id = ? AND limit_key = ?', [windowStart, sent, suppressed, webhookId, key]);
    if (held === 0) return { pass };
    const first = list[0] as WebhookEventInput;
    const windowEnd = windowStart + limit.windowMs;
    const data = first.data;
    const computer = typeof data.computer === 'string' ? data.computer : null;
    const event: WebhookEventInput = {
      key: `${first.type}-summary:${key}:${windowStart}`,
      type: first.type,
      occurredAt: now,
      data: {
        agentId: typeof data.agentId === 'string' ? data.agentId : key,
        computer,
        suppressed,
        windowStart: new Date(windowStart).toISOString(),
        windowEnd: new Date(windowEnd).toISOString(),
        message: `${suppressed} more ${first.type} events from agent ${key}${computer === null ? '' : ` (${computer})`} between ${new Date(windowStart).toISOString()} and ${new Date(windowEnd).toISOString()} (over the limit of ${limit.perWindow} per ${Math.round(limit.windowMs / 1000)} s; see the reports)`,
      },
    };
    return { pass, summary: { event, sendAt: windowEnd } };
  }

  /**
   * Deletes delivered and given-up deliveries finished before `before` (at most `max` a call),
   * and flood-limit windows older than that. Returns how many deliveries went.
   */
  async prune(before: number, max = 5000): Promise<number> {
    const n = await this.db.run(
      `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE status IN ('delivered', 'failed') AND COALESCE(delivered_at, last_attempt_at, created_at) < ? LIMIT ?)`,
      [before, max],
    );
    await this.db.run('DELETE FROM webhook_limits WHERE window_start < ?', [before]);
    return n;
  }

  /**
   * Stores one delivery per live webhook subscribed to the event (all live webhooks with
   * `only`, for a test), in one transaction; an event key seen before adds nothing.
   * Returns the deliveries made now.
   */
  async enqueue(e: WebhookEventInput, opts: { only?: string; now?: number } = {}): Promise<{ id: string; webhookId: string }[]> {
    const now = opts.now ?? Date.now();
    const body = bodyOf(e);
    // Most events have no subscriber: a plain read first, and no write transaction for them.
    const subscribed = (await this.list()).some((h) => (opts.only === undefined ? h.events.includes(e.type as WebhookEventType) : h.id === opts.only));
    if (!subscribed) return [];
    return this.db.tx(async (q) => {
      const hooks = (await q.all(`SELECT ${HOOK_COLUMNS} FROM webhooks WHERE removed_at IS NULL${opts.only === undefined ? '' : ' AND id = ?'}`, opts.only === undefined ? [] : [opts.only])).map(hookOf);
      const made: { id: string; webhookId: string }[] = [];
      for (const h of hooks) {
        if (opts.only === undefined && !h.events.includes(e.type as WebhookEventType)) continue;
        const id = randomUUID();
        const n = await q.run(
          `INSERT INTO webhook_deliveries (id, webhook_id, event_key, event_type, body, priority, status, attempts, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (webhook_id, event_key) DO NOTHING`,
          [id, h.id, e.key, e.type, body, deliveryPriority(e.type), now, now],
        );
        if (n > 0) made.push({ id, webhookId: h.id });
      }
      return made;
    });
  }

  /** Claims up to `limit` due deliveries for `leaseMs`, with their webhooks. */
  async claimDue(limit: number, leaseMs: number, now = Date.now()): Promise<{ delivery: WebhookDelivery; webhook: Webhook }[]> {
    const due = await this.db.all(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY priority, next_attempt_at LIMIT ?`,
      [now, now, limit],
    );
    const out: { delivery: WebhookDelivery; webhook: Webhook }[] = [];
    for (const r of due) {
      const d = deliveryOf(r);
      const n = await this.db.run("UPDATE webhook_deliveries SET lease_until = ? WHERE id = ? AND status = 'pending' AND (lease_until IS NULL OR lease_until < ?)", [now + leaseMs, d.id, now]);
      if (n === 0) continue;
      const h = await this.get(d.webhookId);
      if (h === undefined) continue;
      out.push({ delivery: d, webhook: h });
    }
    return out;
  }

  async delivered(id: string, now = Date.now()): Promise<void> {
    await this.db.run(
      "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, last_attempt_at = ?, last_error = NULL, next_attempt_at = NULL, lease_until = NULL WHERE id = ? AND status = 'pending'",
      [now, now, id],
    );
  }

  /** A failed attempt: retried at `retryAt`, or given up (status failed) when it is null. */
  async attemptFailed(id: string, error: string, retryAt: number | null, now = Date.now()): Promise<void> {
    await this.db.run(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = ?, last_error = ?, next_attempt_at = ?, lease_until = NULL${retryAt === null ? ", status = 'failed'" : ''} WHERE id = ? AND status = 'pending'`,
      [now, error.slice(0, 500), retryAt, id],
    );
  }

  /** Lets a claimed delivery go without counting an attempt (this collector can not send it). */
  async release(id: string, retryAt: number): Promise<void> {
    await this.db.run("UPDATE webhook_deliveries SET lease_until = NULL, next_attempt_at = ? WHERE id = ? AND status = 'pending'", [retryAt, id]);
  }

  async getDelivery(id: string): Promise<WebhookDelivery | undefined> {
    const rows = await this.db.all(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?`, [id]);
    return rows[0] === undefined ? undefined : deliveryOf(rows[0]);
  }

  /** Newest first, (created at, id) descending, at most `limit`; paged (issue 18): only those before `before`, the key of the last one seen. */
  async listDeliveries(filter: { webhookId?: string; status?: WebhookDeliveryStatus; limit: number; before?: { time: number; a: string } }): Promise<WebhookDelivery[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.webhookId !== undefined) (where.push('webhook_id = ?'), params.push(filter.webhookId));
    if (filter.status !== undefined) (where.push('status = ?'), params.push(filter.status));
    if (filter.before !== undefined) (where.push('(created_at, id) < (?, ?)'), params.push(filter.before.time, filter.before.a));
    params.push(filter.limit);
    const rows = await this.db.all(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`, params);
    return rows.map(deliveryOf);
  }
}
