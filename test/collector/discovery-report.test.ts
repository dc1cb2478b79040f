/**
 * Issue 19, Deliver 4: the Discovery reports. Events go in through the collector's real
 * POST /api/v1/events from enrolled agents; the reports come out of GET /api/v1/reports/NAME
 * as JSON (paged by the signed keyset cursor) and CSV (streamed whole, or one page), on
 * SQLite and PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/collector/server/index.js';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { REPORT_COLUMNS } from '../../src/collector-api/reports.js';
import { getTestPostgres } from '../support/postgres.js';

const T0 = Date.parse('2026-11-02T09:00:00Z');
const HASH = 'a'.repeat(64);

interface Json {
  report: string;
  columns: string[];
  rows: Record<string, unknown>[];
  nextCursor: string | null;
  error?: { code: string; message: string };
}

function discoverySuite(label: string, openStore: (ctx: Mocha.Context) => Promise<CollectorStore>): void {
  describe(`Discovery reports (${label})`, function () {
    this.timeout(120_000);
    let app: FastifyInstance;
    let viewer: string;
    const agents: Record<string, string> = {};

    async function call(method: 'GET' | 'POST', url: string, auth: string, payload?: object): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
      const r = await app.inject({ method, url, headers: { authorization: `Bearer ${auth}` }, ...(payload === undefined ? {} : { payload }) });
      return { status: r.statusCode, body: r.body, headers: r.headers };
    }
    async function json(name: string, query: Record<string, string> = {}): Promise<Json> {
      const r = await call('GET', `/api/v1/reports/${name}?${new URLSearchParams(query).toString()}`, viewer);
      const body = JSON.parse(r.body) as Json;
      if (r.status !== 200) return body;
      return body;
    }
    /** Every row of a report, following the cursors at `limit` rows a page. */
    async function allRows(name: string, query: Record<string, string>, limit: number): Promise<Record<string, unknown>[]> {
      const rows: Record<string, unknown>[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 1000; i++) {
        const q: Record<string, string> = { ...query, limit: String(limit) };
        if (cursor !== null) q.cursor = cursor;
        const page = await json(name, q);
        expect(page.rows, JSON.stringify(page)).to.be.an('array');
        expect(page.rows.length).to.be.at.most(limit);
        rows.push(...page.rows);
        cursor = page.nextCursor;
        if (cursor === null) return rows;
      }
      throw new Error('the cursor never ended');
    }

    function discovered(id: string, time: number, user: string, processPath: string, args: string, result: string, data: Record<string, unknown> = {}): object {
      return { id, type: 'elevation-discovered', time, user, processPath, args, result, ...(result === 'would-allow' ? { rule: 'restart-web', controls: ['justify'] } : {}), data: { runAs: 'root', cwd: '/home/x', source: 'journal', sha256: HASH, ...data } };
    }

    before(async function () {
      const store = await openStore(this);
      app = buildServer({ store });
      await app.ready();
      viewer = (await store.createApiToken('viewer', 'discovery viewer')).token;
      for (const computer of ['DISC-PC1', 'DISC-PC2']) {
        const { token } = await store.createEnrollmentToken({ uses: 1 });
        const r = await call('POST', '/api/v1/enroll', '', { enrollmentToken: token, computer });
        agents[computer] = (JSON.parse(r.body) as { credential: string }).credential;
      }
      const pc1 = [
        discovered('d1', T0, 'CORP\\ann', '/usr/bin/systemctl', 'restart nginx', 'would-allow', { publisher: 'deb:systemd' }),
        discovered('d2', T0 + 1000, 'CORP\\ann', '/usr/bin/systemctl', 'restart ssh', 'no-rule', { publisher: 'deb:systemd' }),
        discovered('d3', T0 + 2000, 'CORP\\bob', '/usr/bin/systemctl', 'mask cups', 'would-deny', { publisher: 'deb:systemd' }),
        discovered('d4', T0 + 3000, 'CORP\\bob', '/usr/bin/apt-get', 'install -y jq', 'no-rule', { publisher: 'deb:apt' }),
        // A field a spreadsheet would read as a formula, and markup: data, never code.
        discovered('d5', T0 + 4000, 'CORP\\bob', '/opt/tools/=cmd.sh', '<img src=x onerror=alert(1)>', 'no-rule'),
        // Another event type is no part of the report.
        { id: 'x1', type: 'process-elevated', time: T0 + 5000, user: 'CORP\\ann', processPath: '/usr/bin/id', elevatedBy: 'rule', rule: 'r' },
      ];
      const pc2 = [discovered('d1', T0 + 500, 'CORP\\cat', '/usr/bin/systemctl', 'restart nginx', 'would-allow', { publisher: 'deb:systemd' })];
      for (const [pc, events] of [['DISC-PC1', pc1], ['DISC-PC2', pc2]] as const) {
        const r = await call('POST', '/api/v1/events', agents[pc] as string, { events });
        expect(r.status, r.body).to.equal(200);
        // Sent twice (an agent restarted before its saved position caught up): kept once.
        expect((await call('POST', '/api/v1/events', agents[pc] as string, { events })).status).to.equal(200);
      }
    });
    after(async () => {
      await app?.close();
    });

    it('lists every discovered run once with its data, in time order, and nothing else', async () => {
      const r = await json('discovery');
      expect(r.columns).to.deep.equal(REPORT_COLUMNS.discovery);
      expect(r.rows.map((x) => x.args)).to.deep.equal(['restart nginx', 'restart nginx', 'restart ssh', 'mask cups', 'install -y jq', '<img src=x onerror=alert(1)>']);
      const first = r.rows[0] as Record<string, unknown>;
      expect(first).to.include({ time: new Date(T0).toISOString(), computer: 'DISC-PC1', user: 'CORP\\ann', runAs: 'root', processPath: '/usr/bin/systemctl', cwd: '/home/x', result: 'would-allow', rule: 'restart-web', controls: 'justify', publisher: 'deb:systemd', sha256: HASH, source: 'journal' });
      expect(r.rows[1]).to.include({ computer: 'DISC-PC2', user: 'CORP\\cat' });
      const byUser = await json('discovery', { user: 'corp\\BOB' });
      expect(byUser.rows.map((x) => x.eventId)).to.deep.equal(['d3', 'd4', 'd5']);
      const byTime = await json('discovery', { from: new Date(T0 + 1000).toISOString(), to: new Date(T0 + 3000).toISOString() });
      expect(byTime.rows.map((x) => x.eventId)).to.deep.equal(['d2', 'd3']);
    });

    it('groups by program with runs, users, computers, first and last seen, and the share the rules the agents had would allow', async () => {
      const r = await json('discovery-programs');
      expect(r.columns).to.deep.equal(REPORT_COLUMNS['discovery-programs']);
      const systemctl = r.rows.find((x) => x.processPath === '/usr/bin/systemctl');
      expect(systemctl).to.deep.equal({
        processPath: '/usr/bin/systemctl',
        runs: 4,
        users: 3,
        computers: 2,
        firstSeen: new Date(T0).toISOString(),
        lastSeen: new Date(T0 + 2000).toISOString(),
        wouldAllow: 2,
        wouldDeny: 1,
        noRule: 1,
        coveredPercent: 50,
      });
      expect(r.rows.map((x) => x.processPath)).to.deep.equal(['/opt/tools/=cmd.sh', '/usr/bin/apt-get', '/usr/bin/systemctl']);
    });

    it('groups by program and user (who) and by program and computer (where)', async () => {
      const users = await json('discovery-users');
      expect(users.columns).to.deep.equal(REPORT_COLUMNS['discovery-users']);
      expect(users.rows.filter((x) => x.processPath === '/usr/bin/systemctl').map((x) => [x.user, x.runs, x.coveredPercent])).to.deep.equal([
        ['CORP\\ann', 2, 50],
        ['CORP\\bob', 1, 0],
        ['CORP\\cat', 1, 100],
      ]);
      const computers = await json('discovery-computers', { user: 'CORP\\ann' });
      expect(computers.rows.map((x) => [x.processPath, x.computer, x.runs, x.users])).to.deep.equal([['/usr/bin/systemctl', 'DISC-PC1', 2, 1]]);
    });

    it('pages the raw and the grouped reports by signed cursors: every row once, bound to the report and the filters', async () => {
      const whole = (await json('discovery-users')).rows;
      expect(whole.length).to.equal(5);
      expect(await allRows('discovery-users', {}, 1)).to.deep.equal(whole);
      expect(await allRows('discovery-programs', {}, 2)).to.deep.equal((await json('discovery-programs')).rows);
      expect((await allRows('discovery', {}, 4)).map((x) => x.eventId)).to.deep.equal((await json('discovery')).rows.map((x) => x.eventId));
      const page = await json('discovery-users', { limit: '2' });
      expect(page.nextCursor).to.be.a('string');
      // A cursor of one grouped report is refused by another, and with other filters.
      for (const [name, q] of [['discovery-computers', {}], ['discovery-users', { user: 'CORP\\ann' }], ['discovery', {}]] as const) {
        const bad = await json(name, { ...q, cursor: page.nextCursor as string });
        expect(bad.error?.code, name).to.equal('ASC_COLLECTOR_BAD_INPUT');
      }
      const passcode = await json('discovery-programs', { passcode: 'p1' });
      expect(passcode.error?.code).to.equal('ASC_COLLECTOR_BAD_INPUT');
    });

    it('streams CSV with the same columns, defusing formula-like cells', async () => {
      const r = await call('GET', '/api/v1/reports/discovery-programs?format=csv', viewer);
      expect(r.status).to.equal(200);
      expect(String(r.headers['content-type'])).to.match(/^text\/csv/);
      const lines = r.body.trimEnd().split('\r\n');
      expect(lines[0]).to.equal(REPORT_COLUMNS['discovery-programs'].join(','));
      expect(lines).to.have.length(4);
      expect(lines[1]).to.match(/^'\/opt\/tools\/=cmd\.sh|^\/opt\/tools\/=cmd\.sh/);
      expect(lines[3]).to.equal(`/usr/bin/systemctl,4,3,2,${new Date(T0).toISOString()},${new Date(T0 + 2000).toISOString()},2,1,1,50`);
      const paged = await call('GET', '/api/v1/reports/discovery-users?format=csv&limit=2', viewer);
      expect(paged.body.trimEnd().split('\r\n')).to.have.length(3);
      expect(paged.headers['ascend-next-cursor']).to.be.a('string');
    });
  });
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

discoverySuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ascend-h19c-disc-'));
  dirs.push(dir);
  return SqliteStore.open(dir);
});

discoverySuite('PostgreSQL', async (ctx) => {
  const server = await getTestPostgres(ctx);
  return PostgresStore.open(await server.createDatabase('h19c_discovery'));
});
