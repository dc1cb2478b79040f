/**
 * The SIEM feed's background forwarder: takes queued events (the store's siem_outbox) in
 * batches, sends them as octet-counted syslog over TCP or TLS, and takes them off the queue
 * only once the socket accepted every byte. It never touches the request path: ingestion only
 * queues a row in its own transaction, and a receiver that is slow, down or refusing only
 * makes this loop wait (exponential backoff with jitter, up to maxBackoffMs).
 *
 * Delivery is at least once: a collector killed between a write and the queue's commit sends
 * that batch again at its next start (each message carries agentId and id to deduplicate on).
 * A clean stop finishes the batch in hand, so a restart repeats nothing.
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
  private socket: net.Socket | undefined;
  /** Set when the peer closed or failed: the socket must not carry another batch. */
  private dead = true;
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
    this.dead = true;
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
        await this.write(socket, Buffer.concat(batch.map((e) => frame(syslogMessage(e, this.opts.target.format, { version: this.opts.version, maxBytes: this.opts.target.maxBytes })))));
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
      // The queue's commit comes after the write; a crash between them repeats this batch once.
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
    if (this.socket !== undefined && !this.dead) return Promise.resolve(this.socket);
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
        this.dead = false;
        socket.setKeepAlive(true, 30_000);
        // A syslog receiver sends nothing: anything it does (FIN, data, an error) means the
        // connection is over, and the next batch goes on a new one.
        socket.on('data', () => socket.destroy());
        socket.on('end', () => { if (this.socket === socket) this.dead = true; });
        socket.on('close', () => { if (this.socket === socket) this.dead = true; });
        socket.on('error', () => { if (this.socket === socket) this.dead = true; });
        resolve(socket);
      });
    });
  }

  private write(socket: net.Socket, bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => socket.destroy(new Error('write timed out')), WRITE_TIMEOUT_MS);
      const onClose = () => {
        clearTimeout(timer);
        reject(new Error('the receiver closed the connection'));
      };
      socket.once('close', onClose);
      socket.write(bytes, (e) => {
        clearTimeout(timer);
        socket.off('close', onClose);
        if (e) reject(e);
        else if (this.dead) reject(new Error('the receiver closed the connection'));
        else resolve();
      });
    });
  }
}
