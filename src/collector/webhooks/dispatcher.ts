/**
 * Sends what the webhook store holds, off the request path: routes only enqueue (a row in
 * the database) and poke the dispatcher; it claims due deliveries, signs and sends each,
 * and records the outcome. A failed attempt is retried with exponential backoff and full
 * jitter until `maxAttempts`, then given up (status failed, visible in `webhook deliveries`).
 * The database is the queue: a collector restarted in between picks the rows up again.
 */
import type { FastifyBaseLogger } from 'fastify';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, type WebhookBody } from '../../collector-api/webhooks.js';
import { signWebhook } from '../../collector-api/webhooks.js';
import { renderBody } from './format.js';
import { openTarget, type SecretBox } from './secret-box.js';
import { sendWebhook, type SendOptions, type SendResult } from './send.js';
import type { WebhookEventInput, WebhookStore } from './store.js';

export interface WebhookSettings {
  /** How often due deliveries are looked for when nothing pokes (default 2 s). */
  pollMs: number;
  /** The first retry's delay; each next one doubles, up to maxDelayMs (defaults 5 s, 1 h). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Attempts before a delivery is given up (default 15: about 2¾ to 5½ hours after the first with the defaults). */
  maxAttempts: number;
  /** Deliveries in flight at once (default 4). */
  concurrency: number;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Extra CA certificates for https receivers (tests). */
  ca?: string | Buffer;
  /** How long delivered and given-up deliveries are kept (default 30 days), pruned at most once per pruneEveryMs (default 1 h). */
  retentionMs: number;
  pruneEveryMs: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  pollMs: 2000,
  baseDelayMs: 5000,
  maxDelayMs: 3600_000,
  maxAttempts: 15,
  concurrency: 4,
  timeoutMs: 10_000,
  maxResponseBytes: 64 * 1024,
  retentionMs: 30 * 24 * 3600_000,
  pruneEveryMs: 3600_000,
};

/** The wait before retry number `attempt` (1 = the first retry): full jitter over an exponential cap. */
export function retryDelay(attempt: number, s: Pick<WebhookSettings, 'baseDelayMs' | 'maxDelayMs'>, random = Math.random): number {
  const cap = Math.min(s.maxDelayMs, s.baseDelayMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  // Half fixed, half random: never a retry storm at the same instant, never a zero wait.
  return Math.round(cap / 2 + random() * (cap / 2));
}

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private stopped = true;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = new AbortController();
  private current: Promise<void> | undefined;
  private lastPrune = 0;
  readonly settings: WebhookSettings;

  constructor(
    private readonly store: WebhookStore,
    private readonly box: SecretBox,
    private readonly log: FastifyBaseLogger,
    settings: Partial<WebhookSettings> = {},
    private readonly send: (url: string, body: string, headers: Record<string, string>, opts: SendOptions) => Promise<SendResult> = sendWebhook,
  ) {
    this.settings = { ...DEFAULT_WEBHOOK_SETTINGS, ...settings };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = new AbortController();
    this.poke();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // In-flight sends end now and are released (not counted as attempts): the next start, here or
    // on another collector, sends them again with the same delivery id.
    this.stopping.abort();
    // A pass that is reading the store ends before the store closes.
    await Promise.allSettled([...this.inFlight, this.current]);
  }

  /**
   * Stores the event for every subscribed webhook and wakes the sender. Never throws: a
   * webhook problem must not fail the request that caused the event (it is logged).
   */
  async enqueue(e: WebhookEventInput): Promise<void> {
    try {
      const made = await this.store.enqueue(e);
      if (made.length > 0) this.poke();
    } catch (err) {
      this.log.error({ err: (err as Error).message, event: e.type }, 'webhook deliveries could not be stored');
    }
  }

  /** Look for due deliveries now (soon, if a pass is running). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.runPass(), 0);
    this.timer.unref();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.runPass(), ms);
    this.timer.unref();
  }

  private runPass(): Promise<void> {
    const p = this.pass();
    this.current = p;
    return p;
  }

  private async pass(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    this.again = false;
    try {
      const now = Date.now();
      if (now - this.lastPrune >= this.settings.pruneEveryMs) {
        this.lastPrune = now;
        const n = await this.store.prune(now - this.settings.retentionMs);
        if (n > 0) this.log.info({ deliveries: n }, 'old webhook deliveries pruned');
      }
      const free = this.settings.concurrency - this.inFlight.size;
      if (free > 0) {
        const lease = this.settings.timeoutMs + 30_000;
        const claimed = await this.store.claimDue(free, lease);
        for (const c of claimed) {
          const p = this.attempt(c.delivery, c.webhook).finally(() => {
            this.inFlight.delete(p);
            this.poke();
          });
          this.inFlight.add(p);
        }
        if (claimed.length === free) this.again = true;
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'webhook deliveries could not be read');
    } finally {
      this.running = false;
      if (this.again) this.poke();
      else this.schedule(this.settings.pollMs);
    }
  }

  private async attempt(d: Awaited<ReturnType<WebhookStore['claimDue']>>[number]['delivery'], h: Awaited<ReturnType<WebhookStore['claimDue']>>[number]['webhook']): Promise<void> {
    try {
      const sealed = openTarget(this.box, h);
      if (sealed === undefined) {
        // Sealed under another grant key (a collector whose data folder differs): another collector may send it.
        this.log.error({ webhookId: h.id, deliveryId: d.id }, 'the webhook secret can not be opened with this collector\'s grant key');
        await this.store.release(d.id, Date.now() + this.settings.maxDelayMs);
        return;
      }
      const event = JSON.parse(d.body) as Omit<WebhookBody, 'id'>;
      const body = renderBody(h.format, { id: d.id, type: event.type, occurredAt: event.occurredAt, data: event.data });
      const headers = {
        [SIGNATURE_HEADER]: signWebhook(sealed.secret, Math.floor(Date.now() / 1000), body),
        [DELIVERY_HEADER]: d.id,
        [EVENT_HEADER]: event.type,
      };
      const r = await this.send(sealed.url, body, headers, { timeoutMs: this.settings.timeoutMs, maxResponseBytes: this.settings.maxResponseBytes, ...(this.settings.ca === undefined ? {} : { ca: this.settings.ca }), signal: this.stopping.signal });
      if (r.aborted) {
        await this.store.release(d.id, Date.now());
        return;
      }
      if (r.ok) {
        await this.store.delivered(d.id);
        this.log.info({ webhookId: h.id, deliveryId: d.id, event: event.type, status: r.status }, 'webhook delivered');
        return;
      }
      const attempts = d.attempts + 1;
      const retryAt = attempts >= this.settings.maxAttempts ? null : Date.now() + retryDelay(attempts, this.settings);
      await this.store.attemptFailed(d.id, r.error ?? 'failed', retryAt);
      this.log.warn({ webhookId: h.id, deliveryId: d.id, event: event.type, attempts, error: r.error, givenUp: retryAt === null }, 'webhook delivery failed');
    } catch (err) {
      this.log.error({ webhookId: h.id, deliveryId: d.id, err: (err as Error).message }, 'webhook delivery could not be attempted');
    }
  }
}
