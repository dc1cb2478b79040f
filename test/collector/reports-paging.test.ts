/**
 * Issue 18, "Reports that scale": every report is paged by an opaque keyset cursor the
 * collector signs, with a row cap and a "more" marker, and CSV streams the whole report.
 * In-process collector (buildServer + app.inject) over SQLite and PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/collector/server/index.js';
import { type CollectorEventInput, type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { REPORT_NEXT_HEADER, REPORT_PAGE_MAX, REPORT_PAGE_ROWS } from '../../src/collector-api/reports.js';
import { getTestPostgres } from '../support/postgres.js';

const T0 = Date.parse('2026-05-01T08:00:00Z');

interface Page {
  status: number;
  body: { report: string; rows: Record<string, unknown>[]; nextCursor: string | null; error?: { code: string; message: string } };
  headers: Record<string, unknown>;
}

function pagingSuite(label: string, openStore: (ctx: Mocha.Context) => Promise<CollectorStore>): void {
  describe(`report paging (${label})`, function () {
    this.timeout(120_000);
    let store: CollectorStore;
    let app: FastifyInstance;
    let viewer: string;
    let agents: string[];

    before(async function () {
      store = await openStore(this);
      app = buildServer({ store });
      await app.ready();
      viewer = (await store.createApiToken('viewer', 'paging viewer')).token;
      agents = [];
      for (const computer of ['PG-A', 'PG-B', 'PG-C']) {
        const { token } = await store.createEnrollmentToken({ uses: 1 });
        agents.push((await store.enrollAgent(token, computer)).agent.id);
      }
    });
    after(async () => {
      await app?.close();
    });

    /** `n` elevations per agent, several per millisecond so the time alone does not order them. */
    async function elevations(prefix: string, n: number, time: (i: number) => number): Promise<void> {
      for (const agent of agents) {
        const batch: CollectorEventInput[] = [];
        for (let i = 0; i < n; i++) batch.push({ id: `${prefix}-${i}`, type: 'process-elevated', time: time(i), user: 'CORP\\pat', processPath: `C:\\p\\${prefix}-${i}.exe`, elevatedBy: 'rule', rule: 'r' });
        await store.insertEvents(agent, batch);
      }
    }

    async function get(name: string, query: Record<string, string>): Promise<Page> {
      const r = await app.inject({ method: 'GET', url: `/api/v1/reports/${name}?${new URLSearchParams(query).toString()}`, headers: { authorization: `Bearer ${viewer}` } });
      const body = r.headers['content-type']?.toString().startsWith('application/json') ? r.json() : { text: r.body };
      return { status: r.statusCode, body, headers: r.headers };
    }

    function expectBadCursor(p: Page): void {
      expect(p.status, JSON.stringify(p.body)).to.equal(400);
      expect(p.body.error?.code).to.equal('ASC_COLLECTOR_BAD_INPUT');
      expect(p.body.error?.message).to.be.a('string').and.not.match(/\n/);
    }

    it('returns every row exactly once across pages while rows are inserted before and after the cursor', async () => {
      // 3 agents x 200 events, 4 events per millisecond.
      await elevations('base', 200, (i) => T0 + Math.floor(i / 4));
      const filter = { from: new Date(T0 - 1).toISOString() };
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      let lateAdded = 0;
      do {
        const q: Record<string, string> = { ...filter, limit: '37' };
        if (cursor !== null) q.cursor = cursor;
        const p = await get('elevations', q);
        expect(p.status, JSON.stringify(p.body)).to.equal(200);
        expect(p.body.rows.length).to.be.at.most(37);
        for (const r of p.body.rows) seen.push(`${r.agentId}/${r.eventId}`);
        cursor = p.body.nextCursor;
        if (cursor !== null) expect(p.headers[REPORT_NEXT_HEADER]).to.equal(cursor);
        pages++;
        // Meanwhile agents report more: some behind the cursor (early times), some ahead (late times).
        if (pages <= 5) {
          await elevations(`early${pages}`, 2, () => T0 + 1);
          await elevations(`late${pages}`, 2, (i) => T0 + 10_000 + pages * 10 + i);
          lateAdded += 2 * agents.length;
        }
      } while (cursor !== null && pages < 1000);
      const unique = new Set(seen);
      expect(unique.size, 'no row twice').to.equal(seen.length);
      for (const agent of agents) for (let i = 0; i < 200; i++) expect(unique.has(`${agent}/base-${i}`), `${agent}/base-${i}`).to.equal(true);
      // Rows added ahead of the cursor are read; rows added behind it are the next report's.
      expect(seen.filter((k) => k.includes('/late')).length).to.equal(lateAdded);
      expect(pages).to.be.greaterThan(600 / 37);
    });

    it('pages the other reports by their own unique order too (tse-usage, denied, approvals)', async () => {
      const batch = (agent: string): CollectorEventInput[] =>
        Array.from({ length: 30 }, (_, i) => [
          { id: `tse-${i}`, type: 'process-elevated', time: T0 + 50_000, user: 'CORP\\pat', passcodeId: 'pc-1', sessionId: 's1', processPath: 'x.exe', elevatedBy: 'tse' } as CollectorEventInput,
          { id: `den-${i}`, type: 'elevation-denied', time: T0 + 50_000, user: 'CORP\\pat', processPath: 'y.exe', rule: 'b', reason: 'blacklisted' } as CollectorEventInput,
        ]).flat();
      for (const agent of agents) await store.insertEvents(agent, batch(agent));
      for (let i = 0; i < 25; i++) {
        await store.createApprovalRequest(agents[i % 3] as string, { requestId: `req-${i}`, computer: 'PG-A', user: 'CORP\\pat', processPath: 'z.exe', args: null, justification: 'j' } as never, T0 + Math.floor(i / 5));
      }
      for (const [name, want] of [['tse-usage', 90], ['denied', 90], ['approvals', 25]] as const) {
        const keys: string[] = [];
        let cursor: string | null = null;
        do {
          const p = await get(name, cursor === null ? { limit: '7' } : { limit: '7', cursor });
          expect(p.status, JSON.stringify(p.body)).to.equal(200);
          for (const r of p.body.rows) keys.push(name === 'approvals' ? String(r.id) : `${r.agentId}/${r.eventId}`);
          cursor = p.body.nextCursor;
        } while (cursor !== null);
        expect(keys.length, name).to.equal(want);
        expect(new Set(keys).size, name).to.equal(want);
      }
    });

    it('caps a page: the default size, the largest size, and larger is refused', async () => {
      await elevations('cap', 4000, (i) => T0 + 100_000 + i);
      const all = { from: new Date(T0 + 100_000).toISOString() };
      const first = await get('elevations', all);
      expect(first.status).to.equal(200);
      expect(first.body.rows).to.have.length(REPORT_PAGE_ROWS);
      expect(first.body.nextCursor).to.be.a('string');
      expect(String(first.headers.link)).to.match(/^<\/api\/v1\/reports\/elevations\?[^>]*cursor=[^>]+>; rel="next"$/);
      const big = await get('elevations', { ...all, limit: String(REPORT_PAGE_MAX) });
      expect(big.body.rows).to.have.length(REPORT_PAGE_MAX);
      expect(big.body.nextCursor).to.be.a('string');
      const after = await get('elevations', { ...all, limit: String(REPORT_PAGE_MAX), cursor: big.body.nextCursor as string });
      expect(after.body.rows).to.have.length(12_000 - REPORT_PAGE_MAX);
      expect(after.body.nextCursor, 'the last page says so').to.equal(null);
      expect(after.headers[REPORT_NEXT_HEADER]).to.equal(undefined);
      const tooBig = await get('elevations', { ...all, limit: String(REPORT_PAGE_MAX + 1) });
      expect(tooBig.status).to.equal(400);
    });

    it('CSV: streams the whole report without a limit; one page with a limit, the next cursor in a header', async () => {
      const all = { from: new Date(T0 + 100_000).toISOString(), format: 'csv' };
      const whole = await get('elevations', all);
      expect(whole.status).to.equal(200);
      const text = (whole.body as unknown as { text: string }).text;
      const lines = text.split('\r\n').filter((l) => l !== '');
      expect(lines[0]).to.match(/^time,computer,user,/);
      expect(lines.length - 1).to.equal(12_000);
      const ids = lines.slice(1).map((l) => l.split(',').slice(-2).join('/'));
      expect(new Set(ids).size).to.equal(12_000);
      expect(whole.headers[REPORT_NEXT_HEADER]).to.equal(undefined);

      const page = await get('elevations', { ...all, limit: '500' });
      expect((page.body as unknown as { text: string }).text.split('\r\n').filter((l) => l !== '')).to.have.length(501);
      const next = page.headers[REPORT_NEXT_HEADER];
      expect(next).to.be.a('string');
      expect(String(page.headers.link)).to.contain(`cursor=${next as string}`);
      const second = await get('elevations', { ...all, limit: '500', cursor: next as string });
      const firstIds = (page.body as unknown as { text: string }).text.split('\r\n').slice(1, -1);
      const secondIds = (second.body as unknown as { text: string }).text.split('\r\n').slice(1, -1);
      expect(secondIds[0]).to.not.equal(firstIds[firstIds.length - 1]);
      expect(secondIds).to.deep.equal(lines.slice(501, 1001));
    });

    it('refuses a cursor that was edited, made up, or given for another report or other filters (one line, 400)', async () => {
      const f = { from: new Date(T0 + 100_000).toISOString(), limit: '10' };
      const p = await get('elevations', f);
      const cursor = p.body.nextCursor as string;
      expect(cursor).to.match(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      const [body, sig] = cursor.split('.') as [string, string];
      // The body rewritten to start elsewhere, signature kept.
      const decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { k: unknown[] };
      decoded.k[0] = 0;
      expectBadCursor(await get('elevations', { ...f, cursor: `${Buffer.from(JSON.stringify(decoded)).toString('base64url')}.${sig}` }));
      // One character of the signature changed.
      const flipped = `${body}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
      expectBadCursor(await get('elevations', { ...f, cursor: flipped }));
      // Made up, or not the shape at all (the query schema refuses those: still one line, 400).
      expectBadCursor(await get('elevations', { ...f, cursor: `${Buffer.from('{"v":1,"f":"x","k":[0,"a","b"]}').toString('base64url')}.AAAAAAAAAAAAAAAAAAAAAA` }));
      expectBadCursor(await get('elevations', { ...f, cursor: 'not a cursor' }));
      expectBadCursor(await get('elevations', { ...f, cursor: `${'A'.repeat(2000)}.B` }));
      // A genuine cursor, but of another report or other filters.
      expectBadCursor(await get('denied', { ...f, cursor }));
      expectBadCursor(await get('elevations', { ...f, computer: 'PG-A', cursor }));
      expectBadCursor(await get('elevations', { from: new Date(T0).toISOString(), limit: '10', cursor }));
      // The same filters with another page size and format are the same report: accepted.
      expect((await get('elevations', { ...f, limit: '3', cursor })).status).to.equal(200);
      expect((await get('elevations', { ...f, format: 'csv', cursor })).status).to.equal(200);
    });
  });
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

pagingSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ascend-h18c-paging-'));
  dirs.push(dir);
  return SqliteStore.open(dir);
});

pagingSuite('PostgreSQL', async (ctx) => {
  const server = await getTestPostgres(ctx);
  return PostgresStore.open(await server.createDatabase('paging'));
});

describe('approval list paging (GET /api/v1/approvals)', function () {
  this.timeout(60_000);
  let dir: string;
  let app: FastifyInstance;
  let approver: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-h18c-alist-'));
    const store = await SqliteStore.open(dir);
    app = buildServer({ store });
    await app.ready();
    approver = (await store.createApiToken('approver', 'list pager')).token;
    const { token } = await store.createEnrollmentToken({ uses: 1 });
    const agent = (await store.enrollAgent(token, 'AL-PC')).agent.id;
    const now = Date.now();
    for (let i = 0; i < 23; i++) await store.createApprovalRequest(agent, { requestId: `al-${i}`, user: 'CORP\\pat', processPath: 'z.exe' }, now - 1000 + Math.floor(i / 4));
  });
  after(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function list(query: Record<string, string>): Promise<{ status: number; body: { requests?: { id: string }[]; nextCursor?: string | null; error?: { code: string } } }> {
    const r = await app.inject({ method: 'GET', url: `/api/v1/approvals?${new URLSearchParams(query).toString()}`, headers: { authorization: `Bearer ${approver}` } });
    return { status: r.statusCode, body: r.json() };
  }

  it('pages the pending requests with a cursor bound to the status; a bad cursor is a 400', async () => {
    const ids: string[] = [];
    let cursor: string | null | undefined = null;
    let first: string | undefined;
    do {
      const p = await list(cursor === null || cursor === undefined ? { limit: '5' } : { limit: '5', cursor });
      expect(p.status).to.equal(200);
      ids.push(...(p.body.requests ?? []).map((r) => r.id));
      cursor = p.body.nextCursor;
      first ??= cursor ?? undefined;
    } while (typeof cursor === 'string');
    expect(cursor).to.equal(null);
    expect(ids).to.have.length(23);
    expect(new Set(ids).size).to.equal(23);
    // Without a limit: the whole list fits the default page.
    expect((await list({})).body.requests).to.have.length(23);
    const other = await list({ status: 'approved', cursor: first as string });
    expect(other.status).to.equal(400);
    expect(other.body.error?.code).to.equal('ASC_COLLECTOR_BAD_INPUT');
    expect((await list({ limit: '10001' })).status).to.equal(400);
  });
});
