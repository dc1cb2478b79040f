/**
 * For the webhook tests: a receiver on loopback that records each request (headers and the raw
 * body) and answers as the test says, and a collector (buildServer over a real store) with an
 * admin, an approver and a viewer token and one enrolled agent.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from '../../src/collector/server/index.js';
import type { WebhookSettings } from '../../src/collector/webhooks/dispatcher.js';
import type { CollectorStore } from '../../src/collector/storage/index.js';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  url: string;
}

/** What the receiver does with request number n (0-based): a status, or 'hang' (never answers). */
export type Behaviour = (n: number, r: Received, res: ServerResponse) => number | 'hang' | 'handled';

export class Receiver {
  readonly got: Received[] = [];
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();
  port = 0;

  constructor(public behaviour: Behaviour = () => 200) {}

  async start(port = 0): Promise<number> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), url: req.url ?? '' };
        const n = this.got.length;
        this.got.push(r);
        const what = this.behaviour(n, r, res);
        if (what === 'handled') return;
        if (what === 'hang') {
          this.hanging.add(res);
          return;
        }
        res.writeHead(what, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    // Retried for a moment: the port of a receiver that came back may still be settling.
    for (let i = 0; ; i++) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (e) {
        if (i >= 50) throw e;
        await sleep(100);
      }
    }
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.hanging.clear();
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

export interface Collector {
  app: FastifyInstance;
  base: string;
  admin: string;
  approver: string;
  viewer: string;
  agentCredential: string;
  agentId: string;
}

/** Short retry delays, so the tests see several attempts. */
export const FAST: Partial<WebhookSettings> = { pollMs: 100, baseDelayMs: 150, maxDelayMs: 600, maxAttempts: 1000, timeoutMs: 5000 };

export function newGrantKey(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

export async function startCollector(
  store: CollectorStore,
  grantKey: KeyObject,
  webhooks: Partial<WebhookSettings> = FAST,
  tokens?: Omit<Collector, 'app' | 'base'>,
  tls?: Pick<ServerOptions, 'https' | 'identity'>,
): Promise<Collector> {
  const app = buildServer({ store, identity: { anchor: null, grantKey }, rateLimit: false, webhooks, ...tls });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `${tls?.https ? 'https' : 'http'}://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  if (tokens !== undefined) return { ...tokens, app, base };
  const admin = (await store.createApiToken('admin', 'wh-admin')).token;
  const approver = (await store.createApiToken('approver', 'wh-approver')).token;
  const viewer = (await store.createApiToken('viewer', 'wh-viewer')).token;
  const { token } = await store.createEnrollmentToken({ uses: 1 });
  const e = await store.enrollAgent(token, 'wh-pc1');
  return { app, base, admin, approver, viewer, agentCredential: e.credential, agentId: e.agent.id };
}

export async function api(c: { base: string }, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, any> }> {
  const r = await fetch(`${c.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

/** Polls until check() returns a value (not undefined), or fails after the deadline with `what`. */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, deadlineMs = 30_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
