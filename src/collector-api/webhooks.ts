/**
 * Webhooks (issue 18): the event types a webhook can subscribe to, the body formats, the
 * headers of a delivery and how its signature is made and checked. A receiver verifies a
 * delivery with verifyWebhookSignature (or the same few lines in any language: HMAC-SHA256
 * with the webhook's secret over `<t>.<body>`, hex, compared in constant time, and t recent).
 *
 * Part of the contract between collector, CLI and receivers: no I/O.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_EVENT_TYPES = [
  'approval.requested',
  'approval.decided',
  'elevation.denied',
  'mfa.lockout',
  'passcode.revoked',
  'agent.revoked',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
/** Sent only by `webhook test`: it reaches the webhook whatever it subscribes to. */
export const WEBHOOK_TEST_EVENT = 'webhook.test';

export const WEBHOOK_FORMATS = ['json', 'slack', 'teams'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export const SIGNATURE_HEADER = 'ascend-signature';
export const DELIVERY_HEADER = 'ascend-delivery';
export const EVENT_HEADER = 'ascend-event';
/** How old a signature's timestamp may be before a receiver refuses it (replays), by default. */
export const SIGNATURE_TOLERANCE_S = 300;
/** The secret's visible prefix: a leaked one is recognisable in a scan. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

/** What a webhook looks like to an admin (the secret is never shown after add). */
export interface WebhookView {
  id: string;
  name: string;
  url: string;
  events: WebhookEventType[];
  format: WebhookFormat;
  createdAt: string;
  createdBy: string;
  deliveries: { pending: number; delivered: number; failed: number };
}

export interface WebhookDeliveryView {
  id: string;
  webhookId: string;
  event: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  createdAt: string;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  lastError: string | null;
}

/** The JSON body of a delivery in the json format. */
export interface WebhookBody {
  /** The delivery id (also the ascend-delivery header): the same on every retry, so receivers drop duplicates by it. */
  id: string;
  type: WebhookEventType | typeof WEBHOOK_TEST_EVENT;
  occurredAt: string;
  data: Record<string, unknown>;
}

function mac(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The ascend-signature header for a body sent at `timestamp` (Unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string | Buffer): string {
  return `t=${timestamp},v1=${mac(secret, timestamp, body)}`;
}

/**
 * A receiver's check: the header parses, its timestamp is within `toleranceS` of now, and one
 * of its v1 values is the HMAC of `<t>.<raw body>` (the bytes as received, before any JSON parsing).
 */
export function verifyWebhookSignature(secret: string, header: string | undefined, body: string | Buffer, opts: { nowS?: number; toleranceS?: number } = {}): boolean {
  if (typeof header !== 'string' || header.length > 1000) return false;
  let t: number | undefined;
  const sigs: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/.test(v)) sigs.push(v);
  }
  if (t === undefined || sigs.length === 0) return false;
  const now = opts.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (opts.toleranceS ?? SIGNATURE_TOLERANCE_S)) return false;
  const want = Buffer.from(mac(secret, t, body), 'hex');
  return sigs.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), want));
}
