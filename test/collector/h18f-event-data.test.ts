/**
 * H18f (review M2): an event's `data` is bounded at ingest (EVENT_DATA_MAX_BYTES of JSON; a
 * one-line 400 naming the field), the agent never sends more (its truncation records count
 * too), and report pages and CSV batches end at a byte budget, not only at a row count.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { fitEvent } from '../../agent/spool/fit.js';
import { EVENT_DATA_MAX_BYTES, EVENT_LONG_TEXT_MAX } from '../../src/collector-api/limits.js';
import { buildServer } from '../../src/collector/server/index.js';
import { REPORT_PAGE_BYTES } from '../../src/collector/server/routes/reports.js';
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
      return PostgresStore.open(await (await getTestPostgres(ctx)).createDatabase('h18f_data'));
    },
  },
];

/** `data` whose JSON is exactly `bytes` long, of strings an agent keeps as they are (1,000 characters each). */
function dataOf(bytes: number): Record<string, string> {
  const data: Record<string, string> = {};
  let i = 0;
  while (bytes - JSON.stringify(data).length > 1100) data[`k${i++}`] = 'x'.repeat(1000);
  data.last = '';
  data.last = 'x'.repeat(bytes - JSON.stringify(data).length);
  return data;
}

describe('h18f agent: the data it sends stays within EVENT_DATA_MAX_BYTES', () => {
  it('with the records of cut fields added, data is still within the limit', () => {
    const e = fitEvent({ id: 'e1', type: 'process-elevated', time: 1, args: 'a'.repeat(EVENT_LONG_TEXT_MAX + 10), justification: 'j'.repeat(EVENT_LONG_TEXT_MAX + 10), data: dataOf(EVENT_DATA_MAX_BYTES - 20) });
    const bytes = Buffer.byteLength(JSON.stringify(e.data));
    expect(bytes, 'bytes of data the agent would send').to.be.at.most(EVENT_DATA_MAX_BYTES);
    expect(Object.keys(e.data as object)).to.deep.equal(['truncated']);
    // What was cut is still recorded.
    const truncated = (e.data as unknown as { truncated: Record<string, unknown> }).truncated;
    expect(Object.keys(truncated).sort()).to.deep.equal(['args', 'data', 'justification']);
  });

  it('data within the limit with nothing cut is kept as it is', () => {
    const data = dataOf(EVENT_DATA_MAX_BYTES);
    expect(fitEvent({ id: 'e2', type: 'mfa', time: 1, data }).data).to.deep.equal(data);
  });
});

for (const backend of backends) {
  describe(`h18f collector: event data limit and report byte budget (${backend.name})`, function () {
    this.timeout(120_000);
    let app: FastifyInstance;
    let store: CollectorStore;
    let cred: string;
    let viewer: string;
    let agentId: string;

    before(async function () {
      store = await backend.open(this);
      app = buildServer({ store, webhooks: false, rateLimit: false });
      viewer = (await store.createApiToken('viewer', 'h18f-viewer')).token;
      const { token } = await store.createEnrollmentToken({ uses: 1 });
      const e = await store.enrollAgent(token, 'h18f-pc1');
      cred = e.credential;
      agentId = e.agent.id;
    });

    after(async () => {
      await app?.close();
    });

    const post = (events: unknown[]) => app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization: `Bearer ${cred}` }, payload: { events } });

    it('refuses an event whose data passes the limit, with one line naming it; stores nothing of the batch', async () => {
      const before = await store.countEvents();
      const r = await post([
        { id: 'ok-1', type: 'mfa', time: Date.now(), data: dataOf(100) },
        { id: 'big-1', type: 'process-elevated', time: Date.now(), data: dataOf(EVENT_DATA_MAX_BYTES + 1) },
      ]);
      expect(r.statusCode, r.body).to.equal(400);
      const message = String(r.json().error?.message);
      expect(message).to.contain('events[1].data');
      expect(message).to.contain(String(EVENT_DATA_MAX_BYTES));
      expect(message).to.not.contain('\n');
      expect(await store.countEvents()).to.equal(before);
    });

    it('takes data of exactly the limit, and what the agent fitted', async () => {
      const fitted = fitEvent({ id: 'fit-1', type: 'process-elevated', time: Date.now(), args: 'a'.repeat(EVENT_LONG_TEXT_MAX + 10), data: dataOf(EVENT_DATA_MAX_BYTES - 20) });
      const r = await post([{ id: 'edge-1', type: 'mfa', time: Date.now(), data: dataOf(EVENT_DATA_MAX_BYTES) }, fitted]);
      expect(r.statusCode, r.body).to.equal(200);
      expect(r.json().stored).to.equal(2);
    });

    it('ends a report page at the byte budget, and the cursor walks every row once (JSON and CSV)', async () => {
      // 300 elevations with 30,000-character arguments: about 9 MB of text, over two budgets.
      const t0 = Date.UTC(2026, 5, 1);
      const args = 'r'.repeat(30_000);
      const events = Array.from({ length: 300 }, (_, i) => ({ id: `rep-${String(i).padStart(3, '0')}`, type: 'process-elevated', time: t0 + i, user: 'bob', processPath: '/bin/x', args, elevatedBy: 'rule' as const, rule: 'r1', controls: ['mfa' as const] }));
      for (let i = 0; i < events.length; i += 30) expect(await store.insertEvents(agentId, events.slice(i, i + 30))).to.equal(30);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `from=${new Date(t0).toISOString()}&to=${new Date(t0 + 1000).toISOString()}&limit=1000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
        const r: Awaited<ReturnType<FastifyInstance['inject']>> = await app.inject({ method: 'GET', url: `/api/v1/reports/elevations?${q}`, headers: { authorization: `Bearer ${viewer}` } });
        expect(r.statusCode, r.body.slice(0, 300)).to.equal(200);
        const body = r.json();
        pages++;
        // A page holds about the budget at most (plus one row), whatever the row limit says.
        expect(r.rawPayload.length).to.be.below(REPORT_PAGE_BYTES + 100_000);
        for (const row of body.rows) {
          expect(row.args === args, 'the arguments as stored').to.equal(true);
          expect(row.controls).to.equal('mfa');
          seen.push(row.eventId);
        }
        cursor = body.nextCursor;
      } while (cursor !== null);
      expect(pages, 'pages of a 9 MB report with a 1,000-row limit').to.be.at.least(3);
      expect(seen).to.deep.equal(events.map((e) => e.id));
      const csv = await app.inject({ method: 'GET', url: `/api/v1/reports/elevations?format=csv&from=${new Date(t0).toISOString()}&to=${new Date(t0 + 1000).toISOString()}`, headers: { authorization: `Bearer ${viewer}` } });
      expect(csv.statusCode).to.equal(200);
      const lines = csv.body.split('\r\n').filter((l) => l !== '');
      expect(lines.length).to.equal(301);
      expect(lines.filter((l) => l.includes(args)).length).to.equal(300);
    });
  });
}
