/**
 * The one CollectorStore suite, run against every adapter (storage.test.ts calls it once
 * per adapter with a factory that opens a fresh, migrated, empty store).
 */
import { expect } from 'chai';
import { isAscendError } from '../../src/errors.js';
import { type CollectorEventInput, type CollectorStore, MIGRATIONS } from '../../src/collector/storage/index.js';

export interface StoreFactory {
  /** A fresh empty store, migrated. */
  open(): Promise<CollectorStore>;
  /** Opens the same database as `store` again (a second handle / a restarted collector). */
  reopen(store: CollectorStore): Promise<CollectorStore>;
  /** Raw rows of a table, for checks that no secret is stored in clear. */
  rawRows(store: CollectorStore, table: string): Promise<Record<string, unknown>[]>;
}

async function codeOfAsync(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    if (isAscendError(e)) return e.code;
    throw e;
  }
  return undefined;
}

const T0 = Date.parse('2026-03-02T09:00:00Z');

function ev(id: string, extra: Partial<CollectorEventInput> = {}): CollectorEventInput {
  return { id, type: 'policy-applied', time: T0, ...extra };
}

export function storeContract(name: string, setup: (ctx: Mocha.Context) => Promise<StoreFactory>): void {
  describe(`CollectorStore contract: ${name}`, function () {
    let factory: StoreFactory;
    const open: CollectorStore[] = [];
    let store: CollectorStore;

    async function openStore(): Promise<CollectorStore> {
      const s = await factory.open();
      open.push(s);
      return s;
    }

    async function enrolled(computer = 'PC-01'): Promise<string> {
      const t = await store.createEnrollmentToken({ uses: 1 });
      return (await store.enrollAgent(t.token, computer)).agent.id;
    }

    before(async function () {
      factory = await setup(this);
    });
    beforeEach(async () => {
      store = await openStore();
    });
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
    });

    describe('migrations', () => {
      it('applies each migration once and again is a no-op', async () => {
        const versions = await store.appliedMigrations();
        expect(versions).to.deep.equal(MIGRATIONS.map((m) => m.version));
        expect(await store.migrate()).to.deep.equal([]);
        const second = await factory.reopen(store);
        open.push(second);
        expect(await second.migrate()).to.deep.equal([]);
        expect(await second.appliedMigrations()).to.deep.equal(MIGRATIONS.map((m) => m.version));
      });
    });

    describe('enrollment', () => {
      it('honours the number of uses', async () => {
        const t = await store.createEnrollmentToken({ uses: 2 });
        await store.enrollAgent(t.token, 'PC-A');
        await store.enrollAgent(t.token, 'PC-B');
        expect(await codeOfAsync(store.enrollAgent(t.token, 'PC-C'))).to.equal('ASC_COLLECTOR_ENROLL_REFUSED');
      });

      it('refuses an expired or unknown token', async () => {
        const now = Date.now();
        const t = await store.createEnrollmentToken({ uses: 5, expiresAt: now + 1000 });
        await store.enrollAgent(t.token, 'PC-A', now);
        expect(await codeOfAsync(store.enrollAgent(t.token, 'PC-B', now + 1000))).to.equal('ASC_COLLECTOR_ENROLL_REFUSED');
        expect(await codeOfAsync(store.enrollAgent('no-such-token', 'PC-B', now))).to.equal('ASC_COLLECTOR_ENROLL_REFUSED');
      });

      it('consumes a one-use token once under concurrency', async () => {
        const t = await store.createEnrollmentToken({ uses: 1 });
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.enrollAgent(t.token, `PC-${i}`)));
        expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      });

      it('finds an agent by its credential, stores only hashes, and revokes', async () => {
        const t = await store.createEnrollmentToken({ uses: 1 });
        const { agent, credential } = await store.enrollAgent(t.token, 'PC-01');
        expect(Buffer.from(credential, 'base64url')).to.have.length(32);
        expect((await store.findAgentByCredential(credential))?.id).to.equal(agent.id);
        expect(await store.findAgentByCredential(`${credential}x`)).to.equal(undefined);
        const agents = JSON.stringify(await factory.rawRows(store, 'agents'));
        const tokens = JSON.stringify(await factory.rawRows(store, 'enrollment_tokens'));
        expect(agents).to.not.include(credential);
        expect(tokens).to.not.include(t.token);
        await store.revokeAgent(agent.id, 'stolen laptop');
        expect((await store.findAgentByCredential(credential))?.revokedAt).to.be.a('number');
        expect(await codeOfAsync(store.insertEvents(agent.id, [ev('e1')]))).to.equal('ASC_COLLECTOR_NOT_FOUND');
        expect((await store.listRevocations()).map((r) => [r.kind, r.subject])).to.deep.equal([['agent', agent.id]]);
      });
    });

    describe('events', () => {
      it('answers concurrent batches each with its own count; a refused one does not undo the others', async () => {
        const a = await enrolled('PC-A');
        const b = await enrolled('PC-B');
        const gone = await enrolled('PC-GONE');
        await store.revokeAgent(gone);
        const results = await Promise.allSettled([
          store.insertEvents(a, [ev('1'), ev('2')]),
          store.insertEvents(gone, [ev('x')]),
          store.insertEvents(b, [ev('1')]),
          store.insertEvents(a, [ev('2'), ev('3')]),
        ]);
        expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as { code?: string }).code))).to.deep.equal([2, 'ASC_COLLECTOR_NOT_FOUND', 1, 1]);
        expect((await store.listEvents()).map((e) => `${e.computer}:${e.id}`).sort()).to.deep.equal(['PC-A:1', 'PC-A:2', 'PC-A:3', 'PC-B:1']);
      });

      it('stores a resent batch once and counts only new events', async () => {
        const agent = await enrolled();
        const batch = [ev('a'), ev('b'), ev('c')];
        expect(await store.insertEvents(agent, batch)).to.equal(3);
        expect(await store.insertEvents(agent, batch)).to.equal(0);
        expect(await store.insertEvents(agent, [ev('c'), ev('d'), ev('d')])).to.equal(1);
        expect(await store.countEvents()).to.equal(4);
      });

      it('keys idempotency on (agent, event id), attributes to the enrolled machine', async () => {
        const a = await enrolled('PC-A');
        const b = await enrolled('PC-B');
        await store.insertEvents(a, [ev('same', { computer: 'FORGED', user: 'CORP\\alice' })]);
        await store.insertEvents(b, [ev('same')]);
        const events = await store.listEvents();
        expect(events.map((e) => e.computer).sort()).to.deep.equal(['PC-A', 'PC-B']);
        const fromA = await store.listEvents(a);
        expect(fromA[0]?.user).to.equal('CORP\\alice');
        expect(fromA[0]?.payload.computer).to.equal('FORGED');
      });

      it('stores a batch entirely or not at all', async () => {
        const agent = await enrolled();
        const bad = [ev('ok1'), { id: 'bad', type: 'x', time: 'not a time' } as CollectorEventInput];
        expect(await codeOfAsync(store.insertEvents(agent, bad))).to.equal('ASC_COLLECTOR_BAD_INPUT');
        expect(await store.countEvents()).to.equal(0);
      });

      it('handles concurrent overlapping batches', async () => {
        const agents = [await enrolled('PC-1'), await enrolled('PC-2')];
        const batches = Array.from({ length: 20 }, (_, i) =>
          Array.from({ length: 100 }, (_, j) => ev(`e${(i % 10) * 50 + j}`)),
        );
        const added = await Promise.all(batches.map((b, i) => store.insertEvents(agents[i % 2] as string, b)));
        const distinct = new Set<string>();
        batches.forEach((b, i) => b.forEach((e) => distinct.add(`${i % 2}:${e.id}`)));
        expect(added.reduce((x, y) => x + y, 0)).to.equal(distinct.size);
        expect(await store.countEvents()).to.equal(distinct.size);
      });

      it('takes a batch of 1,000 events', async () => {
        const agent = await enrolled();
        const batch = Array.from({ length: 1000 }, (_, i) => ev(`big-${i}`, { data: 'x'.repeat(200) }));
        expect(await store.insertEvents(agent, batch)).to.equal(1000);
        expect(await store.insertEvents(agent, batch)).to.equal(0);
      });
    });

    describe('approvals', () => {
      it('files, lists, decides once, and binds to the agent and request', async () => {
        const a = await enrolled('PC-A');
        const b = await enrolled('PC-B');
        const input = { requestId: 'r1', user: 'CORP\\bob', processPath: 'C:\\Tools\\x.exe', args: '/quiet', justification: 'install' };
        const req = await store.createApprovalRequest(a, input);
        expect((await store.createApprovalRequest(a, input)).id).to.equal(req.id);
        expect(req.computer).to.equal('PC-A');
        expect((await store.listPendingApprovals()).map((r) => r.id)).to.deep.equal([req.id]);
        expect(await store.getApprovalForAgent(b, 'r1')).to.equal(undefined);
        const decided = await store.decideApproval(req.id, { approve: true, by: 'CORP\\admin', timeLimitSeconds: 900 });
        expect(decided.status).to.equal('approved');
        expect(decided.timeLimitSeconds).to.equal(900);
        expect((await store.getApprovalForAgent(a, 'r1'))?.status).to.equal('approved');
        expect(await codeOfAsync(store.decideApproval(req.id, { approve: false, by: 'x' }))).to.equal('ASC_COLLECTOR_CONFLICT');
        expect(await codeOfAsync(store.decideApproval('nope', { approve: false, by: 'x' }))).to.equal('ASC_COLLECTOR_NOT_FOUND');
        expect(await store.listPendingApprovals()).to.deep.equal([]);
      });

      it('expires pending requests older than the limit', async () => {
        const a = await enrolled();
        const now = Date.now();
        const old = await store.createApprovalRequest(a, { requestId: 'old', user: 'u', processPath: 'p' }, now - 5 * 3600_000);
        const fresh = await store.createApprovalRequest(a, { requestId: 'new', user: 'u', processPath: 'p' }, now - 60_000);
        expect(await store.expirePendingApprovals(4 * 3600_000, now)).to.equal(1);
        expect((await store.getApprovalRequest(old.id))?.status).to.equal('expired');
        expect((await store.getApprovalRequest(fresh.id))?.status).to.equal('pending');
        expect(await codeOfAsync(store.decideApproval(old.id, { approve: true, by: 'x' }))).to.equal('ASC_COLLECTOR_CONFLICT');
      });
    });

    describe('passcode registry', () => {
      it('counts redemptions domain-wide: 20 parallel on maxUses=5 → exactly 5', async () => {
        const a = await enrolled();
        await store.registerPasscode({ id: 'pc-1', title: 'Install printer driver', maxUses: 5, computers: [] });
        const results = await Promise.all(Array.from({ length: 20 }, () => store.recordRedemption('pc-1', a)));
        const ok = results.filter((r) => r.ok);
        expect(ok).to.have.length(5);
        expect(ok.map((r) => (r.ok ? r.uses : 0)).sort()).to.deep.equal([1, 2, 3, 4, 5]);
        expect(results.filter((r) => !r.ok && r.reason === 'spent')).to.have.length(15);
        expect((await store.getPasscode('pc-1'))?.uses).to.equal(5);
      });

      it('refuses unknown and revoked passcodes and lists revocations', async () => {
        const a = await enrolled();
        await store.registerPasscode({ id: 'pc-2', title: 't', maxUses: null, computers: [] });
        expect(await store.recordRedemption('pc-2', a)).to.deep.equal({ ok: true, uses: 1 });
        expect(await store.recordRedemption('nope', a)).to.deep.equal({ ok: false, reason: 'unknown' });
        const before = Date.now();
        await store.revokePasscode('pc-2', 'leaked');
        await store.revokePasscode('offline-issued');
        expect(await store.recordRedemption('pc-2', a)).to.deep.equal({ ok: false, reason: 'revoked' });
        const revs = await store.listRevocations(before);
        expect(revs.map((r) => r.subject).sort()).to.deep.equal(['offline-issued', 'pc-2']);
        expect(await codeOfAsync(store.registerPasscode({ id: 'pc-2', title: 't', maxUses: 1 }))).to.equal('ASC_COLLECTOR_CONFLICT');
      });
    });

    describe('admin API tokens', () => {
      it('stores a hash, carries the role, and revokes', async () => {
        const { token, record } = await store.createApiToken('approver', 'helpdesk');
        expect(JSON.stringify(await factory.rawRows(store, 'api_tokens'))).to.not.include(token);
        expect((await store.findApiToken(token))?.role).to.equal('approver');
        await store.revokeApiToken(record.id);
        expect(await store.findApiToken(token)).to.equal(undefined);
        expect(await codeOfAsync(store.createApiToken('root' as 'admin', 'x'))).to.equal('ASC_COLLECTOR_BAD_INPUT');
      });
    });

    describe('TSE Usage Report', () => {
      it('joins sessions and filters by time, computer, user and passcode', async () => {
        const a = await enrolled('PC-A');
        const b = await enrolled('PC-B');
        await store.registerPasscode({ id: 'pc-9', title: 'Update BIOS', maxUses: 3 });
        const h = 3600_000;
        await store.insertEvents(a, [
          { id: '1', type: 'passcode-redeemed', time: T0, user: 'alice', passcodeId: 'pc-9', sessionId: 's1' },
          { id: '2', type: 'process-elevated', time: T0 + 60_000, user: 'alice', passcodeId: 'pc-9', sessionId: 's1', processPath: 'C:\\bios.exe', args: '/flash', elevatedBy: 'tse' },
          { id: '3', type: 'session-expired', time: T0 + h, user: 'alice', passcodeId: 'pc-9', sessionId: 's1' },
        ]);
        await store.insertEvents(b, [
          { id: '1', type: 'process-elevated', time: T0 + 2 * h, user: 'bob', processPath: 'C:\\app.exe', elevatedBy: 'rule' },
          { id: '2', type: 'elevation-denied', time: T0 + 3 * h, user: 'bob', processPath: 'C:\\bad.exe' },
        ]);
        await store.insertEvents(a, [
          { id: '4', type: 'process-elevated', time: T0 + 120_000, user: 'alice', sessionId: 's1', processPath: 'C:\\w.exe', elevatedBy: 'rule', rule: 'Tools', controls: ['mfa', 'approval'] },
        ]);
        const all = await store.tseUsageReport();
        // Elevations inside a session only: bob's rule elevation outside any session is Elevation Activity.
        expect(all.map((r) => r.eventId)).to.deep.equal(['2', '4']);
        const first = all[0];
        expect(first).to.include({
          computer: 'PC-A',
          user: 'alice',
          passcodeId: 'pc-9',
          passcodeTitle: 'Update BIOS',
          processPath: 'C:\\bios.exe',
          args: '/flash',
          elevatedBy: 'tse',
          sessionStart: T0,
          sessionEnd: T0 + h,
          endedByExpiry: true,
        });
        expect(all[1]).to.include({ elevatedBy: 'rule', sessionStart: T0, endedByExpiry: true });
        expect(await store.tseUsageReport({ computer: 'pc-b' })).to.have.length(0);
        expect(await store.tseUsageReport({ computer: 'pc-a' }), 'computer names match case-insensitively').to.have.length(2);
        expect(await store.tseUsageReport({ user: 'ALICE' })).to.have.length(2);
        expect(await store.tseUsageReport({ passcodeId: 'pc-9' })).to.have.length(1);
        expect(await store.tseUsageReport({ from: T0 + 100_000 })).to.have.length(1);
        expect(await store.tseUsageReport({ to: T0 + 100_000 })).to.have.length(1);
        expect(await store.tseUsageReport({ from: T0 + 3 * h })).to.have.length(0);

        const elevations = await store.elevationsReport();
        expect(elevations.map((r) => [r.computer, r.eventId])).to.deep.equal([['PC-A', '2'], ['PC-A', '4'], ['PC-B', '1']]);
        expect(elevations[1]).to.include({ rule: 'Tools', controls: 'mfa, approval', elevatedBy: 'rule', passcodeId: null, sessionId: 's1' });
        expect(await store.elevationsReport({ user: 'bob' })).to.have.length(1);
        const denied = await store.deniedReport();
        expect(denied).to.have.length(1);
        expect(denied[0]).to.include({ computer: 'PC-B', user: 'bob', processPath: 'C:\\bad.exe', rule: null });
        expect(await store.deniedReport({ to: T0 + 3 * h })).to.have.length(0);
      });
    });

    describe('approvals audit and use', () => {
      it('runs an approved request once, within its time limit, only for the requesting agent', async () => {
        const a = await enrolled('PC-A');
        const b = await enrolled('PC-B');
        const r1 = await store.createApprovalRequest(a, { requestId: 'r1', user: 'alice', processPath: 'C:\\x.exe' }, T0);
        const r2 = await store.createApprovalRequest(a, { requestId: 'r2', user: 'alice', processPath: 'C:\\y.exe' }, T0);
        await store.createApprovalRequest(b, { requestId: 'r1', user: 'bob', processPath: 'C:\\z.exe' }, T0 + 5);
        expect(await codeOfAsync(store.useApproval(a, 'r1', T0 + 1))).to.equal('ASC_COLLECTOR_CONFLICT'); // pending
        await store.decideApproval(r1.id, { approve: true, by: 'carol', timeLimitSeconds: 60 }, T0 + 10);
        await store.decideApproval(r2.id, { approve: false, by: 'carol' }, T0 + 10);
        expect(await codeOfAsync(store.useApproval(b, 'r2', T0 + 20)), 'another agent can not use it').to.equal('ASC_COLLECTOR_NOT_FOUND');
        expect(await codeOfAsync(store.useApproval(a, 'r2', T0 + 20))).to.equal('ASC_COLLECTOR_CONFLICT'); // denied
        const used = await store.useApproval(a, 'r1', T0 + 20);
        expect(used.usedAt).to.equal(T0 + 20);
        expect(await codeOfAsync(store.useApproval(a, 'r1', T0 + 30)), 'only once').to.equal('ASC_COLLECTOR_CONFLICT');

        const r3 = await store.createApprovalRequest(a, { requestId: 'r3', user: 'alice', processPath: 'C:\\x.exe' }, T0);
        await store.decideApproval(r3.id, { approve: true, by: 'carol', timeLimitSeconds: 60 }, T0 + 10);
        expect(await codeOfAsync(store.useApproval(a, 'r3', T0 + 10 + 60_000)), 'past the time limit').to.equal('ASC_COLLECTOR_CONFLICT');

        const audit = await store.listApprovals();
        // Oldest first; r1..r3 share a filing time, so compare them as a set.
        expect(audit.slice(0, 3).map((x) => `${x.requestId}:${x.status}`).sort()).to.deep.equal(['r1:approved', 'r2:denied', 'r3:approved']);
        expect(audit[3]).to.include({ requestId: 'r1', status: 'pending', computer: 'PC-B' });
        expect(audit).to.have.length(4);
        expect((await store.listApprovals({ status: 'denied' })).map((x) => x.requestId)).to.deep.equal(['r2']);
        expect((await store.listApprovals({ computer: 'pc-b' })).map((x) => x.user)).to.deep.equal(['bob']);
        expect(await store.listApprovals({ from: T0 + 1 })).to.have.length(1);
      });
    });

    describe('MFA enrollments', () => {
      const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DP';
      const opts = { maxFailures: 3, lockMs: 60_000 };
      it('accepts a step once, counts failures and locks, case-insensitively per user', async () => {
        expect(await store.recordMfaAttempt('alice', 5, { ...opts, now: T0 })).to.deep.equal({ ok: false, reason: 'not-enrolled' });
        await store.putMfaSecret('CORP\\Alice', SECRET, T0);
        expect((await store.getMfa('corp\\alice'))?.confirmedAt).to.equal(null);
        expect(await store.recordMfaAttempt('corp\\ALICE', 100, { ...opts, now: T0 + 1 })).to.deep.equal({ ok: true });
        expect((await store.getMfa('CORP\\alice'))).to.include({ confirmedAt: T0 + 1, lastStep: 100, user: 'CORP\\Alice' });
        expect(await store.recordMfaAttempt('corp\\alice', 100, { ...opts, now: T0 + 2 })).to.deep.equal({ ok: false, reason: 'replayed' });
        expect(await store.recordMfaAttempt('corp\\alice', null, { ...opts, now: T0 + 3 })).to.deep.equal({ ok: false, reason: 'wrong-code' });
        const locked = await store.recordMfaAttempt('corp\\alice', null, { ...opts, now: T0 + 4 });
        expect(locked).to.deep.equal({ ok: false, reason: 'wrong-code', lockedUntil: T0 + 4 + 60_000 });
        expect(await store.recordMfaAttempt('corp\\alice', 101, { ...opts, now: T0 + 5 }), 'a right code while locked').to.deep.include({ ok: false, reason: 'locked' });
        expect(await store.recordMfaAttempt('corp\\alice', 101, { ...opts, now: T0 + 4 + 60_000 })).to.deep.equal({ ok: true });
        expect(await codeOfAsync(store.putMfaSecret('bob', 'not base32!'))).to.equal('ASC_COLLECTOR_BAD_INPUT');
        expect(await store.deleteMfa('CORP\\ALICE')).to.equal(true);
        expect(await store.getMfa('corp\\alice')).to.equal(undefined);
      });
    });

    describe('lists and sign-in sessions', () => {
      it('lists agents and passcodes; an expired session token is not found', async () => {
        await enrolled('PC-A');
        expect((await store.listAgents()).map((x) => x.computer)).to.deep.equal(['PC-A']);
        await store.registerPasscode({ id: 'p1', title: 'One', maxUses: 2, issuedAt: T0, computers: [] });
        await store.recordRedemption('p1', (await store.listAgents())[0]!.id);
        expect((await store.listPasscodes()).map((p) => [p.id, p.uses, p.maxUses])).to.deep.equal([['p1', 1, 2]]);
        const s = await store.createApiToken('approver', 'CORP\\carol', T0, { expiresAt: T0 + 1000, source: 'ad' });
        expect(await store.findApiToken(s.token, T0 + 999)).to.include({ role: 'approver', source: 'ad', expiresAt: T0 + 1000 });
        expect(await store.findApiToken(s.token, T0 + 1000)).to.equal(undefined);
      });

      it('keeps the owners of an API token (none by default)', async () => {
        const owned = await store.createApiToken('approver', 'helpdesk', T0, { owners: ['CORP\\alice', 'S-1-5-21-1-2-3-1105', 'CORP\\alice'] });
        expect(owned.record.owners).to.deep.equal(['CORP\\alice', 'S-1-5-21-1-2-3-1105']);
        expect((await store.findApiToken(owned.token))?.owners).to.deep.equal(['CORP\\alice', 'S-1-5-21-1-2-3-1105']);
        const plain = await store.createApiToken('viewer', 'reports', T0);
        expect((await store.findApiToken(plain.token))?.owners).to.deep.equal([]);
        expect((await store.listApiTokens()).map((t) => [t.name, t.owners])).to.deep.include.members([['helpdesk', ['CORP\\alice', 'S-1-5-21-1-2-3-1105']], ['reports', []]]);
        expect(await codeOfAsync(store.createApiToken('viewer', 'x', T0, { owners: [' '] }))).to.equal('ASC_COLLECTOR_BAD_INPUT');
      });
    });
  });
}
