/**
 * Sends the spool to the collector: a batch from the acknowledged position, POST
 * /api/v1/events with the agent's credential, and the position moves only after the
 * collector answered that the batch is stored. Failures back off exponentially with full
 * jitter (so a fleet that lost the collector does not come back in step). When the
 * collector refuses a batch as malformed, the batch is split in halves until the events it
 * refuses are alone: only those are set aside in `rejected.jsonl` (one line each, counted,
 * and reported by an agent-error event), every other event of the batch is stored. A refused
 * credential stops the uploader and says so.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Spool, SpoolEvent } from './spool.js';
import type { Event } from '../../src/collector-api/events.js';
import { AscendError } from '../../src/errors.js';
import { fitEvent } from './fit.js';
import { type HttpAnswer, send, type Trust } from '../../src/collector-api/transport.js';

export type SendResult =
  | { kind: 'stored' }
  /** Try again later: network trouble, 429, 5xx. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** The collector refuses these events as they are (400, 413): resending would not help. */
  | { kind: 'rejected'; reason: string }
  /** The credential is unknown or revoked (401): the agent must enroll again. */
  | { kind: 'unauthorized'; reason: string };

export type Sender = (events: SpoolEvent[]) => Promise<SendResult>;

/** POST /api/v1/events on the collector with the agent credential, over the pinned channel. */
export function collectorSender(collectorUrl: string, credential: string, trust: Trust, timeoutMs = 30_000): Sender {
  const url = new URL('api/v1/events', collectorUrl.endsWith('/') ? collectorUrl : `${collectorUrl}/`);
  return async (events) => {
    let res: HttpAnswer;
    try {
      res = await send(url, {
        method: 'POST',
        trust,
        timeoutMs,
        maxBytes: 64 * 1024,
        headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
      });
    } catch (e) {
      return { kind: 'retry', reason: (e as Error).message };
    }
    const ok = res.status >= 200 && res.status <= 299;
    const message = (() => {
      try {
        const m = (JSON.parse(res.body.toString('utf8')) as { error?: { message?: unknown } }).error?.message;
        return typeof m === 'string' ? m.slice(0, 500) : `HTTP ${res.status}`;
      } catch {
        return `HTTP ${res.status}`;
      }
    })();
    if (ok) return { kind: 'stored' };
    if (res.status === 401) return { kind: 'unauthorized', reason: message };
    if (res.status === 400 || res.status === 413) return { kind: 'rejected', reason: message };
    const retryAfter = Number(res.headers['retry-after']);
    return { kind: 'retry', reason: message, ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: Math.min(retryAfter, 3600) * 1000 } : {}) };
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
  private sleeping = false;
  /** Events were spooled since the last batch was read. */
  private nudged = false;
  private retryAfterMs = 0;
  /** Events of the unacknowledged batch already settled by a split: id → null (stored) or the collector's reason (refused). */
  private readonly settled = new Map<string, string | null>();

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
    const r = await this.deliver(batch.events);
    switch (r.kind) {
      case 'stored': {
        const refused = batch.events.flatMap((event) => {
          const reason = this.settled.get(event.id);
          return typeof reason === 'string' ? [{ event, reason }] : [];
        });
        if (refused.length > 0) await this.setAside(refused);
        this.settled.clear();
        await this.spool.ack(batch.next);
        this.status.sent += batch.events.length - refused.length;
        this.status.failures = 0;
        this.status.lastError = refused.length > 0 ? (refused[0] as { reason: string }).reason : null;
        return refused.length > 0 ? 'rejected' : 'sent';
      }
      case 'unauthorized':
        this.status.unauthorized = true;
        this.status.lastError = r.reason;
        return 'unauthorized';
      case 'retry':
        // Nothing moves: the batch is read again; the parts settled already are not sent again.
        this.status.failures++;
        this.status.lastError = r.reason;
        this.retryAfterMs = r.retryAfterMs ?? 0;
        return 'retry';
      case 'rejected':
        throw new AscendError('ASC_INTERNAL', 'unreachable: deliver splits refused batches');
    }
  }

  /**
   * Sends the events not settled yet; when the collector refuses them as they are, sends each
   * half on its own, down to single events. Each event ends settled: stored (null) or refused
   * alone (the reason). 'stored' means all are settled; 'retry' and 'unauthorized' stop it,
   * and what was settled stays so for the next attempt at the same batch (a rate limit in
   * the middle of a split does not start it over).
   */
  private async deliver(events: SpoolEvent[]): Promise<SendResult> {
    const open = events.filter((e) => !this.settled.has(e.id));
    if (open.length === 0) return { kind: 'stored' };
    const r = await this.send(open);
    if (r.kind === 'stored') for (const e of open) this.settled.set(e.id, null);
    if (r.kind !== 'rejected') return r;
    if (open.length === 1) {
      this.settled.set((open[0] as SpoolEvent).id, r.reason);
      return { kind: 'stored' };
    }
    const half = Math.ceil(open.length / 2);
    const first = await this.deliver(open.slice(0, half));
    if (first.kind !== 'stored') return first;
    return this.deliver(open.slice(half));
  }

  /** Keeps refused events in rejected.jsonl, counts them, and reports them through the spool. */
  private async setAside(refused: { event: SpoolEvent; reason: string }[]): Promise<void> {
    const at = new Date().toISOString();
    const file = path.join(this.spool.dir, 'rejected.jsonl');
    await fs.appendFile(file, refused.map((x) => `${JSON.stringify({ at, reason: x.reason, events: [x.event] })}\n`).join(''), { mode: 0o600 });
    this.status.rejected += refused.length;
    // A report the collector refused is not reported again (that could go on for ever).
    const reportable = refused.filter((x) => !String(x.event.id).startsWith('spool-rejected-'));
    if (reportable.length === 0) return;
    const first = reportable[0] as { event: SpoolEvent; reason: string };
    const report: Event = fitEvent<Event>({
      id: `spool-rejected-${first.event.id}`.slice(0, 200),
      type: 'agent-error',
      time: Date.now(),
      reason: 'events-rejected',
      message: `the collector refused ${reportable.length} event(s) (${first.reason}); they are kept in ${file}`,
      data: {
        rejected: reportable.length,
        rejectedTotal: this.status.rejected,
        events: reportable.slice(0, 50).map((x) => ({ id: x.event.id, type: x.event.type, reason: x.reason })),
      },
    });
    await this.spool.append([report]);
  }

  /** Between two attempts: nothing is being read or sent (caught up, or waiting out a failure). */
  get waiting(): boolean {
    return this.sleeping && !this.nudged;
  }

  /** New events were spooled: send now if the uploader is idle (never cuts a backoff short). */
  nudge(): void {
    // One that comes while a batch is read or sent is kept: that batch may not hold the new events.
    this.nudged = true;
    if (this.idle) this.wake.abort();
  }

  /** Runs until `signal` aborts or the credential is refused. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.nudged = false;
      // A local failure (rejected.jsonl not writable, the spool closed) is retried like a network one, never ends the loop unseen.
      const outcome = await this.sendOnce().catch((e: unknown) => {
        this.status.failures++;
        this.status.lastError = e instanceof Error ? e.message : String(e);
        return 'retry' as const;
      });
      if (outcome === 'unauthorized') return;
      if (outcome === 'sent' || outcome === 'rejected' || (outcome === 'empty' && this.nudged)) continue;
      // The collector's Retry-After is a floor under the jittered backoff.
      const delay = outcome === 'empty' ? this.opts.idleMs : Math.max(this.retryAfterMs, this.backoffMs(this.status.failures - 1));
      this.wake = new AbortController();
      this.idle = outcome === 'empty';
      this.sleeping = true;
      await sleep(delay, undefined, { signal: AbortSignal.any([signal, this.wake.signal]) }).catch(() => undefined);
      this.sleeping = false;
      this.idle = false;
    }
  }
}
