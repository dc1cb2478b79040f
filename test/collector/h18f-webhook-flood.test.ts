/**
 * H18f (review M4): a hostile agent can not flood the webhook queue. elevation.denied
 * deliveries are limited per agent and webhook (10 a minute; the rest are counted in one
 * summary delivery a window, sent when the window ends), approval.* deliveries are claimed
 * ahead of the rest, and delivered or given-up deliveries are pruned after the retention.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/collector/server/index.js';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const backends: { name: string; open(ctx: Mocha.Context): Promise<CollectorStore> }[] = [
  {
    name: 'SQLite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'ascend-h18f-'));
      dirs.push(dir);
      return SqliteStore.open(join(dir, 'data'));
    },
  },
  {
    name: 'PostgreSQL',
    async open(ctx) {
      return PostgresStore.open(await (await getTestPostgres(ctx)).createDatabase('h18f_flood'));
    },
  },
];

const denied = (prefix: string, n: number, time: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, type: 'elevation-denied', time, user: 'bob', processPath: '/bin/x', reason: 'no rule' }));

for (const backend of backends) {
  describe(`h18f webhook flood limits (${backend.name})`, function () {
    this.timeout(120_000);
    let app: FastifyInstance;
    let store: CollectorStore;
    let admin: string;
    let evil: { id: string; credential: string };
    let good: { id: string; credential: string };
    let hookIds: string[];

    before(async function () {
      store = await backend.open(this);
      app = buildServer({ store, webhooks: false, rateLimit: false });
      admin = (await store.createApiToken('admin', 'h18f-admin')).token;
      const t1 = await store.createEnrollmentToken({ uses: 1 });
      const e1 = await store.enrollAgent(t1.token, 'h18f-evil');
      evil = { id: e1.agent.id, credential: e1.credential };
      const t2 = await store.createEnrollmentToken({ uses: 1 });
      const e2 = await store.enrollAgent(t2.token, 'h18f-good');
      good = { id: e2.agent.id, credential: e2.credential };
      hookIds = [];
      for (const n of [1, 2, 3]) {
        const r = await app.inject({
          method: 'POST',
          url: '/api/v1/webhooks',
          headers: { authorization: `Bearer ${admin}` },
          payload: { name: `h18f-${n}`, url: 'https://chat.example/hook', events: ['elevation.denied', 'approval.requested'] },
        });
        expect(r.statusCode, r.body).to.equal(201);
        hookIds.push(r.json().webhook.id);
      }
    });

    after(async () => {
      await app?.close();
      // (Closing the app closed the store.)
    });

    async function pendingOf(hook: string) {
      return store.webhookStore().listDeliveries({ webhookId: hook, status: 'pending', limit: 10_000 });
    }

    it('1,000 denied events in one POST make 10 deliveries and one summary per webhook', async () => {
      const r = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization: `Bearer ${evil.credential}` }, payload: { events: denied('f1', 1000, Date.now()) } });
      expect(r.statusCode, r.body).to.equal(200);
      expect(r.json().stored).to.equal(1000);
      for (const h of hookIds) {
        const list = await pendingOf(h);
        const summaries = list.filter((d) => d.eventKey.includes('-summary:'));
        expect(list.length, 'deliveries of one webhook after a flood').to.equal(11);
        expect(summaries).to.have.length(1);
        const body = JSON.parse(summaries[0]?.body as string);
        expect(body.type).to.equal('elevation.denied');
        expect(body.data.suppressed).to.equal(990);
        expect(body.data.message).to.match(new RegExp(`^990 more elevation.denied events from agent ${evil.id} \\(h18f-evil\\)`));
        // The summary goes out when its window ends, with the window's final count.
        expect(summaries[0]?.nextAttemptAt).to.be.greaterThan(Date.now() + 30_000);
      }
    });

    it('more in the same window only raise the summary count; the next window starts afresh', async () => {
      const now = Date.now();
      expect(await store.insertEvents(evil.id, denied('f2', 500, now), now + 1000)).to.equal(500);
      for (const h of hookIds) {
        const list = await pendingOf(h);
        expect(list.length).to.equal(11);
        expect(JSON.parse(list.find((d) => d.eventKey.includes('-summary:'))?.body as string).data.suppressed).to.equal(1490);
      }
      expect(await store.insertEvents(evil.id, denied('f3', 50, now), now + 61_000)).to.equal(50);
      for (const h of hookIds) {
        const list = await pendingOf(h);
        expect(list.length).to.equal(22);
        const counts = list.filter((d) => d.eventKey.includes('-summary:')).map((d) => JSON.parse(d.body).data.suppressed).sort((a, b) => a - b);
        expect(counts).to.deep.equal([40, 1490]);
      }
      // A resent batch adds nothing.
      expect(await store.insertEvents(evil.id, denied('f3', 50, now), now + 62_000)).to.equal(0);
      for (const h of hookIds) expect((await pendingOf(h)).length).to.equal(22);
    });

    it("another agent's denials have their own limit", async () => {
      const r = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization: `Bearer ${good.credential}` }, payload: { events: denied('g1', 3, Date.now()) } });
      expect(r.json().stored).to.equal(3);
      for (const h of hookIds) expect((await pendingOf(h)).length).to.equal(25);
    });

    it('approval.requested is claimed ahead of the older flood', async () => {
      const r = await app.inject({ method: 'POST', url: '/api/v1/agent/approvals', headers: { authorization: `Bearer ${good.credential}` }, payload: { requestId: 'h18f-good-1', user: 'alice', processPath: '/bin/y' } });
      expect(r.statusCode, r.body).to.equal(201);
      const claimed = await store.webhookStore().claimDue(3, 60_000, Date.now() + 1000);
      expect(claimed.map((c) => c.delivery.eventType)).to.deep.equal(['approval.requested', 'approval.requested', 'approval.requested']);
    });

    it('delivered and given-up deliveries are pruned after the retention; pending ones stay', async () => {
      const hooks = store.webhookStore();
      const list = await pendingOf(hookIds[0] as string);
      const [a, b] = list.filter((d) => !d.eventKey.includes('-summary:'));
      const longAgo = Date.now() - 40 * 24 * 3600_000;
      await hooks.delivered(a?.id as string, longAgo);
      await hooks.attemptFailed(b?.id as string, 'gone', null, longAgo);
      const before = (await hooks.listDeliveries({ limit: 100_000 })).length;
      const n = await hooks.prune(Date.now() - 30 * 24 * 3600_000);
      expect(n).to.equal(2);
      expect((await hooks.listDeliveries({ limit: 100_000 })).length).to.equal(before - 2);
      expect(await hooks.getDelivery(a?.id as string)).to.equal(undefined);
      expect((await pendingOf(hookIds[0] as string)).length).to.equal(list.length - 2);
    });
  });
}

describe('h18f webhook retention: the dispatcher prunes on its own', function () {
  this.timeout(60_000);
  it('a delivery finished longer ago than the retention is deleted by the running dispatcher; a pending one stays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ascend-h18f-'));
    dirs.push(dir);
    const store = await SqliteStore.open(join(dir, 'data'));
    // The receiver is the discard port on loopback: pending deliveries keep failing and stay pending.
    const app = buildServer({ store, rateLimit: false, webhooks: { pollMs: 50, retentionMs: 24 * 3600_000, pruneEveryMs: 100, baseDelayMs: 60_000, maxDelayMs: 60_000 } });
    try {
      const admin = (await store.createApiToken('admin', 'h18f-admin')).token;
      const add = await app.inject({ method: 'POST', url: '/api/v1/webhooks', headers: { authorization: `Bearer ${admin}` }, payload: { name: 'h18f', url: 'http://127.0.0.1:9/hook', events: ['agent.revoked'] } });
      expect(add.statusCode, add.body).to.equal(201);
      const hooks = store.webhookStore();
      const old = await hooks.enqueue({ key: 'h18f-old', type: 'agent.revoked', occurredAt: 0, data: {} });
      const fresh = await hooks.enqueue({ key: 'h18f-fresh', type: 'agent.revoked', occurredAt: 0, data: {} });
      await hooks.delivered(old[0]?.id as string, Date.now() - 2 * 24 * 3600_000);
      await app.ready();
      const end = Date.now() + 30_000;
      while ((await hooks.getDelivery(old[0]?.id as string)) !== undefined) {
        if (Date.now() > end) throw new Error('the old delivery was not pruned');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect((await hooks.getDelivery(fresh[0]?.id as string))?.status).to.equal('pending');
    } finally {
      await app.close();
    }
  });
});
