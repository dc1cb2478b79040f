/**
 * Webhooks (issue 18, Deliver 2) against a receiver this test runs on loopback and a real
 * collector (buildServer over SQLite, and PostgreSQL where it is installed): admin only, the
 * secret shown once and sealed at rest, signed deliveries a receiver verifies, retries while
 * the receiver is down, no delivery lost over a collector restart (duplicates carry the same
 * delivery id), giving up visibly, and the request path never waiting for a receiver.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { DELIVERY_HEADER, SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/collector-api/webhooks.js';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';
import { api, type Collector, FAST, newGrantKey, Receiver, startCollector, until } from './webhook-support.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ascend-h18a-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A receiver's check, written out as the README shows it (no Ascend code). */
function receiverVerifies(secret: string, header: string, rawBody: string, nowS = Math.floor(Date.now() / 1000)): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowS - t) > 300) return false;
  const want = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const got = Buffer.from(parts.v1 ?? '', 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

describe('h18a webhooks: admin only, secret shown once and sealed at rest', function () {
  this.timeout(60_000);
  let dir: string;
  let store: SqliteStore;
  let c: Collector;
  const rx = new Receiver();

  before(async () => {
    dir = tempDir();
    store = await SqliteStore.open(dir);
    c = await startCollector(store, newGrantKey());
    await rx.start();
  });
  after(async () => {
    await c.app.close();
    await rx.stop();
  });

  it('refuses viewers and approvers on every webhook route', async () => {
    for (const token of [c.viewer, c.approver]) {
      expect((await api(c, token, 'POST', '/api/v1/webhooks', { name: 'x', url: rx.url(), events: ['agent.revoked'] })).status).to.equal(403);
      expect((await api(c, token, 'GET', '/api/v1/webhooks')).status).to.equal(403);
      expect((await api(c, token, 'GET', '/api/v1/webhooks/deliveries')).status).to.equal(403);
      expect((await api(c, token, 'POST', '/api/v1/webhooks/00000000-0000-0000-0000-000000000000/test')).status).to.equal(403);
      expect((await api(c, token, 'POST', '/api/v1/webhooks/00000000-0000-0000-0000-000000000000/remove')).status).to.equal(403);
    }
    expect((await api(c, 'not-a-token', 'GET', '/api/v1/webhooks')).status).to.equal(401);
    expect((await api(c, c.admin, 'GET', '/api/v1/webhooks')).body).to.deep.equal({ webhooks: [], nextCursor: null });
  });

  it('answers the secret once; lists and the database hold neither it nor the URL\'s token part', async () => {
    const url = `${rx.url('/services/T000/B000/very-secret-path')}?key=also-secret`;
    const made = await api(c, c.admin, 'POST', '/api/v1/webhooks', { name: 'sealed', url, events: ['agent.revoked'] });
    expect(made.status).to.equal(201);
    const secret = made.body.secret as string;
    expect(secret).to.match(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(made.body.webhook.url).to.equal(`http://127.0.0.1:${rx.port}/services/…`);
    const listed = JSON.stringify((await api(c, c.admin, 'GET', '/api/v1/webhooks')).body);
    expect(listed).to.not.include(secret.slice(6));
    expect(listed).to.not.include('very-secret-path');
    // What a copy of the database shows.
    const db = new Database(join(dir, 'collector.db'), { readonly: true });
    try {
      const rows = JSON.stringify(db.prepare('SELECT * FROM webhooks').all());
      expect(rows).to.not.include(secret.slice(6));
      expect(rows).to.not.include('very-secret-path');
      expect(rows).to.not.include('also-secret');
    } finally {
      db.close();
    }
    expect((await api(c, c.admin, 'POST', `/api/v1/webhooks/${made.body.webhook.id}/remove`)).status).to.equal(200);
    expect((await api(c, c.admin, 'GET', '/api/v1/webhooks')).body.webhooks).to.deep.equal([]);
  });

  it('refuses targets off loopback without https, link-local and metadata addresses, and credentials in the URL', async () => {
    const refused = [
      'http://example.com/hook',
      'http://10.0.0.5/hook',
      'https://169.254.169.254/latest/meta-data/',
      'https://[fe80::1]/hook',
      'https://[::ffff:169.254.169.254]/hook',
      'https://[fd00:ec2::254]/hook',
      'https://0.0.0.0/hook',
      'https://user:pass@hooks.example.com/hook',
      'ftp://127.0.0.1/hook',
      'file:///etc/passwd',
      'not a url',
    ];
    for (const url of refused) {
      const r = await api(c, c.admin, 'POST', '/api/v1/webhooks', { name: 'bad', url, events: ['agent.revoked'] });
      expect(r.status, url).to.equal(400);
      expect(r.body.error.code, url).to.equal('ASC_COLLECTOR_BAD_INPUT');
    }
    for (const url of ['https://hooks.example.com/x', 'http://localhost:9/x', 'http://[::1]:9/x', 'https://10.0.0.5/x']) {
      const r = await api(c, c.admin, 'POST', '/api/v1/webhooks', { name: 'ok', url, events: ['agent.revoked'] });
      expect(r.status, url).to.equal(201);
      await api(c, c.admin, 'POST', `/api/v1/webhooks/${r.body.webhook.id}/remove`);
    }
  });
});

type Backend = { name: string; open: (ctx: Mocha.Context) => Promise<{ store: CollectorStore; reopen: () => Promise<CollectorStore> }> };
const backends: Backend[] = [
  {
    name: 'SQLite',
    open: async () => {
      const d = tempDir();
      return { store: await SqliteStore.open(d), reopen: () => SqliteStore.open(d) };
    },
  },
  {
    name: 'PostgreSQL',
    open: async (ctx) => {
      // Missing PostgreSQL: skipped locally, a failure under CI (requireComponent).
      const pg = await getTestPostgres(ctx);
      const url = await pg.createDatabase('h18a_webhooks');
      return { store: await PostgresStore.open(url), reopen: () => PostgresStore.open(url) };
    },
  },
];

for (const backend of backends) {
  describe(`h18a webhooks on ${backend.name}: signed deliveries, retries, restarts`, function () {
    this.timeout(90_000);
    const grantKey = newGrantKey();
    let store: CollectorStore;
    let reopen: () => Promise<CollectorStore>;
    let c: Collector;

    before(async function () {
      ({ store, reopen } = await backend.open(this));
      c = await startCollector(store, grantKey);
    });
    after(async () => {
      await c?.app.close();
    });

    async function addHook(url: string, events: string[], format = 'json'): Promise<{ id: string; secret: string }> {
      const r = await api(c, c.admin, 'POST', '/api/v1/webhooks', { name: `hook ${events.join(' ')}`, url, events, format });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      return { id: r.body.webhook.id as string, secret: r.body.secret as string };
    }

    async function delivery(id: string): Promise<Record<string, any>> {
      return (await api(c, c.admin, 'GET', `/api/v1/webhooks/deliveries/${id}`)).body.delivery as Record<string, any>;
    }

    it('delivers a passcode revocation, signed: the receiver verifies it, and a changed body or another secret fails', async () => {
      const rx = new Receiver();
      await rx.start();
      try {
        const hook = await addHook(rx.url(), ['passcode.revoked']);
        expect((await api(c, c.admin, 'POST', '/api/v1/passcodes/h18a-pc-1/revoke', { reason: 'lost <b>laptop</b>' })).status).to.equal(200);
        const got = await until('the delivery', () => rx.got[0]);
        const sig = got.headers[SIGNATURE_HEADER] as string;
        expect(sig).to.match(/^t=\d+,v1=[0-9a-f]{64}$/);
        expect(receiverVerifies(hook.secret, sig, got.body)).to.equal(true);
        expect(verifyWebhookSignature(hook.secret, sig, got.body)).to.equal(true);
        expect(receiverVerifies(hook.secret, sig, got.body.replace('h18a-pc-1', 'h18a-pc-2'))).to.equal(false);
        expect(verifyWebhookSignature(hook.secret, sig, `${got.body} `)).to.equal(false);
        expect(verifyWebhookSignature(`${hook.secret}x`, sig, got.body)).to.equal(false);
        // Too old (a replay a day later) is refused.
        expect(verifyWebhookSignature(hook.secret, sig, got.body, { nowS: Math.floor(Date.now() / 1000) + 86400 })).to.equal(false);
        const body = JSON.parse(got.body);
        expect(body).to.include({ type: 'passcode.revoked', id: got.headers[DELIVERY_HEADER] });
        expect(body.data).to.include({ passcodeId: 'h18a-pc-1', reason: 'lost <b>laptop</b>', by: 'wh-admin' });
        const d = await until('delivered', async () => {
          const x = await delivery(body.id);
          return x.status === 'delivered' ? x : undefined;
        });
        expect(d.attempts).to.equal(1);
        // Revoking again is the same event: no second delivery.
        await api(c, c.admin, 'POST', '/api/v1/passcodes/h18a-pc-1/revoke', {});
        const list = (await api(c, c.admin, 'GET', `/api/v1/webhooks/deliveries?webhook=${hook.id}`)).body.deliveries as unknown[];
        expect(list).to.have.length(1);
        await api(c, c.admin, 'POST', `/api/v1/webhooks/${hook.id}/remove`);
      } finally {
        await rx.stop();
      }
    });

    it('retries while the receiver is down, keeps the delivery over a collector restart, and sends duplicates with the same id', async () => {
      const rx = new Receiver();
      const port = await rx.start();
      await rx.stop(); // down: nothing listens on the port
      const hook = await addHook(`http://127.0.0.1:${port}/hook`, ['agent.revoked']);
      expect((await api(c, c.admin, 'POST', `/api/v1/agents/${c.agentId}/revoke`, { reason: 'stolen' })).status).to.equal(200);
      const [first] = (await api(c, c.admin, 'GET', `/api/v1/webhooks/deliveries?webhook=${hook.id}`)).body.deliveries as Record<string, any>[];
      expect(first).to.include({ event: 'agent.revoked', status: 'pending' });
      const id = first?.id as string;
      const failing = await until('two failed attempts', async () => {
        const d = await delivery(id);
        return d.attempts >= 2 ? d : undefined;
      });
      expect(failing.status).to.equal('pending');
      expect(failing.lastError).to.match(/ECONNREFUSED/);

      // The collector stops; the receiver comes back, taking the first attempt but answering 500.
      await c.app.close();
      const back = new Receiver((n) => (n === 0 ? 500 : 204));
      await back.start(port);
      try {
        store = await reopen();
        c = await startCollector(store, grantKey, FAST, c);
        await until('a delivery after the restart', async () => ((await delivery(id)).status === 'delivered' ? true : undefined));
        expect(back.got.length).to.be.greaterThanOrEqual(2);
        for (const r of back.got) {
          expect(r.headers[DELIVERY_HEADER]).to.equal(id);
          expect(JSON.parse(r.body).id).to.equal(id);
          expect(receiverVerifies(hook.secret, r.headers[SIGNATURE_HEADER] as string, r.body)).to.equal(true);
        }
        expect(JSON.parse(back.got[0]?.body ?? '{}').data).to.include({ agentId: c.agentId, computer: 'wh-pc1', reason: 'stolen' });
        const done = await delivery(id);
        expect(done.attempts).to.be.greaterThanOrEqual(4);
        expect(done.lastError).to.equal(null);
      } finally {
        await back.stop();
        await api(c, c.admin, 'POST', `/api/v1/webhooks/${hook.id}/remove`);
      }
    });

    it('follows no redirect, and a request that raised an event is answered while the receiver still holds the delivery', async () => {
      let release: (() => void) | undefined;
      const rx = new Receiver((n, _r, res) => {
        if (n === 0) {
          release = () => res.writeHead(200).end();
          return 'handled';
        }
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
        return 'handled';
      });
      await rx.start();
      try {
        const hook = await addHook(rx.url(), ['passcode.revoked']);
        // The receiver holds the first delivery open; the revoke still answers.
        const p = api(c, c.admin, 'POST', '/api/v1/passcodes/h18a-pc-hang/revoke', {});
        await until('the held delivery', () => rx.got[0]);
        expect((await p).status).to.equal(200);
        release?.();
        await api(c, c.admin, 'POST', '/api/v1/passcodes/h18a-pc-redirect/revoke', {});
        const list = async () => (await api(c, c.admin, 'GET', `/api/v1/webhooks/deliveries?webhook=${hook.id}`)).body.deliveries as Record<string, any>[];
        const redirected = await until('a refused redirect', async () => (await list()).find((d) => d.attempts >= 1 && d.status === 'pending'));
        expect(redirected.lastError).to.match(/302.*redirect/);
        // Only our receiver was asked, never the redirect's target.
        expect(rx.got.every((r) => r.url === '/hook')).to.equal(true);
        await api(c, c.admin, 'POST', `/api/v1/webhooks/${hook.id}/remove`);
        const after = (await list()).find((d) => d.id === redirected.id);
        expect(after).to.include({ status: 'failed', lastError: 'the webhook was removed' });
      } finally {
        await rx.stop();
      }
    });
  });
}

describe('h18a webhooks: giving up, time-outs and size caps', function () {
  this.timeout(60_000);
  let c: Collector;
  const rx = new Receiver();

  before(async () => {
    const store = await SqliteStore.open(tempDir());
    c = await startCollector(store, newGrantKey(), { ...FAST, maxAttempts: 3, timeoutMs: 300, maxResponseBytes: 1024 });
    await rx.start();
  });
  after(async () => {
    await c.app.close();
    await rx.stop();
  });

  it('gives a delivery up after its attempts, and lists it as failed with the last error', async () => {
    rx.behaviour = () => 503;
    const r = await api(c, c.admin, 'POST', '/api/v1/webhooks', { name: 'gives up', url: rx.url(), events: ['passcode.revoked'] });
    await api(c, c.admin, 'POST', '/api/v1/passcodes/h18a-gu/revoke', {});
    const failed = await until('given up', async () => {
      const l = (await api(c, c.admin, 'GET', '/api/v1/webhooks/deliveries?status=failed')).body.deliveries as Record<string, any>[];
      return l[0];
    });
    expect(failed).to.include({ attempts: 3, status: 'failed', lastError: 'the receiver answered 503', nextAttemptAt: null });
    expect(rx.got).to.have.length(3);
    const listed = (await api(c, c.admin, 'GET', '/api/v1/webhooks')).body.webhooks as Record<string, any>[];
    expect(listed.find((h) => h.id === r.body.webhook.id)?.deliveries).to.deep.equal({ pending: 0, delivered: 0, failed: 1 });
    await api(c, c.admin, 'POST', `/api/v1/webhooks/${r.body.webhook.id}/remove`);
  });

  it('ends an attempt that gets no answer in time, and does not read an endless answer', async () => {
    rx.got.length = 0;
    rx.behaviour = (n, _r, res) => {
      if (n === 0) return 'hang';
      // An answer that never ends: the cap ends the read, the status counts.
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(16 * 1024, 97);
      const pump = () => {
        while (res.write(chunk)) {
          /* fill */
        }
      };
      res.on('drain', pump);
      pump();
      return 'handled';
    };
    const r = await api(c, c.admin, 'POST', '/api/v1/webhooks', { name: 'slow', url: rx.url(), events: ['passcode.revoked'] });
    await api(c, c.admin, 'POST', '/api/v1/passcodes/h18a-slow/revoke', {});
    const l = async () => ((await api(c, c.admin, 'GET', `/api/v1/webhooks/deliveries?webhook=${r.body.webhook.id}`)).body.deliveries as Record<string, any>[])[0];
    const timedOut = await until('a timed-out attempt', async () => ((await l())?.attempts >= 1 ? l() : undefined));
    expect(timedOut?.lastError).to.equal('no answer within 300 ms');
    const delivered = await until('delivered', async () => ((await l())?.status === 'delivered' ? l() : undefined));
    expect(delivered?.attempts).to.equal(2);
    await api(c, c.admin, 'POST', `/api/v1/webhooks/${r.body.webhook.id}/remove`);
  });
});
