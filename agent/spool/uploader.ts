/**
 * Sends the spool to the collector: a batch from the acknowledged position, POST
 * /api/v1/events with the agent's credential, and the position moves only after the
 * collector answered that the batch is stored. Failures back off exponentially with full
 * jitter (so a fleet that lost the collector does not come back in step). A batch the
 * collector refuses as malformed is set aside in `rejected.jsonl` (counted) instead of
 * blocking everything behind it; a refused credential stops the uploader and says so.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Spool, SpoolEvent } from './spool.js';

export type SendResult =
  | { kind: 'stored' }
  /** Try again later: network trouble, 429, 5xx. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** The collector refuses these events as they are (400, 413): resending would not help. */
  | { kind: 'rejected'; reason: string }
  /** The credential is unknown or revoked (401): the agent must enroll again. */
  | { kind: 'unauthorized'; reason: string };

export type Sender = (events: SpoolEvent[]) => Promise<SendResult>;

/** POST /api/v1/events on the collector with the agent credential. */
export function collectorSender(collectorUrl: string, credential: string, timeoutMs = 30_000): Sender {
  const url = new URL('api/v1/events', collectorUrl.endsWith('/') ? collectorUrl : `${collectorUrl}/`);
  return async (events) => {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      const cause = (e as Error & { cause?: Error }).cause;
      return { kind: 'retry', reason: `cannot reach the collector: ${cause?.message ?? (e as Error).message}` };
    }
    const text = await res.text().catch(() => '');
    const message = (() => {
      try {
        return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? `HTTP ${res.status}`;
      } catch {
        return `HTTP ${res.status}`;
      }
    })();
    if (res.ok) return { kind: 'stored' };
    if (res.status === 401) return { kind: 'unauthorized', reason: message };
    if (res.status === 400 || res.status === 413) return { kind: 'rejected', reason: message };
    const retryAfter = Number(res.headers.get('retry-after'));
    return { kind: 'retry', reason: message, ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}) };
  };
}

export interface UploaderOptions {
  batchEvents?: number;
  batchBytes?: number;
  /** First retry delay (default 1 s), doubled per failure up to maxDelayMs (default 5 min). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How long to wait when the spool is empty before looking again (default 2 s). */
  idleMs?: number;
  random?: () => number;
}

export interface UploaderStatus {
  sent: number;
  rejected: number;
  failures: number;
  lastError: string | null;
  unauthorized: boolean;
}

export class Uploader {
  readonly status: UploaderStatus = { sent: 0, rejected: 0, failures: 0, lastError: null, unauthorized: false };
  private readonly opts: Required<UploaderOptions>;
  private wake: AbortController = new AbortController();
  private idle = false;
  private retryAfterMs = 0;

  constructor(
    private readonly spool: Spool,
    private readonly send: Sender,
    options: UploaderOptions = {},
  ) {
    this.opts = {
      batchEvents: options.batchEvents ?? 1000,
      batchBytes: options.batchBytes ?? 900 * 1024,
      baseDelayMs: options.baseDelayMs ?? 1000,
      maxDelayMs: options.maxDelayMs ?? 300_000,
      idleMs: options.idleMs ?? 2000,
      random: options.random ?? Math.random,
    };
  }

  /** Exponential backoff with full jitter: a random delay in [0, min(max, base * 2^failures)). */
  backoffMs(failures: number): number {
    const ceiling = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(failures, 30));
    return Math.floor(this.opts.random() * ceiling);
  }

  /** Sends one batch. 'empty' when there was nothing to send. */
  async sendOnce(): Promise<'empty' | 'sent' | 'retry' | 'rejected' | 'unauthorized'> {
    const batch = await this.spool.read(this.opts.batchEvents, this.opts.batchBytes);
    if (batch.events.length === 0) {
      // Skipped damage may still move the position.
      await this.spool.ack(batch.next);
      return 'empty';
    }
    const r = await this.send(batch.events);
    switch (r.kind) {
      case 'stored':
        await this.spool.ack(batch.next);
        this.status.sent += batch.events.length;
        this.status.failures = 0;
        this.status.lastError = null;
        return 'sent';
      case 'rejected':
        await fs.appendFile(path.join(this.spool.dir, 'rejected.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), reason: r.reason, events: batch.events })}\n`, { mode: 0o600 });
        await this.spool.ack(batch.next);
        this.status.rejected += batch.events.length;
        this.status.lastError = r.reason;
        return 'rejected';
      case 'unauthorized':
        this.status.unauthorized = true;
        this.status.lastError = r.reason;
        return 'unauthorized';
      case 'retry':
        this.status.failures++;
        this.status.lastError = r.reason;
        this.retryAfterMs = r.retryAfterMs ?? 0;
        return 'retry';
    }
  }

  /** New events were spooled: send now if the uploader is idle (never cuts a backoff short). */
  nudge(): void {
    if (this.idle) this.wake.abort();
  }

  /** Runs until `signal` aborts or the credential is refused. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const outcome = await this.sendOnce();
      if (outcome === 'unauthorized') return;
      if (outcome === 'sent' || outcome === 'rejected') continue;
      // The collector's Retry-After is a floor under the jittered backoff.
      const delay = outcome === 'empty' ? this.opts.idleMs : Math.max(this.retryAfterMs, this.backoffMs(this.status.failures - 1));
      this.wake = new AbortController();
      this.idle = outcome === 'empty';
      await sleep(delay, undefined, { signal: AbortSignal.any([signal, this.wake.signal]) }).catch(() => undefined);
      this.idle = false;
    }
  }
}
