/**
 * The audit trail's parts, below the agent: events cut to the collector's published limits
 * (and accepted by the real collector), a refused batch split so only the bad event is set
 * aside, the spool's reserve for elevation and session events, reservations held before a
 * program starts, and repeated denials counted instead of spooled.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { cutText, fitEvent } from '../../agent/spool/fit.js';
import { Spool, type SpoolEvent } from '../../agent/spool/spool.js';
import { collectorSender, Uploader, type SendResult } from '../../agent/spool/uploader.js';
import { AuditTrail } from '../../agent/daemon/audit.js';
import { EVENT_LONG_TEXT_MAX, EVENT_STRING_LIMITS, EVENT_TEXT_MAX } from '../../src/collector-api/limits.js';
import { buildServer } from '../../src/collector/server/index.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { isAscendError } from '../../src/errors.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'h4t-spool-'));
  dirs.push(d);
  return d;
}
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const ev = (id: string, extra: Partial<SpoolEvent> = {}): SpoolEvent => ({ id, type: 'process-elevated', time: 1_700_000_000_000, ...extra });

async function drain(spool: Spool): Promise<SpoolEvent[]> {
  const out: SpoolEvent[] = [];
  for (;;) {
    const b = await spool.read();
    if (b.events.length === 0) return out;
    out.push(...b.events);
    await spool.ack(b.next);
  }
}

describe('audit trail parts: limits, split batches, spool reserve, repeated denials', function () {
  this.timeout(30_000);

  describe('fitEvent (the published limits)', () => {
    it('cuts a 40 KB argument to the limit with a marker, the length and the SHA-256, also in data.truncated', () => {
      const args = `x ${'a'.repeat(40960)}`;
      const fitted = fitEvent(ev('big', { args, user: 'alice', data: { account: 'acc' } }));
      const hash = sha256(args);
      expect(fitted.args).to.be.a('string');
      const text = fitted.args as string;
      expect(text.length).to.be.at.most(EVENT_LONG_TEXT_MAX);
      expect(text.startsWith('x aaaa')).to.equal(true);
      expect(text.endsWith(`…[truncated: 40962 chars, sha256 ${hash}]`)).to.equal(true);
      expect(fitted.data).to.deep.equal({ account: 'acc', truncated: { args: { length: 40962, sha256: hash } } });
      expect(fitted.user).to.equal('alice');
      // Fitting again changes nothing and keeps the record.
      expect(fitEvent(fitted)).to.deep.equal(fitted);
    });

    it('counts characters as the collector does and never splits a surrogate pair', () => {
      const emoji = '😀'.repeat(EVENT_TEXT_MAX); // 4096 characters, 8192 UTF-16 units: within the limit
      expect(cutText(emoji, EVENT_TEXT_MAX).cut).to.equal(undefined);
      const over = cutText(`${emoji}!`, EVENT_TEXT_MAX);
      expect(over.cut?.length).to.equal(EVENT_TEXT_MAX + 1);
      expect(over.text).to.not.match(/[\ud800-\udbff](?![\udc00-\udfff])/);
      expect([...over.text].length).to.be.at.most(EVENT_TEXT_MAX);
    });

    it('leaves an event within the limits as it is', () => {
      const e = ev('small', { args: 'a b', message: 'm', data: { x: 1 } });
      expect(fitEvent(e)).to.deep.equal(e);
    });
  });

  describe('against the real collector', () => {
    let app: FastifyInstance;
    let store: SqliteStore;
    let url: string;
    let credential: string;
    let agentId: string;

    before(async () => {
      store = await SqliteStore.open(tempDir());
      app = buildServer({ store });
      await app.listen({ host: '127.0.0.1', port: 0 });
      url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const t = await store.createEnrollmentToken({ uses: 1 });
      const e = await store.enrollAgent(t.token, 'H4T-PC');
      credential = e.credential;
      agentId = e.agent.id;
    });
    after(async () => {
      await app.close();
    });

    it('stores an event whose every field was past its limit, once fitted', async () => {
      const huge = '\u0001"\\😀'.repeat(30000);
      const fields: Record<string, unknown> = {};
      for (const f of Object.keys(EVENT_STRING_LIMITS)) fields[f] = huge;
      const raw = ev('every-field-huge', { ...fields, processIds: Array.from({ length: 12000 }, (_, i) => i), data: { account: huge, blob: Array.from({ length: 2000 }, () => 'y'.repeat(100)) } });
      const send = collectorSender(url, credential, { kind: 'insecure' });
      expect((await send([raw])).kind, 'the collector refuses it as it is').to.equal('rejected');
      expect(await send([fitEvent(raw)])).to.deep.equal({ kind: 'stored' });
      const stored = (await store.listEvents(agentId)).find((e) => e.id === 'every-field-huge');
      expect(stored).to.not.equal(undefined);
    });

    it('splits a refused batch of 10: the 9 good events are stored, the poison one alone is set aside and reported', async () => {
      const dir = tempDir();
      const spool = await Spool.open(dir);
      const batch = Array.from({ length: 10 }, (_, i) => ev(`batch-${i}`, { user: `user${i}` }));
      // An event the collector refuses as it is (written around the fitting, as a bug or an older agent would).
      batch[6] = ev('batch-6', { args: 'z'.repeat(40_000) });
      await spool.append(batch);
      const uploader = new Uploader(spool, collectorSender(url, credential, { kind: 'insecure' }), { batchEvents: 100 });
      expect(await uploader.sendOnce()).to.equal('rejected');
      const ids = new Set((await store.listEvents(agentId)).map((e) => e.id));
      for (let i = 0; i < 10; i++) expect(ids.has(`batch-${i}`), `batch-${i}`).to.equal(i !== 6);
      expect(uploader.status).to.include({ sent: 9, rejected: 1 });
      const lines = readFileSync(join(dir, 'rejected.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.events.map((e: SpoolEvent) => e.id))).to.deep.equal([['batch-6']]);
      // The set-aside is reported through the spool, and that report reaches the collector.
      expect(await uploader.sendOnce()).to.equal('sent');
      const report = (await store.listEvents(agentId)).find((e) => e.id === 'spool-rejected-batch-6');
      expect(report?.type).to.equal('agent-error');
      await spool.close();
    });
  });

  describe('Uploader splitting with a sender', () => {
    it('sends halves until the bad events are alone, and after a retry goes on where it stopped', async () => {
      const spool = await Spool.open(tempDir());
      await spool.append(Array.from({ length: 10 }, (_, i) => ev(`s${i}`)));
      const stored = new Set<string>();
      const sends = new Map<string, number>();
      let down = false;
      let goDown = true;
      const send = async (events: SpoolEvent[]): Promise<SendResult> => {
        if (down) return { kind: 'retry', reason: 'down' };
        for (const e of events) sends.set(e.id, (sends.get(e.id) ?? 0) + 1);
        if (events.some((e) => e.id === 's2' || e.id === 's7')) return { kind: 'rejected', reason: 'poison' };
        for (const e of events) stored.add(e.id);
        // The collector goes away after the first part it stored.
        if (goDown) (down = true), (goDown = false);
        return { kind: 'stored' };
      };
      const uploader = new Uploader(spool, send, { batchEvents: 100 });
      expect(await uploader.sendOnce()).to.equal('retry');
      expect(await spool.isDrained(), 'nothing is acknowledged before the whole batch is settled').to.equal(false);
      const s0Sends = sends.get('s0');
      down = false;
      expect(await uploader.sendOnce()).to.equal('rejected');
      expect([...stored].sort()).to.deep.equal(['s0', 's1', 's3', 's4', 's5', 's6', 's8', 's9']);
      expect(uploader.status.rejected).to.equal(2);
      // s0 and s1 were stored before the collector went away: they are not sent again.
      expect(sends.get('s0')).to.equal(s0Sends);
      const rest = await drain(spool);
      expect(rest.map((e) => e.id)).to.deep.equal(['spool-rejected-s2']);
      expect(rest[0]?.data).to.deep.include({ rejected: 2 });
      await spool.close();
    });
  });

  describe('the spool reserve', () => {
    it('keeps the last part for elevation and session events: denials stop short of it', async () => {
      const spool = await Spool.open(tempDir(), { maxBytes: 8000, reserveBytes: 2000 });
      const denial = (i: number) => ev(`d${i}`, { type: 'elevation-denied', args: 'p'.repeat(400) });
      let stored = 0;
      for (let i = 0; i < 40; i++) stored += (await spool.append([denial(i)])).stored;
      expect(stored).to.be.greaterThan(0).and.lessThan(40);
      expect(spool.stats().bytes).to.be.at.most(6000);
      // An elevation still fits, in the reserve.
      expect(await spool.append([ev('elevated', { args: 'q'.repeat(400) })])).to.deep.equal({ stored: 1, dropped: 0 });
      expect(spool.stats().bytes).to.be.greaterThan(6000 - 500);
      // A failed MFA check is a refusal a user can repeat: it stops short of the reserve too.
      expect(await spool.append([ev('mfa-refused', { type: 'mfa', result: 'refused' })])).to.deep.equal({ stored: 0, dropped: 1 });
      expect(await spool.append([ev('mfa-verified', { type: 'mfa', result: 'verified' })])).to.deep.equal({ stored: 1, dropped: 0 });
      await spool.close();
    });

    it('holds room for an event before the program starts; others cannot take it; commit writes it', async () => {
      const spool = await Spool.open(tempDir(), { maxBytes: 3000, reserveBytes: 1000 });
      const size = Spool.recordBytes(ev('e1', { args: 'r'.repeat(1000), pid: Number.MAX_SAFE_INTEGER }));
      const held = await spool.reserve(size);
      expect(held).to.not.equal(undefined);
      expect(spool.stats().reserved).to.equal(size);
      // Elevation events fill the rest: the held room stays free.
      let stored = 0;
      for (let i = 0; i < 10; i++) stored += (await spool.append([ev(`x${i}`, { args: 'r'.repeat(1000) })])).stored;
      expect(stored).to.equal(1);
      expect(await spool.reserve(size), 'no room for a second hold').to.equal(undefined);
      await held?.commit(ev('e1', { args: 'r'.repeat(1000), pid: 1234 }));
      expect(spool.stats().reserved).to.equal(0);
      expect(spool.stats().bytes).to.be.at.most(3000);
      expect((await drain(spool)).map((e) => e.id)).to.deep.equal(['x0', 'e1']);
      await spool.close();
    });
  });

  describe('AuditTrail', () => {
    it('refuses before anything starts when the spool cannot hold the event (ASC_AUDIT_UNAVAILABLE)', async () => {
      const spool = await Spool.open(tempDir(), { maxBytes: 2000, reserveBytes: 500 });
      const audit = new AuditTrail({ spool, computer: 'H4T-PC', now: () => Date.now(), collects: () => true });
      const ok = await audit.reserve('the elevation of /usr/bin/true', 'process-elevated', { user: 'u', processPath: '/usr/bin/true', args: 'a'.repeat(900) }, { pid: Number.MAX_SAFE_INTEGER });
      await ok.commit({ pid: 42 });
      let started = false;
      try {
        await audit.reserve('the elevation of /usr/bin/true', 'process-elevated', { user: 'u', processPath: '/usr/bin/true', args: 'a'.repeat(900) });
        started = true;
      } catch (e) {
        expect(isAscendError(e) && e.code).to.equal('ASC_AUDIT_UNAVAILABLE');
        expect((e as Error).message).to.equal('the elevation of /usr/bin/true is refused: the agent cannot record it because its event spool is full; nothing was started');
      }
      expect(started).to.equal(false);
      const events = await drain(spool);
      expect(events.map((e) => [e.type, e.pid])).to.deep.equal([['process-elevated', 42]]);
      audit.close();
      await spool.close();
    });

    it('counts 50 identical denials: the first at once, the rest as one event with data.repeated when the window closes', async () => {
      const spool = await Spool.open(tempDir());
      let clock = 0;
      const audit = new AuditTrail({ spool, computer: 'H4T-PC', now: () => Date.now(), collects: () => true, repeatWindowMs: 60_000, monotonic: () => clock });
      const denial = { user: 'mallory', processPath: '/usr/bin/su', args: 'x'.repeat(100), reason: 'no-match', message: 'no elevation rule matches' };
      for (let i = 0; i < 50; i++) await audit.emit('elevation-denied', denial);
      // Another user's denial is not folded into mallory's.
      await audit.emit('elevation-denied', { ...denial, user: 'bob' });
      let events = await drain(spool);
      expect(events.map((e) => e.user)).to.deep.equal(['mallory', 'bob']);
      clock = 61_000;
      await audit.flush();
      events = await drain(spool);
      expect(events).to.have.length(1);
      expect(events[0]).to.deep.include({ type: 'elevation-denied', user: 'mallory', processPath: '/usr/bin/su', reason: 'no-match' });
      expect((events[0]?.data as { repeated: number }).repeated).to.equal(49);
      expect(events[0]?.message).to.match(/repeated 49 more times/);
      audit.close();
      await spool.close();
    });
  });
});
