/**
 * Issue 18, Deliver 4: every admin list route is paged like the reports (a signed keyset
 * cursor bound to the list and its filters, a row cap, nextCursor plus the ascend-next-cursor
 * and Link headers): GET /api/v1/agents, /tokens, /passcodes, /webhooks,
 * /webhooks/deliveries (newest first), and the approvals watch reads a bounded number of rows.
 * In-process collector (buildServer + app.inject) over SQLite and PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/collector/server/index.js';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { REPORT_NEXT_HEADER, REPORT_PAGE_MAX, REPORT_PAGE_ROWS } from '../../src/collector-api/reports.js';
import { EventEmitter } from 'node:events';
import { DECIDED_MAX, PENDING_MAX, watchApprovals } from '../../src/collector/server/routes/approval-watch.js';
import type { ApprovalFilter, ApprovalRequest } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';

const T0 = Date.parse('2026-06-01T08:00:00Z');

interface Page {
  status: number;
  body: Record<string, unknown> & { nextCursor?: string | null; error?: { code: string; message: string } };
  headers: Record<string, unknown>;
}

/** A list route, how to add rows to it at a time, and each row's name. */
interface ListCase {
  path: string;
  field: string;
  /** true: newest first (the cursor walks back in time). */
  newestFirst?: boolean;
  add: (tag: string, n: number, time: (i: number) => number) => Promise<void>;
  name: (row: Record<string, unknown>) => string;
}

function listsSuite(label: string, openStore: (ctx: Mocha.Context) => Promise<CollectorStore>): void {
  describe(`admin list paging (${label})`, function () {
    this.timeout(180_000);
    let store: CollectorStore;
    let app: FastifyInstance;
    let admin: string;
    let hookA: string;
    let hookB: string;
    let seq = 0;

    before(async function () {
      store = await openStore(this);
      app = buildServer({ store, webhooks: false });
      await app.ready();
      admin = (await store.createApiToken('admin', 'lists admin')).token;
      const hooks = store.webhookStore();
      const add = (name: string) => hooks.add({ name, url: 'https://hooks.example.invalid/x', events: ['approval.requested'], format: 'json', createdBy: 'test', seal: () => 'unused' }, T0 - 1000);
      hookA = (await add('deliveries A')).id;
      hookB = (await add('deliveries B')).id;
    });
    after(async () => {
      await app?.close();
    });

    async function get(path: string, query: Record<string, string>, token = admin): Promise<Page> {
      const qs = new URLSearchParams(query).toString();
      const r = await app.inject({ method: 'GET', url: qs === '' ? path : `${path}?${qs}`, headers: { authorization: `Bearer ${token}` } });
      return { status: r.statusCode, body: r.json(), headers: r.headers };
    }

    function expectBadCursor(p: Page): void {
      expect(p.status, JSON.stringify(p.body)).to.equal(400);
      expect(p.body.error?.code).to.equal('ASC_COLLECTOR_BAD_INPUT');
      expect(p.body.error?.message).to.be.a('string').and.not.match(/\n/);
    }

    const cases: ListCase[] = [
      {
        path: '/api/v1/agents',
        field: 'agents',
        add: async (tag, n, time) => {
          for (let i = 0; i < n; i++) {
            const { token } = await store.createEnrollmentToken({ uses: 1 });
            await store.enrollAgent(token, `${tag}-${i}`, time(i));
          }
        },
        name: (r) => String(r.computer),
      },
      {
        path: '/api/v1/tokens',
        field: 'tokens',
        add: async (tag, n, time) => {
          for (let i = 0; i < n; i++) await store.createApiToken('viewer', `${tag}-${i}`, time(i));
        },
        name: (r) => String(r.name),
      },
      {
        path: '/api/v1/passcodes',
        field: 'passcodes',
        add: async (tag, n, time) => {
          for (let i = 0; i < n; i++) await store.registerPasscode({ id: `${tag}-${i}`, title: 'paging', maxUses: null, issuedAt: time(i) });
        },
        name: (r) => String(r.id),
      },
      {
        path: '/api/v1/webhooks',
        field: 'webhooks',
        add: async (tag, n, time) => {
          for (let i = 0; i < n; i++) {
            await store.webhookStore().add({ name: `${tag}-${i}`, url: 'https://hooks.example.invalid/y', events: ['agent.revoked'], format: 'json', createdBy: 'test', seal: () => 'unused' }, time(i));
          }
        },
        name: (r) => String(r.name),
      },
      {
        path: '/api/v1/revocations',
        field: 'revocations',
        add: async (tag, n, time) => {
          for (let i = 0; i < n; i++) await store.revokePasscode(`${tag}-${i}`, 'paging', time(i));
        },
        name: (r) => String(r.subject),
      },
      {
        path: '/api/v1/webhooks/deliveries',
        field: 'deliveries',
        newestFirst: true,
        add: async (tag, n, time) => {
          for (let i = 0; i < n; i++) {
            await store.webhookStore().enqueue({ key: `${tag}-${i}`, type: 'approval.requested', occurredAt: time(i), data: {} }, { only: hookA, now: time(i) });
          }
        },
        // The delivery view names no event key: the id, matched against the store's afterwards.
        name: (r) => String(r.id),
      },
    ];

    for (const c of cases) {
      it(`${c.path}: every row exactly once across pages while rows are added behind and ahead of the cursor`, async () => {
        const tag = `L${++seq}`;
        // 40 rows, 5 per millisecond: the time alone does not order them.
        await c.add(`${tag}b`, 40, (i) => T0 + Math.floor(i / 5));
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        let ahead = 0;
        do {
          const p: Page = await get(c.path, cursor === null ? { limit: '7' } : { limit: '7', cursor });
          expect(p.status, JSON.stringify(p.body)).to.equal(200);
          const rows = p.body[c.field] as Record<string, unknown>[];
          expect(rows.length).to.be.at.most(7);
          seen.push(...rows.map(c.name));
          cursor = p.body.nextCursor ?? null;
          if (cursor !== null) {
            expect(p.headers[REPORT_NEXT_HEADER]).to.equal(cursor);
            expect(String(p.headers.link)).to.equal(`<${c.path}?limit=7&cursor=${cursor}>; rel="next"`);
          } else {
            expect(p.headers[REPORT_NEXT_HEADER]).to.equal(undefined);
            expect(p.headers.link).to.equal(undefined);
          }
          pages++;
          if (pages <= 4) {
            // Behind the cursor (in the order already walked) and ahead of it.
            const behind = c.newestFirst ? (i: number) => T0 + 5000 + pages * 10 + i : () => T0 - 500;
            const later = c.newestFirst ? (i: number) => T0 - 5000 - pages * 10 - i : (i: number) => T0 + 5000 + pages * 10 + i;
            await c.add(`${tag}x${pages}`, 2, behind);
            await c.add(`${tag}a${pages}`, 2, later);
            ahead += 2;
          }
        } while (cursor !== null && pages < 500);
        expect(new Set(seen).size, 'no row twice').to.equal(seen.length);
        if (c.field === 'deliveries') {
          // Deliveries: compare ids with the store's own (newest first, this test's keys only).
          const all = await store.webhookStore().listDeliveries({ webhookId: hookA, limit: 100_000 });
          const base = all.filter((d) => d.eventKey.startsWith(`${tag}b-`)).map((d) => d.id);
          const late = all.filter((d) => d.eventKey.startsWith(`${tag}a`)).map((d) => d.id);
          expect(base).to.have.length(40);
          for (const id of base) expect(seen).to.include(id);
          expect(late).to.have.length(ahead);
          for (const id of late) expect(seen).to.include(id);
        } else {
          for (let i = 0; i < 40; i++) expect(seen, `${tag}b-${i}`).to.include(`${tag}b-${i}`);
          expect(seen.filter((n) => n.startsWith(`${tag}a`))).to.have.length(ahead);
        }
        expect(pages).to.be.greaterThan(40 / 7);
      });
    }

    it('caps a page: default REPORT_PAGE_ROWS, at most REPORT_PAGE_MAX, more is a 400; the last page has nextCursor null', async () => {
      await cases[2]!.add('cap', REPORT_PAGE_ROWS + 5, (i) => T0 + 100_000 + i);
      const first = await get('/api/v1/passcodes', {});
      expect(first.status).to.equal(200);
      expect(first.body.passcodes).to.have.length(REPORT_PAGE_ROWS);
      expect(first.body.nextCursor).to.be.a('string');
      const all = await get('/api/v1/passcodes', { limit: String(REPORT_PAGE_MAX) });
      expect(all.status).to.equal(200);
      const total = (all.body.passcodes as unknown[]).length;
      expect(total).to.be.greaterThan(REPORT_PAGE_ROWS).and.at.most(REPORT_PAGE_MAX);
      expect(all.body.nextCursor).to.equal(null);
      const rest = await get('/api/v1/passcodes', { cursor: first.body.nextCursor as string });
      expect((rest.body.passcodes as unknown[]).length).to.equal(total - REPORT_PAGE_ROWS);
      expect(rest.body.nextCursor).to.equal(null);
      for (const path of ['/api/v1/agents', '/api/v1/tokens', '/api/v1/passcodes', '/api/v1/webhooks', '/api/v1/webhooks/deliveries', '/api/v1/approvals', '/api/v1/revocations']) {
        const over = await get(path, { limit: String(REPORT_PAGE_MAX + 1) });
        expect(over.status, path).to.equal(400);
        expect(over.body.error?.message).to.match(/^query\.limit must be at most 10000$/);
        for (const bad of ['0', '-1', 'x', '1e3']) expect((await get(path, { limit: bad })).status, `${path} limit=${bad}`).to.equal(400);
      }
      // The deliveries list keeps its own default page (100), newest first.
      await cases[5]!.add('capd', 105, (i) => T0 + 200_000 + i);
      const d = await get('/api/v1/webhooks/deliveries', { webhook: hookA });
      expect(d.body.deliveries).to.have.length(100);
      expect(d.body.more).to.equal(true);
      const times = (d.body.deliveries as { createdAt: string }[]).map((x) => Date.parse(x.createdAt));
      expect(times).to.deep.equal([...times].sort((a, b) => b - a));
    });

    it('refuses a tampered, made-up, malformed or other list\'s cursor, and one of other filters, with one line', async () => {
      await cases[0]!.add('R', 2, () => T0 + 400_000);
      const agents = await get('/api/v1/agents', { limit: '1' });
      const cursor = agents.body.nextCursor as string;
      expect(cursor).to.be.a('string');
      expect((await get('/api/v1/agents', { cursor })).status).to.equal(200);
      // Another list's cursor.
      for (const path of ['/api/v1/tokens', '/api/v1/passcodes', '/api/v1/webhooks', '/api/v1/webhooks/deliveries', '/api/v1/approvals', '/api/v1/revocations']) expectBadCursor(await get(path, { cursor }));
      // A revocations cursor is bound to its `since`.
      await cases[4]!.add('Rv', 3, () => T0 + 400_000);
      const rv = await get('/api/v1/revocations', { since: new Date(T0).toISOString(), limit: '1' });
      expect(rv.body.nextCursor).to.be.a('string');
      expect((await get('/api/v1/revocations', { since: new Date(T0).toISOString(), cursor: rv.body.nextCursor as string })).status).to.equal(200);
      expectBadCursor(await get('/api/v1/revocations', { since: new Date(T0 + 1).toISOString(), cursor: rv.body.nextCursor as string }));
      expectBadCursor(await get('/api/v1/revocations', { cursor: rv.body.nextCursor as string }));
      // Edited body (its key moved), flipped tag, made up, malformed, too long.
      const [body, sig] = cursor.split('.') as [string, string];
      const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { k: [number, string, string] };
      parsed.k[0] -= 1;
      expectBadCursor(await get('/api/v1/agents', { cursor: `${Buffer.from(JSON.stringify(parsed)).toString('base64url')}.${sig}` }));
      expectBadCursor(await get('/api/v1/agents', { cursor: `${body}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}` }));
      expectBadCursor(await get('/api/v1/agents', { cursor: `${body}.AAAAAAAAAAAAAAAAAAAAAA` }));
      expectBadCursor(await get('/api/v1/agents', { cursor: 'abc.def' }));
      expectBadCursor(await get('/api/v1/agents', { cursor: 'no-dot' }));
      expectBadCursor(await get('/api/v1/agents', { cursor: `${'A'.repeat(1100)}.${sig}` }));
      // Deliveries: the cursor is bound to the webhook and status filters.
      await cases[5]!.add('bind', 3, (i) => T0 + 300_000 + i);
      await store.webhookStore().enqueue({ key: 'bind-b', type: 'approval.requested', occurredAt: T0, data: {} }, { only: hookB, now: T0 + 300_000 });
      const dA = await get('/api/v1/webhooks/deliveries', { webhook: hookA, limit: '1' });
      const dc = dA.body.nextCursor as string;
      expect(dc).to.be.a('string');
      expect(String(dA.headers.link)).to.equal(`</api/v1/webhooks/deliveries?webhook=${hookA}&limit=1&cursor=${dc}>; rel="next"`);
      expect((await get('/api/v1/webhooks/deliveries', { webhook: hookA, cursor: dc })).status).to.equal(200);
      expectBadCursor(await get('/api/v1/webhooks/deliveries', { webhook: hookB, cursor: dc }));
      expectBadCursor(await get('/api/v1/webhooks/deliveries', { cursor: dc }));
      expectBadCursor(await get('/api/v1/webhooks/deliveries', { webhook: hookA, status: 'pending', cursor: dc }));
      // An approvals cursor is bound to its status.
      const { token } = await store.createEnrollmentToken({ uses: 1 });
      const agent = (await store.enrollAgent(token, 'BIND-APPR')).agent.id;
      for (let i = 0; i < 3; i++) await store.createApprovalRequest(agent, { requestId: `bind-${i}`, user: 'CORP\\pat', processPath: 'z.exe' });
      const ap = await get('/api/v1/approvals', { limit: '1' });
      expect(ap.body.nextCursor).to.be.a('string');
      expect(ap.headers[REPORT_NEXT_HEADER]).to.equal(ap.body.nextCursor);
      expectBadCursor(await get('/api/v1/approvals', { status: 'denied', cursor: ap.body.nextCursor as string }));
    });

    it('keeps each list behind its role: a viewer pages agents and passcodes, not tokens or webhooks', async () => {
      const viewer = (await store.createApiToken('viewer', 'lists viewer')).token;
      expect((await get('/api/v1/agents', { limit: '2' }, viewer)).status).to.equal(200);
      expect((await get('/api/v1/passcodes', { limit: '2' }, viewer)).status).to.equal(200);
      expect((await get('/api/v1/tokens', { limit: '2' }, viewer)).status).to.equal(403);
      expect((await get('/api/v1/webhooks', { limit: '2' }, viewer)).status).to.equal(403);
    });
  });
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

listsSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ascend-h18e-lists-'));
  dirs.push(dir);
  return SqliteStore.open(dir);
});

listsSuite('PostgreSQL', async (ctx) => {
  const server = await getTestPostgres(ctx);
  return PostgresStore.open(await server.createDatabase('lists'));
});

for (const [label, openWatchStore] of [
  ['SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ascend-h18e-watch-'));
    dirs.push(dir);
    return SqliteStore.open(dir);
  }],
  ['PostgreSQL', async (ctx: Mocha.Context) => PostgresStore.open(await (await getTestPostgres(ctx)).createDatabase('watch'))],
] as const) describe(`the approvals watch reads a bounded number of rows (${label})`, function () {
  this.timeout(180_000);
  let app: FastifyInstance;
  let approver: string;
  let store: CollectorStore;

  before(async function () {
    store = await openWatchStore(this);
    app = buildServer({ store, webhooks: false });
    await app.ready();
    approver = (await store.createApiToken('approver', 'watcher', Date.now(), { owners: ['CORP\\boss'] })).token;
    const { token } = await store.createEnrollmentToken({ uses: 1 });
    const agent = (await store.enrollAgent(token, 'WATCH-PC')).agent.id;
    const now = Date.now();
    for (let i = 0; i < PENDING_MAX + 10; i++) await store.createApprovalRequest(agent, { requestId: `p-${i}`, user: 'CORP\\pat', processPath: 'z.exe' }, now - 60_000 + i);
    // Decided ones: more than the watch shows; the last decided must come first.
    for (let i = 0; i < DECIDED_MAX + 20; i++) {
      const r = await store.createApprovalRequest(agent, { requestId: `d-${i}`, user: 'CORP\\pat', processPath: 'z.exe' }, now - 120_000 + i);
      await store.decideApproval(r.id, { approve: i % 2 === 0, by: 'CORP\\boss' }, now - 30_000 + i);
    }
  });
  after(async () => {
    await app?.close();
  });

  it('reads at most PENDING_MAX + 1 pending and DECIDED_MAX decided rows from the store, whatever it holds', async () => {
    // The real store, with each read's row count noted.
    const counted: number[] = [];
    const deps = {
      store: {
        listApprovals: async (f?: ApprovalFilter) => note(await store.listApprovals(f)),
        recentlyDecidedApprovals: async (from: number, limit: number) => note(await store.recentlyDecidedApprovals(from, limit)),
        expirePendingApprovals: (ttl: number, now?: number) => store.expirePendingApprovals(ttl, now),
      },
      ttlMs: 3600_000,
      pollIntervalMs: 1000,
      events: new EventEmitter(),
      closing: new AbortController().signal,
      view: (r: ApprovalRequest) => r.requestId,
    };
    function note<T>(rows: T[]): T[] {
      counted.push(rows.length);
      return rows;
    }
    const state = await watchApprovals({ raw: new EventEmitter() } as never, deps, undefined, 0);
    expect(state.pending).to.have.length(PENDING_MAX);
    expect(state.decided).to.have.length(DECIDED_MAX);
    expect(counted).to.have.length(2);
    expect(Math.max(...counted)).to.be.at.most(PENDING_MAX + 1);
    expect(counted.reduce((a, b) => a + b, 0)).to.be.at.most(PENDING_MAX + 1 + DECIDED_MAX);
  });

  it('sends the oldest PENDING_MAX pending with pendingMore, and the DECIDED_MAX last decided, newest first', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v1/approvals/watch', headers: { authorization: `Bearer ${approver}` } });
    expect(r.statusCode, r.body).to.equal(200);
    const body = r.json() as { pending: { requestId: string }[]; pendingMore: boolean; decided: { requestId: string; decidedAt: string }[] };
    expect(body.pending).to.have.length(PENDING_MAX);
    expect(body.pending[0]?.requestId).to.equal('p-0');
    expect(body.pendingMore).to.equal(true);
    expect(body.decided).to.have.length(DECIDED_MAX);
    expect(body.decided[0]?.requestId).to.equal(`d-${DECIDED_MAX + 19}`);
    expect(body.decided[DECIDED_MAX - 1]?.requestId).to.equal('d-20');
  });
});
