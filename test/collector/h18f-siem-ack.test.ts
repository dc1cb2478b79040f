/**
 * H18f (review M5): the SIEM forwarder takes events off its queue only after the receiver has
 * read them (it closed the connection cleanly after reading to the end of the batch), not when
 * the local kernel took the bytes. A receiver that goes away without reading gets the batch
 * again, with the same event ids. Real TCP servers on loopback stand for the receiver.
 */
import net from 'node:net';
import { expect } from 'chai';
import { SiemForwarder, type SiemQueue } from '../../src/collector/siem/forwarder.js';
import type { StoredEvent } from '../../src/collector/storage/index.js';

function makeEvents(n: number, argLength = 200): StoredEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    agentId: 'h18f-agent',
    id: `h18f-e${i}`,
    type: 'elevation-denied',
    time: Date.UTC(2026, 0, 1) + i,
    receivedAt: Date.UTC(2026, 0, 1) + i,
    computer: 'h18f-pc',
    user: 'bob',
    passcodeId: null,
    sessionId: null,
    payload: { reason: 'no rule', args: 'x'.repeat(argLength) },
  }));
}

/** The store's queue, in memory: batches in order, rows leave only through siemDone. */
function memoryQueue(events: StoredEvent[]): SiemQueue & { done: string[]; left(): number } {
  const queued = [...events];
  const done: string[] = [];
  return {
    done,
    left: () => queued.length,
    siemBatch: async (limit) => queued.slice(0, limit),
    siemDone: async (keys) => {
      for (const k of keys) {
        const i = queued.findIndex((e) => e.agentId === k.agentId && e.id === k.id);
        if (i >= 0) queued.splice(i, 1);
        done.push(k.id);
      }
    },
    siemLease: async () => true,
    siemRelease: async () => undefined,
  };
}

/** The ids in octet-counted syslog frames (JSON format). */
function idsIn(bytes: Buffer): string[] {
  const ids: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    const sp = bytes.indexOf(0x20, at);
    if (sp < 0) break;
    const len = Number(bytes.subarray(at, sp).toString());
    const msg = bytes.subarray(sp + 1, sp + 1 + len).toString();
    if (sp + 1 + len > bytes.length) break;
    const m = /"id":"([^"]+)"/.exec(msg);
    if (m) ids.push(m[1] as string);
    at = sp + 1 + len;
  }
  return ids;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as net.AddressInfo).port;
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('h18f SIEM forwarder: rows leave the queue after the receiver read them', function () {
  this.timeout(60_000);

  it('a receiver that reads nothing and resets gets nothing marked done', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => {
      sockets.push(s);
      s.pause();
      s.on('error', () => undefined);
    });
    const port = await listen(server);
    const queue = memoryQueue(makeEvents(200));
    const f = new SiemForwarder({ target: { tls: false, host: '127.0.0.1', port, format: 'json', maxBytes: 8192 }, queue, version: '1', pollMs: 50, minBackoffMs: 50, maxBackoffMs: 200 });
    f.start();
    try {
      // The batch is in the receiver's socket buffer, unread.
      await until('the batch to reach the receiver', () => sockets.some((s) => s.readableLength > 0));
      // The receiver (rsyslog restarted, its host failing) goes away without reading a byte.
      for (const s of sockets) s.resetAndDestroy();
      server.close();
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await f.stop();
    }
    expect(queue.done, 'events marked forwarded that the receiver never read').to.deep.equal([]);
    expect(queue.left()).to.equal(200);
  });

  it('a receiver that reads to the end and closes gets every event once, and the queue empties', async () => {
    const received: string[] = [];
    const server = net.createServer((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      // As rsyslog does: at the end of the stream, it closes its side.
      s.on('end', () => {
        received.push(...idsIn(Buffer.concat(chunks)));
        s.end();
      });
      s.on('error', () => undefined);
    });
    const port = await listen(server);
    const queue = memoryQueue(makeEvents(450));
    const f = new SiemForwarder({ target: { tls: false, host: '127.0.0.1', port, format: 'json', maxBytes: 8192 }, queue, version: '1', pollMs: 50 });
    f.start();
    try {
      await until('the queue to empty', () => queue.left() === 0);
    } finally {
      await f.stop();
      server.close();
    }
    expect(received).to.deep.equal(makeEvents(450).map((e) => e.id));
  });

  it('a receiver that dies mid-batch gets the whole batch again, with the same ids; nothing is lost', async () => {
    const received: string[][] = [];
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      const chunks: Buffer[] = [];
      const first = connections === 1;
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        // The first connection reads part of the batch, then its receiver crashes (a reset).
        if (first && Buffer.concat(chunks).length > 1000) {
          received.push(idsIn(Buffer.concat(chunks)));
          s.resetAndDestroy();
        }
      });
      s.on('end', () => {
        received.push(idsIn(Buffer.concat(chunks)));
        s.end();
      });
      s.on('error', () => undefined);
    });
    const port = await listen(server);
    // One batch (200 events) of about 400 kB: the receiver sees it in several reads.
    const queue = memoryQueue(makeEvents(200, 2000));
    const f = new SiemForwarder({ target: { tls: false, host: '127.0.0.1', port, format: 'json', maxBytes: 8192 }, queue, version: '1', pollMs: 50, minBackoffMs: 50, maxBackoffMs: 200 });
    f.start();
    try {
      await until('the queue to empty', () => queue.left() === 0);
    } finally {
      await f.stop();
      server.close();
    }
    const all = makeEvents(200).map((e) => e.id);
    const partial = received[0] as string[];
    expect(partial.length).to.be.greaterThan(0).and.lessThan(200);
    // Every event arrived; the ones seen twice are the failed batch's, with their ids unchanged.
    expect(received.slice(1).flat()).to.deep.equal(all);
    expect(queue.done).to.deep.equal(all);
  });
});
