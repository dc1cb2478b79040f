/**
 * The agent's durable event spool and its uploader: record framing (byte literals), append /
 * read / acknowledge across segments, torn tails, bounded disk use with a reported drop,
 * kill -9 while appending and while uploading, and a collector outage — against the real
 * collector server (SQLite) on loopback.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { decodeRecord, encodeRecord } from '../../agent/spool/record.js';
import { Spool, type SpoolEvent } from '../../agent/spool/spool.js';
import { collectorSender, Uploader } from '../../agent/spool/uploader.js';
import { buildServer } from '../../src/collector/server/index.js';
import { SqliteStore } from '../../src/collector/storage/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const dirs: string[] = [];
after(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ascend-spool-'));
  dirs.push(d);
  return d;
}
const ev = (id: string, extra: Partial<SpoolEvent> = {}): SpoolEvent => ({ id, type: 'policy-applied', time: 1_700_000_000_000, ...extra });

function child(script: string, args: string[]): { proc: ChildProcess; lines: string[]; waitFor: (pred: (lines: string[]) => boolean) => Promise<void> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'fixtures', script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffer = '';
  let stderr = '';
  const waiters: { pred: (l: string[]) => boolean; done: () => void }[] = [];
  proc.stdout?.on('data', (b: Buffer) => {
    buffer += b.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of [...waiters]) if (w.pred(lines)) (waiters.splice(waiters.indexOf(w), 1), w.done());
  });
  proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  return {
    proc,
    lines,
    waitFor: (pred) =>
      new Promise((done, fail) => {
        if (pred(lines)) return done();
        waiters.push({ pred, done });
        proc.on('exit', (code, sig) => fail(new Error(`${script} exited (${code ?? sig}) early: ${stderr}`)));
      }),
  };
}

async function killed(proc: ChildProcess): Promise<void> {
  const gone = new Promise((r) => proc.on('exit', r));
  proc.kill('SIGKILL');
  await gone;
}

async function drainAll(spool: Spool): Promise<SpoolEvent[]> {
  const out: SpoolEvent[] = [];
  for (;;) {
    const b = await spool.read(100);
    if (b.events.length === 0) return out;
    out.push(...b.events);
    await spool.ack(b.next);
  }
}

describe('agent event spool', function () {
  this.timeout(60_000);

  describe('record framing', () => {
    it('writes length, CRC-32 and payload, little-endian', () => {
      // CRC-32 of "ab" is 0x9e83486d.
      expect(encodeRecord(Buffer.from('ab')).toString('hex')).to.equal('020000006d48839e6162');
      const r = decodeRecord(Buffer.from('020000006d48839e6162', 'hex'), 0);
      expect('payload' in r && r.payload.toString()).to.equal('ab');
      expect(decodeRecord(Buffer.from('020000006d48839e61', 'hex'), 0)).to.deep.equal({ reason: 'truncated' });
      expect(decodeRecord(Buffer.from('020000006d48839e6163', 'hex'), 0)).to.deep.equal({ reason: 'bad-checksum' });
      expect(decodeRecord(Buffer.from('000000000000000000', 'hex'), 0)).to.deep.equal({ reason: 'bad-length' });
      expect(decodeRecord(Buffer.alloc(0), 0)).to.deep.equal({ reason: 'end' });
    });
  });

  describe('Spool', () => {
    it('reads back what was appended, in order, across segments, and deletes acknowledged segments', async () => {
      const dir = tempDir();
      const spool = await Spool.open(dir, { segmentBytes: 1024 });
      for (let b = 0; b < 10; b++) await spool.append(Array.from({ length: 5 }, (_, i) => ev(`e${b * 5 + i}`, { message: 'm'.repeat(40) })));
      expect(spool.stats().segments).to.be.greaterThan(3);
      const first = await spool.read(7);
      expect(first.events.map((e) => e.id)).to.deep.equal(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
      expect((await spool.read(7)).events[0]?.id, 'reading does not consume').to.equal('e0');
      await spool.ack(first.next);
      const rest = await drainAll(spool);
      expect(rest.map((e) => e.id)).to.deep.equal(Array.from({ length: 43 }, (_, i) => `e${i + 7}`));
      expect(readdirSync(dir).filter((f) => f.endsWith('.log'))).to.have.length(1);
      await spool.close();
    });

    it('keeps the acknowledged position across a restart', async () => {
      const dir = tempDir();
      const spool = await Spool.open(dir);
      await spool.append([ev('a'), ev('b'), ev('c')]);
      const b = await spool.read(2);
      await spool.ack(b.next);
      await spool.close();
      const again = await Spool.open(dir);
      expect((await drainAll(again)).map((e) => e.id)).to.deep.equal(['c']);
      await again.close();
    });

    it('cuts a torn tail at open and keeps appending after it', async () => {
      const dir = tempDir();
      const spool = await Spool.open(dir);
      await spool.append([ev('a'), ev('b')]);
      await spool.close();
      const seg = readdirSync(dir).find((f) => f.endsWith('.log')) as string;
      // Half a record: what a crash in the middle of a write leaves.
      appendFileSync(join(dir, seg), encodeRecord(Buffer.from(JSON.stringify(ev('torn')))).subarray(0, 11));
      const again = await Spool.open(dir);
      expect(again.stats().damaged).to.equal(1);
      await again.append([ev('c')]);
      expect((await drainAll(again)).map((e) => e.id)).to.deep.equal(['a', 'b', 'c']);
      await again.close();
    });

    it('bounds its disk use: refuses and counts events when full, then reports the drop once there is room', async () => {
      const dir = tempDir();
      const spool = await Spool.open(dir, { maxBytes: 2000, segmentBytes: 600 });
      const big = (id: string) => ev(id, { message: 'x'.repeat(150) });
      let stored = 0;
      let dropped = 0;
      for (let i = 0; i < 20; i++) {
        const r = await spool.append([big(`e${i}`)]);
        stored += r.stored;
        dropped += r.dropped;
      }
      expect(dropped).to.be.greaterThan(0);
      expect(stored + dropped).to.equal(20);
      expect(spool.stats()).to.include({ dropped, droppedReported: 0 });
      expect(spool.stats().bytes).to.be.at.most(2000);
      // The collector takes everything: segments go, and the next append carries the report.
      await drainAll(spool);
      await spool.append([big('after')]);
      const got = await drainAll(spool);
      expect(got.map((e) => e.id)).to.deep.equal([`spool-drop-${dropped}`, 'after']);
      expect(got[0]).to.deep.include({ type: 'agent-error', data: { dropped, droppedTotal: dropped } });
      expect(spool.stats().droppedReported).to.equal(dropped);
      await spool.close();
    });

    it('loses no acknowledged append when the writer is killed with SIGKILL', async () => {
      const dir = tempDir();
      const w = child('spool-writer.ts', [dir]);
      await w.waitFor((l) => l.filter((x) => x.startsWith('ok ')).length >= 2000);
      await killed(w.proc);
      const acked = w.lines.filter((l) => l.startsWith('ok ')).map((l) => l.slice(3));
      const spool = await Spool.open(dir);
      const ids = (await drainAll(spool)).map((e) => e.id);
      await spool.close();
      expect(new Set(ids).size, 'no event twice').to.equal(ids.length);
      const missing = acked.filter((id) => !ids.includes(id));
      expect(missing, 'every acknowledged event is there').to.deep.equal([]);
      // In order: the acknowledged ids are a prefix of what the spool holds.
      expect(ids.slice(0, acked.length)).to.deep.equal(acked);
    });
  });

  describe('Uploader against a real collector', () => {
    let app: FastifyInstance | undefined;
    let store: SqliteStore;
    let credential: string;
    let agentId: string;

    async function startCollector(port = 0): Promise<string> {
      store = await SqliteStore.open(tempDir());
      app = buildServer({ store });
      await app.listen({ host: '127.0.0.1', port });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    }
    async function enroll(): Promise<void> {
      const t = await store.createEnrollmentToken({ uses: 1 });
      const e = await store.enrollAgent(t.token, 'PC-SPOOL');
      credential = e.credential;
      agentId = e.agent.id;
    }
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    it('waits out a collector outage with jittered backoff, then delivers every event once', async () => {
      // Learn a free port, then keep the collector down on it.
      let url = await startCollector();
      await enroll();
      const port = Number(new URL(url).port);
      await app?.close();
      app = undefined;
      const spool = await Spool.open(tempDir());
      await spool.append(Array.from({ length: 250 }, (_, i) => ev(`o${i}`)));
      const uploader = new Uploader(spool, collectorSender(url, credential, { kind: 'insecure' }), { batchEvents: 100, baseDelayMs: 1000, maxDelayMs: 8000, random: () => 0.5 });
      expect(await uploader.sendOnce()).to.equal('retry');
      expect(await uploader.sendOnce()).to.equal('retry');
      expect(uploader.status.lastError).to.match(/cannot reach the collector/);
      expect([0, 1, 2, 3, 4, 10].map((f) => uploader.backoffMs(f))).to.deep.equal([500, 1000, 2000, 4000, 4000, 4000]);

      // The collector comes back on the same port, with the same database.
      const reopened = await SqliteStore.open(dirname(store.file));
      store = reopened;
      app = buildServer({ store });
      await app.listen({ host: '127.0.0.1', port });
      url = `http://127.0.0.1:${port}`;
      const stop = new AbortController();
      const running = uploader.run(stop.signal);
      while (!(await spool.isDrained())) await new Promise((r) => setTimeout(r, 50));
      stop.abort();
      await running;
      const stored = (await store.listEvents(agentId)).map((e) => e.id);
      expect(stored.sort()).to.deep.equal(Array.from({ length: 250 }, (_, i) => `o${i}`).sort());
      await spool.close();
    });

    it('delivers every event exactly once after the uploader is killed with SIGKILL mid-upload', async () => {
      const url = await startCollector();
      await enroll();
      const dir = tempDir();
      const spool = await Spool.open(dir);
      const total = 3000;
      for (let b = 0; b < total / 100; b++) await spool.append(Array.from({ length: 100 }, (_, i) => ev(`k${b * 100 + i}`)));
      await spool.close();
      const u = child('spool-uploader.ts', [dir, url, credential]);
      await u.waitFor((l) => l.some((x) => /^sent (\d+)$/.test(x) && Number(x.slice(5)) >= 500));
      await killed(u.proc);
      expect(u.lines).to.not.include('drained');
      // Restarted: it resends from the last acknowledged position; ids make the overlap harmless.
      const again = await Spool.open(dir);
      const uploader = new Uploader(again, collectorSender(url, credential, { kind: 'insecure' }), { batchEvents: 500 });
      while ((await uploader.sendOnce()) !== 'empty');
      await again.close();
      const ids = (await store.listEvents(agentId)).map((e) => e.id);
      expect(ids).to.have.length(total);
      expect(new Set(ids).size).to.equal(total);
    });

    it('sets a batch the collector refuses aside and goes on; stops on a revoked credential', async () => {
      const url = await startCollector();
      await enroll();
      const dir = tempDir();
      const spool = await Spool.open(dir);
      await spool.append([ev('bad', { type: 'no-such-type' })]);
      await spool.append([ev('good')]);
      const uploader = new Uploader(spool, collectorSender(url, credential, { kind: 'insecure' }), { batchEvents: 1 });
      expect(await uploader.sendOnce()).to.equal('rejected');
      expect(await uploader.sendOnce()).to.equal('sent');
      const rejected = readFileSync(join(dir, 'rejected.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(rejected[0].events.map((e: SpoolEvent) => e.id)).to.deep.equal(['bad']);
      expect(rejected[0].reason).to.match(/type/);
      expect((await store.listEvents(agentId)).map((e) => e.id)).to.deep.equal(['good']);

      await store.revokeAgent(agentId);
      await spool.append([ev('after-revoke')]);
      expect(await uploader.sendOnce()).to.equal('unauthorized');
      expect(uploader.status.unauthorized).to.equal(true);
      expect(await spool.isDrained(), 'kept for when the agent enrolls again').to.equal(false);
      await spool.close();
    });
  });
});
