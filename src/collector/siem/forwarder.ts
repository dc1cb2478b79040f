/**
 * The SIEM feed's background forwarder: takes queued events (the store's siem_outbox) in
 * batches, sends them as octet-counted syslog over TCP or TLS, and takes them off the queue
 * only once the receiver has read them. It never touches the request path: ingestion only
 * queues a row in its own transaction, and a receiver that is slow, down or refusing only
 * makes this loop wait (exponential backoff with jitter, up to maxBackoffMs).
 *
 * Each batch goes on its own connection: the forwarder writes it, half-closes (FIN, after
 * TLS's close_notify), and waits for the receiver to close cleanly in turn. A syslog receiver
 * (rsyslog, syslog-ng) closes when it reads the end of the stream, that is after it has read
 * every message before it; one that goes away without reading them resets the connection
 * (the kernel sends RST for unread data) or never closes. Only a clean close takes the batch
 * off the queue; anything else (reset, error, no close within WRITE_TIMEOUT_MS) sends the
 * whole batch again after a backoff.
 *
 * Delivery is at least once: a batch is repeated only after such a failure, or when the
 * collector is killed between the receiver's close and the queue's commit; each message
 * carries agentId and id to deduplicate on. A clean stop finishes the batch in hand.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { frame, syslogMessage } from './format.js';
import type { SyslogTarget } from './target.js';
import type { StoredEvent } from '../storage/types.js';

export interface SiemQueue {
  siemBatch(limit: number): Promise<StoredEvent[]>;
  siemDone(keys: readonly { agentId: string; id: string }[]): Promise<void>;
  siemLease(holder: string, until: number): Promise<boolean>;
  siemRelease(holder: string): Promise<void>;
}

export interface ForwarderOptions {
  target: SyslogTarget;
  queue: SiemQueue;
  version: string;
  batchSize?: number;
  /** How often an idle forwarder looks at the queue again. */
  pollMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (message: string) => void;
  onSent?: (n: number) => void;
}

const CONNECT_TIMEOUT_MS = 10_000;
const WRITE_TIMEOUT_MS = 30_000;
/** Longer than a batch can take (connect + write timeouts), renewed before every batch. */
const LEASE_MS = 120_000;

export class SiemForwarder {
  /** The connection of the batch in hand. */
  private socket: net.Socket | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private failures = 0;
  private readonly holder = randomUUID();
  /** Until when this forwarder holds the lease, as far as it knows (renewed at half-life: one write a minute when idle). */
  private leaseUntil = 0;
  /** The last problem reported: the same one again (every backoff) is not logged again until it changes or clears. */
  private lastError: string | undefined;

  constructor(private readonly opts: ForwarderOptions) {}

  start(): void {
    if (this.running === undefined) this.running = this.loop();
  }

  /** Finishes the batch in hand (so nothing is sent twice), then closes the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    this.close();
    await this.opts.queue.siemRelease(this.holder).catch(() => undefined);
  }

  private close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        done();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        done();
      };
    });
  }

  private async loop(): Promise<void> {
    const batchSize = this.opts.batchSize ?? 200;
    while (!this.stopped) {
      let batch: StoredEvent[];
      try {
        // Another collector on this database holds the feed: stand by (its lease lapses if it dies).
        if (!(await this.holdLease())) {
          this.close();
          await this.sleep(this.opts.pollMs ?? 1000);
          continue;
        }
        batch = await this.opts.queue.siemBatch(batchSize);
      } catch (e) {
        if (this.stopped) return;
        this.report(`SIEM feed: cannot read its queue: ${(e as Error).message}`);
        await this.sleep(this.backoff());
        continue;
      }
      if (batch.length === 0) {
        await this.sleep(this.opts.pollMs ?? 1000);
        continue;
      }
      try {
        const socket = await this.connect();
        await this.sendAndConfirm(socket, Buffer.concat(batch.map((e) => frame(syslogMessage(e, this.opts.target.format, { version: this.opts.version, maxBytes: this.opts.target.maxBytes })))));
      } catch (e) {
        this.close();
        const { host, port } = this.opts.target;
        this.report(`SIEM feed: cannot send to ${host}:${port}: ${(e as Error).message}`);
        if (this.stopped) return;
        await this.sleep(this.backoff());
        continue;
      }
      this.failures = 0;
      this.lastError = undefined;
      // The queue's commit comes after the receiver's close; a crash between them repeats this batch once.
      await this.opts.queue.siemDone(batch.map((e) => ({ agentId: e.agentId, id: e.id }))).catch((e: Error) => this.opts.onError?.(`SIEM feed: cannot record progress: ${e.message}`));
      this.opts.onSent?.(batch.length);
    }
  }

  private async holdLease(): Promise<boolean> {
    const now = Date.now();
    if (now < this.leaseUntil - LEASE_MS / 2) return true;
    const until = now + LEASE_MS;
    this.leaseUntil = (await this.opts.queue.siemLease(this.holder, until)) ? until : 0;
    return this.leaseUntil !== 0;
  }

  private report(message: string): void {
    if (message === this.lastError) return;
    this.lastError = message;
    this.opts.onError?.(message);
  }

  private backoff(): number {
    const min = this.opts.minBackoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 60_000;
    const ceiling = Math.min(max, min * 2 ** Math.min(this.failures++, 20));
    // Full jitter over the upper half: receivers coming back are not hit in step.
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private connect(): Promise<net.Socket> {
    this.close();
    const { host, port, tls: useTls, ca } = this.opts.target;
    return new Promise((resolve, reject) => {
      const socket = useTls
        ? tls.connect({ host, port, ...(ca === undefined ? {} : { ca }), ...(net.isIP(host) === 0 ? { servername: host } : {}), minVersion: 'TLSv1.2' })
        : net.connect({ host, port });
      const timer = setTimeout(() => socket.destroy(new Error('connection timed out')), CONNECT_TIMEOUT_MS);
      const fail = (e: Error) => {
        clearTimeout(timer);
        reject(e);
      };
      socket.once('error', fail);
      socket.once(useTls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        this.socket = socket;
        // A syslog receiver sends nothing: data from it is a protocol it does not speak, and the batch is not confirmed.
        socket.on('data', () => socket.destroy(new Error('the receiver sent data')));
        socket.on('error', () => undefined);
        resolve(socket);
      });
    });
  }

  /**
   * Writes the batch, half-closes, and resolves when the receiver has closed cleanly after
   * reading to the end (its FIN after ours, no reset); rejects on anything else.
   */
  private sendAndConfirm(socket: net.Socket, bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      let peerEnded = false;
      let failure: Error | undefined;
      const timer = setTimeout(() => socket.destroy(new Error('the receiver did not confirm the batch (close after reading it) in time')), WRITE_TIMEOUT_MS);
      socket.on('end', () => {
        peerEnded = true;
      });
      socket.on('error', (e) => {
        failure ??= e;
      });
      socket.once('close', (hadError) => {
        clearTimeout(timer);
        if (this.socket === socket) this.socket = undefined;
        if (failure !== undefined || hadError) reject(failure ?? new Error('the connection failed'));
        else if (!peerEnded) reject(new Error('the connection closed before the receiver confirmed the batch'));
        else resolve();
      });
      socket.end(bytes);
    });
  }
}
