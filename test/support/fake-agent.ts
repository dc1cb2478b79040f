/**
 * A fake agent on a Unix socket the test controls: for each connection it records the client's
 * bytes (the request and what follows it) and answers with the bytes the test gives, then closes
 * (or keeps the connection open). For the clients' handling of hostile or broken agents.
 */
import net from 'node:net';

export interface FakeAgent {
  /** The next connection gets this answer; `close: false` keeps the connection open after it. */
  answer(bytes: Buffer, opts?: { close?: boolean; afterRequest?: boolean }): void;
  /** The bytes each connection sent so far, oldest first. */
  received: Buffer[];
  stop(): Promise<void>;
}

export async function startFakeAgent(socketPath: string): Promise<FakeAgent> {
  let next: { bytes: Buffer; close: boolean; afterRequest: boolean } = { bytes: Buffer.alloc(0), close: true, afterRequest: true };
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    const index = received.push(Buffer.alloc(0)) - 1;
    const plan = next;
    let answered = false;
    const reply = (): void => {
      if (answered) return;
      answered = true;
      sock.write(plan.bytes, () => {
        if (plan.close) sock.end();
      });
    };
    sock.on('data', (d: Buffer) => {
      received[index] = Buffer.concat([received[index] as Buffer, d]);
      if (plan.afterRequest && received[index]?.includes(0x0a)) reply();
    });
    if (!plan.afterRequest) reply();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    answer(bytes, opts = {}) {
      next = { bytes, close: opts.close ?? true, afterRequest: opts.afterRequest ?? true };
    },
    received,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
