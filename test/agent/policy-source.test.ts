/**
 * The agent's policy source (DESIGN section 7): local Registry.pol files, the cache, the
 * refresher, and the Windows adapter's parser of `reg query` output (on hand-written
 * fixtures in reg.exe's format; untested on real Windows).
 */
import { promises as fs, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ASCEND_CATALOG, POLICY_ROOT, requirePolicy } from '../../src/catalog/index.js';
import { encodeDword, encodeQword, encodeSz, polEntry, RegType, writeRegistryPol, type PolEntry } from '../../src/formats/registry-pol/index.js';
import { encodePolicyState, type EffectivePolicy } from '../../src/policy/index.js';
import {
  effectiveOf,
  LocalPolicyFiles,
  parseRegQuery,
  PolicyCache,
  PolicyRefresher,
  WindowsRegistryPolicy,
  type PolicySnapshot,
  type PolicySource,
  type RegRunner,
} from '../../agent/policy/index.js';
import { expectCode } from '../support/expect-code.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/reg-query');
const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');
const MIN = 60_000;

/** Registry.pol entries for policies set as GPMC would. */
function pol(settings: [string, 'enabled' | 'disabled' | 'not-configured', Record<string, unknown>][]): Uint8Array {
  const entries: PolEntry[] = [];
  for (const [id, state, values] of settings) entries.push(...encodePolicyState(requirePolicy(ASCEND_CATALOG, id), state, values as never));
  return writeRegistryPol(entries);
}

const find = (eff: EffectivePolicy[], id: string): EffectivePolicy => {
  const p = eff.find((x) => x.id === id);
  if (!p) throw new Error(`no policy ${id}`);
  return p;
};

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('agent policy source', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(tmpdir(), 'ascend-policy-'));
  });
  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  describe('LocalPolicyFiles', () => {
    it('folds the files lowest precedence first: a value of the second file wins, Disabled there wins over Enabled', async () => {
      const a = path.join(tmp, 'a.pol');
      const b = path.join(tmp, 'b.pol');
      await fs.writeFile(
        a,
        pol([
          ['ClientDataCollection', 'enabled', { CollectorHost: 'low.corp.example.test' }],
          ['OfflinePasscodes', 'enabled', {}],
          ['TemporarySessionElevation', 'enabled', { Groups: ['CORP\\Low'] }],
        ]),
      );
      await fs.writeFile(
        b,
        pol([
          ['ClientDataCollection', 'enabled', { CollectorHost: 'high.corp.example.test', CollectorPort: 9000 }],
          ['OfflinePasscodes', 'disabled', {}],
        ]),
      );
      const snap = await new LocalPolicyFiles([a, b]).load();
      expect(snap.origin).to.equal('local');
      expect(snap.sources.map((s) => s.source)).to.deep.equal([a, b]);
      expect(snap.labels).to.deep.equal({ [a]: a, [b]: b });
      expect(snap.problems).to.deep.equal([]);
      expect(snap.digest).to.match(/^[0-9a-f]{64}$/);
      const eff = effectiveOf(snap);
      expect(find(eff, 'ClientDataCollection')).to.include({ state: 'enabled', source: b });
      expect(find(eff, 'ClientDataCollection').values).to.include({ CollectorHost: 'high.corp.example.test', CollectorPort: 9000 });
      expect(find(eff, 'OfflinePasscodes')).to.include({ state: 'disabled', source: b });
      expect(find(eff, 'TemporarySessionElevation')).to.include({ state: 'enabled', source: a });
      expect(find(eff, 'TemporarySessionElevation').values.Groups).to.deep.equal(['CORP\\Low']);
      // Only machine policies, every one of them.
      expect(eff.map((p) => p.id)).to.deep.equal(ASCEND_CATALOG.policies.filter((p) => p.class !== 'User').map((p) => p.id));

      // The other order: the first file now wins.
      const reversed = effectiveOf(await new LocalPolicyFiles([b, a]).load());
      expect(find(reversed, 'ClientDataCollection').values).to.include({ CollectorHost: 'low.corp.example.test' });
      expect(find(reversed, 'OfflinePasscodes')).to.include({ state: 'enabled', source: a });
    });

    it('the digest follows the content: the same files give the same digest, a change gives another', async () => {
      const a = path.join(tmp, 'a.pol');
      await fs.writeFile(a, pol([['OfflinePasscodes', 'enabled', {}]]));
      const src = new LocalPolicyFiles([a]);
      const one = await src.load();
      const two = await src.load();
      expect(two.digest).to.equal(one.digest);
      await fs.writeFile(a, pol([['OfflinePasscodes', 'disabled', {}]]));
      expect((await src.load()).digest).to.not.equal(one.digest);
    });

    it('a missing file is an error naming it', async () => {
      const a = path.join(tmp, 'a.pol');
      await fs.writeFile(a, pol([['OfflinePasscodes', 'enabled', {}]]));
      const missing = path.join(tmp, 'nope.pol');
      const e = await expectCode(new LocalPolicyFiles([a, missing]).load(), 'ASC_FILE_NOT_FOUND');
      expect(e.message).to.contain(missing);
    });

    it('a damaged file is the codec error, naming the file and the byte offset', async () => {
      const e1 = polEntry.dword('Software\\Policies\\Ascend\\PrivilegeManager\\ClientDeployment', 'AllowOfflinePasscodes', 1);
      const e2 = polEntry.sz('Software\\Policies\\Other', 'x', 'y');
      const bytes = Buffer.from(writeRegistryPol([e1, e2]));
      const offset = writeRegistryPol([e1]).length; // where the second entry's "[" is
      bytes[offset] = 0x58;
      const file = path.join(tmp, 'damaged.pol');
      await fs.writeFile(file, bytes);
      const e = await expectCode(new LocalPolicyFiles([file]).load(), 'ASC_POL_TRAILING_BYTES');
      expect(e.message).to.contain(file);
      expect(e.message).to.contain(`at byte ${offset}`);
    });

    it('refuses an empty list of files', async () => {
      await expectCode(() => new LocalPolicyFiles([]), 'ASC_AGENT_CONFIG');
    });
  });

  describe('PolicyCache', () => {
    async function snapshotOf(): Promise<PolicySnapshot> {
      const a = path.join(tmp, 'a.pol');
      await fs.writeFile(
        a,
        writeRegistryPol([
          ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ClientDataCollection'), 'enabled', { CollectorHost: 'c.corp.example.test' }),
          polEntry.qword('Software\\Policies\\Other', 'Big', 2n ** 63n + 5n),
          { key: 'Software\\Policies\\Other', valueName: 'Bin', type: RegType.REG_BINARY, data: Uint8Array.from([0, 255, 1, 2]) },
          { key: 'Software\\Policies\\Other', valueName: 'Empty', type: RegType.REG_BINARY, data: new Uint8Array(0) },
        ]),
      );
      const snap = await new LocalPolicyFiles([a]).load();
      return { ...snap, computer: { name: 'PC1$', dn: 'CN=PC1,DC=x', sid: 'S-1-5-21-1-2-3-1000', groupSids: ['S-1-5-21-1-2-3-515'] }, problems: ['a note'] };
    }

    const plain = (s: PolicySnapshot) => ({ ...s, sources: s.sources.map((x) => ({ source: x.source, entries: x.entries.map((e) => ({ key: e.key, valueName: e.valueName, type: e.type, data: hex(e.data) })) })) });

    it('round-trips a snapshot through policy-cache.json (mode 600, data as base64)', async () => {
      const snap = await snapshotOf();
      const cache = new PolicyCache(tmp);
      expect(await cache.load()).to.equal(undefined);
      expect(cache.lastProblem).to.equal(undefined);
      await cache.save(snap);
      const file = path.join(tmp, 'policy-cache.json');
      expect(cache.file).to.equal(file);
      expect((await fs.stat(file)).mode & 0o777).to.equal(0o600);
      const json = JSON.parse(await fs.readFile(file, 'utf8')) as { snapshot: { sources: { entries: { data: string }[] }[] } };
      expect(json.snapshot.sources[0]!.entries.map((e) => e.data)).to.include(Buffer.from([0, 255, 1, 2]).toString('base64'));
      const back = await new PolicyCache(tmp).load();
      expect(back).to.not.equal(undefined);
      expect(plain(back!)).to.deep.equal(plain(snap));
      expect(effectiveOf(back!)).to.deep.equal(effectiveOf(snap));
      // Nothing left behind but the cache.
      expect(await fs.readdir(tmp)).to.have.members(['a.pol', 'policy-cache.json']);
    });

    it('tightens a cache file left with a looser mode to 600', async () => {
      const file = path.join(tmp, 'policy-cache.json');
      await fs.writeFile(file, '{}', { mode: 0o644 });
      await fs.chmod(file, 0o644);
      await new PolicyCache(tmp).save(await snapshotOf());
      expect((await fs.stat(file)).mode & 0o777).to.equal(0o600);
    });

    it('treats a damaged cache as absent, with the reason, and never throws', async () => {
      const snap = await snapshotOf();
      const cache = new PolicyCache(tmp);
      await cache.save(snap);
      const text = await fs.readFile(cache.file, 'utf8');

      await fs.writeFile(cache.file, text.slice(0, text.length / 2));
      expect(await cache.load()).to.equal(undefined);
      expect(cache.lastProblem).to.contain(cache.file).and.to.contain('not valid JSON');

      // Well-formed JSON whose entries were altered: the digest no longer matches.
      const doc = JSON.parse(text) as { snapshot: { sources: { entries: { data: string }[] }[] } };
      doc.snapshot.sources[0]!.entries[0]!.data = Buffer.from('tampered').toString('base64');
      await fs.writeFile(cache.file, JSON.stringify(doc));
      const r = await cache.read();
      expect(r.snapshot).to.equal(undefined);
      expect(r.problem).to.contain('digest does not match');

      await fs.writeFile(cache.file, JSON.stringify({ format: 'ascend-policy-cache', version: 1, snapshot: { origin: 'mars' } }));
      expect(await cache.load()).to.equal(undefined);
      expect(cache.lastProblem).to.contain('origin');

      await fs.rm(cache.file);
      await fs.mkdir(cache.file);
      expect(await cache.load()).to.equal(undefined);
      expect(cache.lastProblem).to.contain('not a regular file');
    });
  });

  describe('PolicyRefresher', () => {
    /** Timers recorded, not run: a test fires them by hand. */
    class FakeTimers {
      pending = new Map<number, { fn: () => void; ms: number }>();
      private next = 1;
      set = (fn: () => void, ms: number): unknown => {
        const id = this.next++;
        // Like setTimeout: a timer that fired is no longer pending.
        this.pending.set(id, {
          fn: () => {
            this.pending.delete(id);
            fn();
          },
          ms,
        });
        return id;
      };
      clear = (h: unknown): void => {
        this.pending.delete(h as number);
      };
      only(): { fn: () => void; ms: number } {
        expect(this.pending.size, 'exactly one timer pending').to.equal(1);
        return [...this.pending.values()][0]!;
      }
    }

    /** A real source, counting its reads. */
    function counting(src: PolicySource): PolicySource & { loads: number } {
      const c = {
        loads: 0,
        description: src.description,
        load: () => {
          c.loads++;
          return src.load();
        },
      };
      return c;
    }

    let file: string;
    let stateDir: string;
    let clock: number;
    let timers: FakeTimers;
    let changes: { snap: PolicySnapshot; fromCache: boolean; changed: boolean }[];
    let logs: string[];

    beforeEach(async () => {
      file = path.join(tmp, 'policy.pol');
      stateDir = path.join(tmp, 'state');
      await fs.mkdir(stateDir);
      await fs.writeFile(file, pol([['ClientDataCollection', 'enabled', { CollectorHost: 'one.corp.example.test' }]]));
      clock = 1_700_000_000_000;
      timers = new FakeTimers();
      changes = [];
      logs = [];
    });

    function make(source: PolicySource, random = 0.5, reuseFreshCache?: 'local' | 'domain'): PolicyRefresher {
      return new PolicyRefresher({
        ...(reuseFreshCache ? { reuseFreshCache } : {}),
        source,
        cache: new PolicyCache(stateDir),
        onChange: (snap, info) => changes.push({ snap, ...info }),
        log: (level, msg) => logs.push(`${level}: ${msg}`),
        random: () => random,
        setTimer: timers.set,
        clearTimer: timers.clear,
        now: () => clock,
      });
    }

    it('starts from the source, caches it, and schedules the next refresh 90 + random*30 minutes later', async () => {
      const r = make(new LocalPolicyFiles([file]));
      const st = await r.start();
      expect(st).to.include({ origin: 'local', fromCache: false, lastAttemptAt: clock, nextRefreshAt: clock + 105 * MIN, description: `Registry.pol file ${file}` });
      expect(st.lastError).to.equal(undefined);
      expect(st.gpos).to.deep.equal([file]);
      expect(timers.only().ms).to.equal(105 * MIN);
      expect(changes).to.have.length(1);
      expect(changes[0]).to.include({ fromCache: false, changed: true });
      expect(r.current()?.digest).to.equal(st.digest);
      const cached = await new PolicyCache(stateDir).load();
      expect(cached?.digest).to.equal(st.digest);
      r.stop();
      expect(timers.pending.size).to.equal(0);
      expect(r.status().nextRefreshAt).to.equal(undefined);
    });

    it('schedules at 90 minutes with random 0 and just under 120 with random near 1', async () => {
      const low = make(new LocalPolicyFiles([file]), 0);
      await low.start();
      expect(timers.only().ms).to.equal(90 * MIN);
      low.stop();
      const high = make(new LocalPolicyFiles([file]), 0.9999999);
      await high.start();
      const ms = timers.only().ms;
      expect(ms).to.be.greaterThan(119 * MIN).and.lessThan(120 * MIN);
      high.stop();
    });

    it('the timer refreshes and schedules again after success and after failure', async () => {
      const src = counting(new LocalPolicyFiles([file]));
      const r = make(src);
      await r.start();
      expect(src.loads).to.equal(1);
      clock += 105 * MIN;
      timers.only().fn();
      await new Promise((res) => setImmediate(res));
      await r.refresh(); // joins the read the timer started, if still going
      expect(src.loads).to.equal(2);
      expect(r.status().lastAttemptAt).to.equal(clock);
      expect(r.status().nextRefreshAt).to.equal(clock + 105 * MIN);
      expect(timers.only().ms).to.equal(105 * MIN);

      await fs.rm(file);
      clock += 105 * MIN;
      timers.only().fn();
      await new Promise((res) => setImmediate(res));
      const st = await r.refresh();
      expect(st.lastError).to.contain('ASC_FILE_NOT_FOUND');
      expect(st.nextRefreshAt).to.equal(clock + 105 * MIN);
      expect(timers.only().ms).to.equal(105 * MIN);
      r.stop();
      expect(timers.pending.size).to.equal(0);
    });

    it('starts offline from the cache when the source cannot be read', async () => {
      const first = make(new LocalPolicyFiles([file]));
      const live = await first.start();
      first.stop();
      await fs.rm(file);
      changes = [];
      const r = make(new LocalPolicyFiles([file]));
      const st = await r.start();
      expect(st.fromCache).to.equal(true);
      expect(st.digest).to.equal(live.digest);
      expect(st.lastError).to.contain('ASC_FILE_NOT_FOUND').and.to.contain(file);
      expect(st.nextRefreshAt).to.equal(clock + 105 * MIN);
      expect(changes).to.have.length(1);
      expect(changes[0]).to.include({ fromCache: true, changed: true });
      expect(find(effectiveOf(changes[0]!.snap), 'ClientDataCollection').values).to.include({ CollectorHost: 'one.corp.example.test' });
      expect(logs.join('\n')).to.contain('using the cached policy');

      // The source is back with the same content: live now, not a change.
      await fs.writeFile(file, pol([['ClientDataCollection', 'enabled', { CollectorHost: 'one.corp.example.test' }]]));
      const again = await r.refresh();
      expect(again).to.include({ fromCache: false, digest: live.digest });
      expect(again.lastError).to.equal(undefined);
      expect(changes).to.have.length(2);
      expect(changes[1]).to.include({ fromCache: false, changed: false });
      r.stop();
    });

    it('on demand: starts from a cached policy of its origin without a read, reading in the background when due (from the last read, failed or not); another origin or a clock set back is read first', async () => {
      const first = make(new LocalPolicyFiles([file], () => clock));
      const live = await first.start();
      first.stop();
      const readAt = clock;
      clock += 30 * MIN;
      const fresh = counting(new LocalPolicyFiles([file], () => clock));
      const r = make(fresh, 0.5, 'local');
      const st = await r.start();
      expect(fresh.loads, 'no read of the source').to.equal(0);
      expect(st).to.include({ fromCache: false, digest: live.digest, lastAttemptAt: readAt, nextRefreshAt: readAt + 105 * MIN });
      expect(timers.only().ms).to.equal(75 * MIN);
      expect(changes.at(-1)).to.include({ fromCache: false, changed: true });
      r.stop();
      // Cached by a local read: a domain agent reads its source first.
      const other = counting(new LocalPolicyFiles([file], () => clock));
      const r2 = make(other, 0.5, 'domain');
      await r2.start();
      expect(other.loads).to.equal(1);
      r2.stop();
      // Due (105 minutes after that read): started from the cache, the read goes at once.
      clock += 105 * MIN;
      await fs.rm(file);
      const due = counting(new LocalPolicyFiles([file], () => clock));
      const r3 = make(due, 0.5, 'local');
      const st3 = await r3.start();
      expect(due.loads, 'not before the start').to.equal(0);
      expect(st3.digest).to.equal(live.digest);
      const timer = timers.only();
      expect(timer.ms).to.equal(0);
      timer.fn();
      const failed = await r3.refresh();
      expect(due.loads).to.equal(1);
      expect(failed.lastError).to.contain('ASC_FILE_NOT_FOUND');
      r3.stop();
      // The failed read counts: the next start waits 105 minutes from it, not from the last good read.
      clock += 10 * MIN;
      const after = counting(new LocalPolicyFiles([file], () => clock));
      const r4 = make(after, 0.5, 'local');
      await r4.start();
      expect(after.loads).to.equal(0);
      expect(timers.only().ms).to.equal(95 * MIN);
      r4.stop();
      // The clock set back behind the cached read: read first.
      await fs.writeFile(file, pol([['ClientDataCollection', 'enabled', { CollectorHost: 'one.corp.example.test' }]]));
      clock = readAt - MIN;
      const back = counting(new LocalPolicyFiles([file], () => clock));
      const r5 = make(back, 0.5, 'local');
      await r5.start();
      expect(back.loads).to.equal(1);
      r5.stop();
    });

    it('on demand: a read that could not be cached is not rolled back at the next start, and an overdue policy is read first', async () => {
      const first = make(new LocalPolicyFiles([file], () => clock), 0.5, 'local');
      await first.start();
      first.stop();
      // A newer policy is read, but the cache cannot take it (a full disk, say).
      await fs.writeFile(file, pol([['ClientDataCollection', 'enabled', { CollectorHost: 'two.corp.example.test' }]]));
      class FullCache extends PolicyCache {
        override async save(): Promise<void> {
          throw new Error('ENOSPC');
        }
      }
      clock += 100 * MIN;
      const full = new PolicyRefresher({ source: new LocalPolicyFiles([file], () => clock), cache: new FullCache(stateDir), onChange: () => undefined, random: () => 0.5, setTimer: timers.set, clearTimer: timers.clear, now: () => clock, reuseFreshCache: 'local' });
      await full.start(); // overdue by then? no: 100 < 120 minutes, so from the cache...
      const timer = timers.only();
      timer.fn();
      const st = await full.refresh();
      expect(find(effectiveOf(full.current() as PolicySnapshot), 'ClientDataCollection').values).to.include({ CollectorHost: 'two.corp.example.test' });
      expect(st.lastError).to.equal(undefined);
      full.stop();
      // The next start does not take the older cache for the policy last read: it reads.
      clock += MIN;
      const next = counting(new LocalPolicyFiles([file], () => clock));
      const r = make(next, 0.5, 'local');
      await r.start();
      expect(next.loads).to.equal(1);
      expect(find(effectiveOf(changes.at(-1)!.snap), 'ClientDataCollection').values).to.include({ CollectorHost: 'two.corp.example.test' });
      r.stop();
      // More than 90 + 30 minutes after the last read: read before the start ends.
      clock += 121 * MIN;
      const late = counting(new LocalPolicyFiles([file], () => clock));
      const r2 = make(late, 0.5, 'local');
      await r2.start();
      expect(late.loads).to.equal(1);
      r2.stop();
    });

    it('without source and cache, start fails with ASC_AGENT_POLICY_UNAVAILABLE (naming a damaged cache)', async () => {
      await fs.rm(file);
      const e = await expectCode(make(new LocalPolicyFiles([file])).start(), 'ASC_AGENT_POLICY_UNAVAILABLE');
      expect(e.message).to.contain(file).and.to.contain('no cached policy');
      expect(timers.pending.size).to.equal(0);
      await fs.writeFile(path.join(stateDir, 'policy-cache.json'), '{"format":');
      const e2 = await expectCode(make(new LocalPolicyFiles([file])).start(), 'ASC_AGENT_POLICY_UNAVAILABLE');
      expect(e2.message).to.contain('was ignored');
      expect(changes).to.have.length(0);
    });

    it('a failed refresh keeps the policy held and reports the error', async () => {
      const r = make(new LocalPolicyFiles([file]));
      const first = await r.start();
      const held = r.current();
      await fs.writeFile(file, Buffer.from('PReg garbage'));
      clock += 5 * MIN;
      const st = await r.refresh();
      expect(st.lastError).to.match(/^ASC_POL_/);
      expect(st.lastError).to.contain(file);
      expect(st.lastAttemptAt).to.equal(clock);
      expect(r.current()).to.equal(held);
      expect(st).to.include({ digest: first.digest, fetchedAt: first.fetchedAt, fromCache: false });
      expect(changes).to.have.length(1);
      // The cache still holds the good policy.
      expect((await new PolicyCache(stateDir).load())?.digest).to.equal(first.digest);
      r.stop();
    });

    it('calls onChange only when the digest changes', async () => {
      const r = make(new LocalPolicyFiles([file]));
      await r.start();
      expect(changes).to.have.length(1);
      await r.refresh();
      await r.refresh();
      expect(changes).to.have.length(1);
      await fs.writeFile(file, pol([['ClientDataCollection', 'enabled', { CollectorHost: 'two.corp.example.test' }]]));
      const st = await r.refresh();
      expect(changes).to.have.length(2);
      expect(changes[1]).to.include({ fromCache: false, changed: true });
      expect(st.digest).to.equal(changes[1]!.snap.digest).and.to.not.equal(changes[0]!.snap.digest);
      expect(find(effectiveOf(r.current()!), 'ClientDataCollection').values).to.include({ CollectorHost: 'two.corp.example.test' });
      expect((await new PolicyCache(stateDir).load())?.digest).to.equal(st.digest);
      r.stop();
    });

    it('concurrent refreshes share one read', async () => {
      const src = counting(new LocalPolicyFiles([file]));
      const r = make(src);
      await r.start();
      const p1 = r.refresh();
      const p2 = r.refresh();
      expect(p2).to.equal(p1);
      await Promise.all([p1, p2]);
      expect(src.loads).to.equal(2);
      await r.refresh();
      expect(src.loads).to.equal(3);
      r.stop();
    });
  });

  describe('WindowsRegistryPolicy (reg query output; untested on real Windows)', () => {
    const K = POLICY_ROOT;
    const from = (text: string): RegRunner & { calls: (readonly string[])[] } => {
      const calls: (readonly string[])[] = [];
      const run = Object.assign(
        async (args: readonly string[]) => {
          calls.push(args);
          return text;
        },
        { calls },
      );
      return run;
    };

    it('reads the policy root into one HKLM source that the catalog decodes', async () => {
      const text = fixture('policy-root.txt');
      expect(text, 'the fixture has reg.exe\'s CRLF line endings').to.contain('\r\n');
      const run = from(text);
      const snap = await new WindowsRegistryPolicy(run, () => 42).load();
      expect(run.calls).to.deep.equal([['query', 'HKLM\\SOFTWARE\\Policies\\Ascend\\PrivilegeManager', '/s']]);
      expect(snap).to.include({ origin: 'registry', fetchedAt: 42 });
      expect(snap.sources.map((s) => s.source)).to.deep.equal(['HKLM']);
      expect(snap.labels).to.deep.equal({ HKLM: `HKLM\\${K}` });
      const entries = snap.sources[0]!.entries;
      expect(entries).to.have.length(16);
      expect(entries[0]).to.deep.include({ key: `${K}\\ClientDataCollection`, valueName: 'Enabled', type: RegType.REG_DWORD });
      expect(hex(entries[2]!.data)).to.equal(hex(encodeDword(8003)));
      const eff = effectiveOf(snap);
      expect(find(eff, 'ClientDataCollection')).to.include({ state: 'enabled', source: 'HKLM' });
      expect(find(eff, 'ClientDataCollection').values).to.include({ CollectorHost: 'collector.corp.example.test', CollectorPort: 8003, UploadIntervalSeconds: 60, CollectPasscodeUsage: false });
      expect(find(eff, 'OfflinePasscodes')).to.include({ state: 'disabled' });
      expect(find(eff, 'TemporarySessionElevation')).to.include({ state: 'enabled' });
      expect(find(eff, 'TemporarySessionElevation').values).to.deep.include({ Groups: ['CORP\\Helpdesk Admins', 'BUILTIN\\Administrators'], IntegrityLevel: 'High', MaxSessionMinutes: 60 });
    });

    it('decodes every type, names with spaces, empty data and the default value', () => {
      const e = parseRegQuery(fixture('types.txt'));
      const T = `${K}\\Types`;
      const rows = e.map((x) => [x.key, x.valueName, x.type, hex(x.data)]);
      expect(rows).to.deep.equal([
        [T, '', RegType.REG_SZ, hex(encodeSz('the default value'))],
        [T, 'Name With Spaces', RegType.REG_SZ, hex(encodeSz('data  with  double  spaces'))],
        [T, 'Empty String', RegType.REG_SZ, hex(encodeSz(''))],
        [T, 'Expand', RegType.REG_EXPAND_SZ, hex(encodeSz('%ProgramFiles%\\Ascend\\agent.exe'))],
        [T, 'Multi', RegType.REG_MULTI_SZ, hex(encodeSz('first\0second item\0third\0'))],
        [T, 'Empty Multi', RegType.REG_MULTI_SZ, hex(encodeSz(''))],
        [T, 'Dword Max', RegType.REG_DWORD, 'ffffffff'],
        [T, 'Qword', RegType.REG_QWORD, hex(encodeQword(0x100000002n))],
        [T, 'Binary', RegType.REG_BINARY, '0102abff00'],
        [T, 'Empty Binary', RegType.REG_BINARY, ''],
        [T, 'Nothing', RegType.REG_NONE, ''],
        // "(value not set)" is no value; the key's other values are read.
        [`${T}\\Unset Default`, 'Last', RegType.REG_DWORD, hex(encodeDword(7))],
      ]);
    });

    it('reads LF line endings as CRLF ones', () => {
      expect(parseRegQuery(fixture('lf-endings.txt'))).to.deep.equal([
        { key: `${K}\\ClientDeployment`, valueName: 'AllowOfflinePasscodes', type: RegType.REG_DWORD, data: encodeDword(1) },
      ]);
      expect(parseRegQuery(fixture('lf-endings.txt').replace(/\n/g, '\r\n'))).to.have.length(1);
    });

    it('a missing policy root (reg exits 1) is an empty policy, not an error', async () => {
      const stderr = fixture('missing-key.stderr.txt');
      const run: RegRunner = () => Promise.reject(Object.assign(new Error('Command failed: reg query'), { code: 1, stdout: '', stderr }));
      const snap = await new WindowsRegistryPolicy(run).load();
      expect(snap.sources).to.deep.equal([{ source: 'HKLM', entries: [] }]);
      expect(effectiveOf(snap).every((p) => p.state === 'not-configured')).to.equal(true);
    });

    it('another failure of reg is ASC_AGENT_REGISTRY_OUTPUT with what reg said', async () => {
      const run: RegRunner = () => Promise.reject(Object.assign(new Error('Command failed: reg query'), { code: 1, stdout: '', stderr: 'ERROR: Access is denied.\r\n' }));
      const e = await expectCode(new WindowsRegistryPolicy(run).load(), 'ASC_AGENT_REGISTRY_OUTPUT');
      expect(e.message).to.contain('Access is denied').and.to.contain('exit 1');
    });

    it('a line reg does not print is ASC_AGENT_REGISTRY_OUTPUT naming its line number', async () => {
      const e = await expectCode(new WindowsRegistryPolicy(from(fixture('bad-line.txt'))).load(), 'ASC_AGENT_REGISTRY_OUTPUT');
      expect(e.message).to.contain('line 5').and.to.contain('Something reg never prints');
      const e2 = await expectCode(() => parseRegQuery(fixture('bad-dword.txt')), 'ASC_AGENT_REGISTRY_OUTPUT');
      expect(e2.message).to.contain('line 3').and.to.contain('REG_DWORD');
      const e3 = await expectCode(() => parseRegQuery('\r\n    Orphan    REG_SZ    x\r\n'), 'ASC_AGENT_REGISTRY_OUTPUT');
      expect(e3.message).to.contain('line 2').and.to.contain('before any key');
      const e4 = await expectCode(() => parseRegQuery(`HKEY_LOCAL_MACHINE\\${K}\r\n    Odd    REG_BINARY    ABC\r\n`), 'ASC_AGENT_REGISTRY_OUTPUT');
      expect(e4.message).to.contain('line 2');
    });

    it('the default runner is reg.exe through execFile: where there is none, a clear error (skipped on Windows, where reg.exe is always there)', async function () {
      if (process.platform === 'win32') this.skip();
      const e = await expectCode(new WindowsRegistryPolicy().load(), 'ASC_AGENT_REGISTRY_OUTPUT');
      expect(e.message).to.contain('ENOENT');
    });
  });
});
