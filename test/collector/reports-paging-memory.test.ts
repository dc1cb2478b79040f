/**
 * Issue 18, "Reports that scale": a report over 1,000,000 events, streamed as CSV three times
 * at once, by a collector whose V8 heap is capped (--max-old-space-size) far below what the
 * rows take in memory (several hundred MB as JS objects). Holding the report whole crashes
 * that collector with "heap out of memory"; streaming keeps it alive and its heap bounded.
 * A behaviour test: it asserts the collector survives and sends every row once, in order,
 * not how fast. SQLite and PostgreSQL.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import pg from 'pg';
import { PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const CHILD = join(HERE, 'fixtures', 'reports-paging-collector.ts');
const EVENTS = 1_000_000;
/** The collector's old-space cap (MB): the million rows as objects need several times this. */
const HEAP_MB = 96;
const T0 = Date.parse('2026-06-01T00:00:00Z');

/** INSERT of EVENTS process-elevated events of one agent; event i at T0 + i/3 ms (ties), id e0000001... */
function generateSql(agentId: string, dialect: 'sqlite' | 'postgres'): string {
  const payload = (i: string): string =>
    dialect === 'sqlite'
      ? `json_object('id', 'e' || printf('%07d', ${i}), 'type', 'process-elevated', 'processPath', 'C:\\Program Files\\Vendor\\Application\\bin\\tool-' || ${i} || '.exe', 'args', '--config "C:\\ProgramData\\Vendor\\settings.json" --verbose --log-level debug', 'elevatedBy', 'rule', 'rule', 'vendor tools')`
      : `jsonb_build_object('id', 'e' || lpad(${i}::text, 7, '0'), 'type', 'process-elevated', 'processPath', 'C:\\Program Files\\Vendor\\Application\\bin\\tool-' || ${i} || '.exe', 'args', '--config "C:\\ProgramData\\Vendor\\settings.json" --verbose --log-level debug', 'elevatedBy', 'rule', 'rule', 'vendor tools')`;
  const cols = 'agent_id, event_id, type, occurred_at, received_at, computer, user_name, passcode_id, session_id, payload';
  if (dialect === 'sqlite') {
    return `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${EVENTS})
      INSERT INTO events (${cols}) SELECT '${agentId}', 'e' || printf('%07d', i), 'process-elevated', ${T0} + i / 3, ${T0}, 'MEM-PC', 'CORP\\pat', NULL, NULL, ${payload('i')} FROM n`;
  }
  return `INSERT INTO events (${cols}) SELECT '${agentId}', 'e' || lpad(i::text, 7, '0'), 'process-elevated', ${T0} + i / 3, ${T0}, 'MEM-PC', 'CORP\\pat', NULL, NULL, ${payload('i')} FROM generate_series(1, ${EVENTS}) AS i`;
}

interface Started {
  child: ChildProcess;
  url: string;
  token: string;
  exited: Promise<{ code: number | null; signal: string | null; stderr: string }>;
}

function startCollector(arg: string, env: Record<string, string>): Promise<Started> {
  const child = fork(CHILD, [arg], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx', `--max-old-space-size=${HEAP_MB}`],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  const exited = new Promise<{ code: number | null; signal: string | null; stderr: string }>((done) => child.on('exit', (code, signal) => done({ code, signal, stderr })));
  return new Promise((done, fail) => {
    child.once('message', (m) => done({ child, ...(m as { url: string; token: string }), exited }));
    void exited.then((e) => fail(new Error(`the collector exited before it listened (${e.code ?? e.signal}): ${e.stderr}`)));
  });
}

/** Reads the CSV as it comes, keeping only counts: rows, ids strictly increasing. */
function streamCsv(url: string, token: string): Promise<{ status: number; rows: number; ordered: boolean; last: string }> {
  return new Promise((done, fail) => {
    const req = request(`${url}/api/v1/reports/elevations?format=csv`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let rest = '';
      let rows = -1; // the header line
      let ordered = true;
      let last = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\r\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          rows++;
          if (rows === 0) continue;
          const id = line.slice(line.lastIndexOf(',') + 1);
          if (!(id > last)) ordered = false;
          last = id;
        }
      });
      res.on('end', () => done({ status: res.statusCode ?? 0, rows, ordered: ordered && rest === '', last }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

function memorySuite(label: string, streams: number, prepare: (ctx: Mocha.Context) => Promise<{ arg: string; env: Record<string, string>; cleanup: () => Promise<void> }>): void {
  describe(`a report over a million events streams with a bounded heap (${label})`, function () {
    this.timeout(600_000);
    let collector: Started | undefined;
    let cleanup: (() => Promise<void>) | undefined;

    after(async () => {
      if (collector !== undefined) {
        const { child } = collector;
        if (child.connected) child.send('stop', () => undefined);
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await collector.exited;
        clearTimeout(t);
      }
      await cleanup?.();
    });

    it(`${streams} concurrent CSV report(s) of ${EVENTS} rows each, from a collector with a ${HEAP_MB} MB heap`, async function () {
      const prepared = await prepare(this);
      cleanup = prepared.cleanup;
      collector = await startCollector(prepared.arg, prepared.env);
      const results = await Promise.all(Array.from({ length: streams }, () => streamCsv((collector as Started).url, (collector as Started).token)));
      collector.child.send('peak');
      const peak = await new Promise<{ peakHeap: number; peakRss: number }>((done) => collector?.child.once('message', (m) => done(m as { peakHeap: number; peakRss: number })));
      console.log(`      collector peak: heap ${(peak.peakHeap / 2 ** 20).toFixed(1)} MB, RSS ${(peak.peakRss / 2 ** 20).toFixed(1)} MB`);
      expect(collector.child.exitCode, 'the collector is alive').to.equal(null);
      for (const r of results) {
        expect(r.status, JSON.stringify(results)).to.equal(200);
        expect(r.rows).to.equal(EVENTS);
        expect(r.ordered, 'every id once, in order, the CSV complete').to.equal(true);
        expect(r.last).to.equal(`e${String(EVENTS).padStart(7, '0')}`);
      }
      expect(peak.peakHeap).to.be.below(HEAP_MB * 2 ** 20);
    });
  });
}

/** Temp folders, removed at the end even when preparing one failed. */
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

memorySuite('SQLite', 3, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ascend-h18c-mem-'));
  dirs.push(dir);
  const store = await SqliteStore.open(dir);
  const { token } = await store.createEnrollmentToken({ uses: 1 });
  const agentId = (await store.enrollAgent(token, 'MEM-PC')).agent.id;
  await store.close();
  const db = new Database(join(dir, 'collector.db'));
  db.exec(generateSql(agentId, 'sqlite'));
  db.close();
  return { arg: dir, env: {}, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

// One stream on PostgreSQL: the same bound, at a third of the time in the suite.
memorySuite('PostgreSQL', 1, async (ctx) => {
  const server = await getTestPostgres(ctx);
  const url = await server.createDatabase('h18cmem');
  const store = await PostgresStore.open(url);
  const { token } = await store.createEnrollmentToken({ uses: 1 });
  const agentId = (await store.enrollAgent(token, 'MEM-PC')).agent.id;
  await store.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(generateSql(agentId, 'postgres'));
  await client.query('ANALYZE events');
  await client.end();
  return { arg: '', env: { ASCEND_H18C_PG: url }, cleanup: async () => undefined };
});
