/**
 * The SIEM feed against a real rsyslog (Debian's rsyslogd on a loopback port): what rsyslog
 * writes is every event, once, parseable, in JSON and CEF, on SQLite and PostgreSQL, across a
 * collector restart in the middle of a backlog and a receiver that goes down and comes back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { EVENT_IDS } from '../../src/collector-api/event-ids.js';
import { EVENT_TYPES, type EventType } from '../../src/collector-api/events.js';
import { SiemForwarder, type SiemQueue } from '../../src/collector/siem/forwarder.js';
import type { SiemFormat } from '../../src/collector/siem/format.js';
import { parseSyslogTarget } from '../../src/collector/siem/target.js';
import { type CollectorEventInput, type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';
import { parseCef, pollUntil, type SyslogLine, TestRsyslog } from '../support/rsyslog.js';

const HOSTILE = 'x\n<13>1 2026-01-01T00:00:00Z evil ascend - agent-error - {"eventId":900}\r\n12 injected|cs1=evil\\ act=y \u0001\u007f\u2028"}';
// (No NUL: PostgreSQL stores none in TEXT or JSONB; the format tests cover it.)

function makeEvents(prefix: string, n: number): CollectorEventInput[] {
  return Array.from({ length: n }, (_, i) => {
    const type = EVENT_TYPES[i % EVENT_TYPES.length] as EventType;
    return {
      id: `${prefix}-${i}`,
      type,
      time: Date.UTC(2026, 0, 1) + i * 1000,
      user: i % 3 === 0 ? HOSTILE : `CORP\\user${i}`,
      processPath: '/usr/bin/apt',
      args: i % 2 === 0 ? HOSTILE : `install pkg${i}`,
      reason: i % 4 === 0 ? HOSTILE : undefined,
      rule: 'admins|apt',
    };
  });
}

interface Seen {
  agentId: string;
  id: string;
  eventId: number;
  args: string | undefined;
  user: string | undefined;
  truncated: boolean;
}

/** Parses what rsyslog wrote: every line must parse, in the feed's format. */
function parseLines(lines: SyslogLine[], format: SiemFormat): Seen[] {
  return lines.map((l) => {
    if (format === 'json') {
      const j = JSON.parse(l.msg) as Record<string, unknown>;
      expect(l.msgid).to.equal(j.type);
      return { agentId: String(j.agentId), id: String(j.id), eventId: Number(j.eventId), args: j.args as string | undefined, user: j.user as string | undefined, truncated: j.truncated === true };
    }
    const { header, ext } = parseCef(l.msg);
    expect(header.slice(0, 3)).to.deep.equal(['CEF:0', 'Ascend', 'Ascend Privilege Manager']);
    expect(l.msgid).to.equal(ext.cat);
    return { agentId: String(ext.deviceExternalId), id: String(ext.externalId), eventId: Number(header[4]), args: ext.cs3, user: ext.suser, truncated: ext.cn1 === '1' && ext.cn1Label === 'truncated' };
  });
}

/** A queue that hands out at most `batches` batches, then nothing: a collector stopped in the middle of a backlog. */
function stopsAfter(queue: SiemQueue, batches: number): SiemQueue {
  let left = batches;
  return {
    siemBatch: async (limit) => (left-- > 0 ? queue.siemBatch(limit) : []),
    siemDone: (keys) => queue.siemDone(keys),
    siemLease: (holder, until) => queue.siemLease(holder, until),
    siemRelease: (holder) => queue.siemRelease(holder),
  };
}

interface Backend {
  open(): Promise<CollectorStore>;
  reopen(): Promise<CollectorStore>;
  dispose(): void;
}

function feedSuite(name: string, format: SiemFormat, backend: (ctx: Mocha.Context) => Promise<Backend>): void {
  describe(`SIEM feed to a real rsyslog: ${name}, ${format}`, function () {
    this.timeout(120_000);
    let rsyslog: TestRsyslog;
    let db: Backend;
    let store: CollectorStore;
    let agentId: string;
    let forwarder: SiemForwarder | undefined;
    const sent: CollectorEventInput[] = [];

    const forward = (queue: SiemQueue, batchSize = 7) => {
      const f = new SiemForwarder({
        target: parseSyslogTarget(`tcp://127.0.0.1:${rsyslog.port}`, { format }),
        queue,
        version: '0.1.0-test',
        batchSize,
        pollMs: 50,
        minBackoffMs: 50,
        maxBackoffMs: 400,
      });
      f.start();
      return f;
    };

    before(async function () {
      rsyslog = await TestRsyslog.create(this);
      db = await backend(this);
      store = await db.open();
      store.enableSiemQueue();
      const { token } = await store.createEnrollmentToken({});
      agentId = (await store.enrollAgent(token, 'WS-SIEM')).agent.id;
    });

    after(async () => {
      await forwarder?.stop();
      await store?.close();
      await rsyslog?.dispose();
      db?.dispose();
    });

    it('forwards a backlog, is stopped in the middle, and after a restart sends the rest: each event once', async () => {
      // One event far over rsyslog's default 8 KiB message: sent shortened, still parseable (its data at the collector's 16 KB limit).
      const big = { id: 'big', type: 'process-elevated', time: Date.now(), args: `${'é|='.repeat(10_000)}`, user: 'CORP\\big', data: { blob: 'x'.repeat(16_000) } } as CollectorEventInput;
      const first = [...makeEvents('a', 39), big];
      await store.insertEvents(agentId, first);
      sent.push(...first);
      // The first collector forwards 2 batches of 7 and stops cleanly.
      forwarder = forward(stopsAfter(store, 2));
      await pollUntil('2 batches sent', async () => ((await store.siemQueued()) === 40 - 14 ? true : undefined));
      await forwarder.stop();
      await store.close();
      // Restart: the queue is in the database.
      store = await db.reopen();
      store.enableSiemQueue();
      expect(await store.siemQueued()).to.equal(26);
      const second = makeEvents('b', 10);
      await store.insertEvents(agentId, second);
      sent.push(...second);
      // The agent sends an already stored batch again (a lost answer): not forwarded twice.
      expect(await store.insertEvents(agentId, first.slice(0, 5))).to.equal(0);
      forwarder = forward(store);
      await pollUntil('the queue drained', async () => ((await store.siemQueued()) === 0 ? true : undefined));
      await pollUntil('rsyslog wrote 50 lines', () => (rsyslog.lines().length >= 50 ? true : undefined));
    });

    it('keeps events while the receiver is down and delivers them when it is back', async () => {
      // The forwarder holds an idle connection; the receiver goes away under it.
      await rsyslog.stop();
      const third = makeEvents('c', 12);
      await store.insertEvents(agentId, third);
      sent.push(...third);
      // It can not deliver: the events stay queued while it backs off.
      await new Promise((r) => setTimeout(r, 300));
      expect(await store.siemQueued()).to.equal(12);
      await rsyslog.start();
      await pollUntil('the queue drained', async () => ((await store.siemQueued()) === 0 ? true : undefined));
    });

    it('wrote every event exactly once, parseable, hostile fields intact', async () => {
      await forwarder?.stop();
      forwarder = undefined;
      await rsyslog.stop(); // rsyslog writes out everything it took
      const seen = parseLines(rsyslog.lines(), format);
      const keys = seen.map((s) => `${s.agentId}/${s.id}`);
      expect(new Set(keys).size, 'duplicates').to.equal(keys.length);
      expect([...keys].sort()).to.deep.equal(sent.map((e) => `${agentId}/${e.id}`).sort());
      const byId = new Map(sent.map((e) => [e.id, e]));
      for (const s of seen) {
        const e = byId.get(s.id);
        expect(s.eventId).to.equal(EVENT_IDS[e?.type as EventType].id);
        if (s.id === 'big') {
          expect(s.truncated, 'the big event is marked shortened').to.equal(true);
          expect(e?.args?.startsWith((s.args ?? '').replace(/…$/, '')), 'a prefix of its args').to.equal(true);
          expect(s.user).to.equal('CORP\\big');
          continue;
        }
        expect(s.truncated).to.equal(false);
        const expectText = (v: unknown) => (format === 'cef' && typeof v === 'string' ? v.replace(/[\u0001\u007f\u2028]/g, '\ufffd') : v);
        expect(s.args).to.equal(expectText(e?.args));
        expect(s.user).to.equal(expectText(e?.user));
      }
      for (const l of rsyslog.lines()) expect(l.hostname).to.equal('WS-SIEM');
    });
  });
}

feedSuite('SQLite', 'json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'h18b-siem-'));
  return { open: () => SqliteStore.open(dir), reopen: () => SqliteStore.open(dir), dispose: () => rmSync(dir, { recursive: true, force: true }) };
});

feedSuite('PostgreSQL', 'cef', async (ctx) => {
  const server = await getTestPostgres(ctx);
  const url = await server.createDatabase('h18b_siem');
  return { open: () => PostgresStore.open(url), reopen: () => PostgresStore.open(url), dispose: () => undefined };
});

describe('SIEM feed: two collectors sharing one PostgreSQL database', function () {
  this.timeout(120_000);
  let rsyslog: TestRsyslog;
  const stores: CollectorStore[] = [];
  const forwarders: SiemForwarder[] = [];

  after(async () => {
    for (const f of forwarders) await f.stop();
    for (const s of stores) await s.close();
    await rsyslog?.dispose();
  });

  it('forward each event once (one holds the feed), and the other takes over when it stops', async function () {
    rsyslog = await TestRsyslog.create(this);
    const url = await (await getTestPostgres(this)).createDatabase('h18b_siem_two');
    for (let i = 0; i < 2; i++) {
      const s = await PostgresStore.open(url);
      s.enableSiemQueue();
      stores.push(s);
    }
    const [a, b] = stores as [CollectorStore, CollectorStore];
    const { token } = await a.createEnrollmentToken({ uses: 2 });
    const agentId = (await a.enrollAgent(token, 'WS-TWO')).agent.id;
    for (const s of stores) {
      const f = new SiemForwarder({ target: parseSyslogTarget(`tcp://127.0.0.1:${rsyslog.port}`), queue: s, version: 't', batchSize: 5, pollMs: 20 });
      f.start();
      forwarders.push(f);
    }
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const batch = makeEvents(`two${i}`, 5);
      ids.push(...batch.map((e) => e.id));
      await (i % 2 === 0 ? a : b).insertEvents(agentId, batch);
    }
    await pollUntil('the queue drained', async () => ((await a.siemQueued()) === 0 ? true : undefined));
    // The holder stops (a clean stop releases the lease): the other carries on.
    await (forwarders.shift() as SiemForwarder).stop();
    const late = makeEvents('late', 5);
    ids.push(...late.map((e) => e.id));
    await a.insertEvents(agentId, late);
    await pollUntil('the late events forwarded', async () => ((await a.siemQueued()) === 0 ? true : undefined));
    await rsyslog.stop();
    const seen = parseLines(rsyslog.lines(), 'json').map((s) => s.id);
    expect(new Set(seen).size, 'duplicates').to.equal(seen.length);
    expect([...seen].sort()).to.deep.equal([...ids].sort());
  });
});
