/**
 * The collector's approval, MFA, passcode registry, token, sign-in and rate-limit routes
 * (fastify inject), against both stores: SQLite in a temp folder and a real PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Secret, TOTP } from 'otpauth';
import { AscendError } from '../../src/errors.js';
import { buildServer, type ServerOptions } from '../../src/collector/server/index.js';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';
import { expectTimeIn, windowStart } from '../support/time-window.js';

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ascend-api-'));
  tempDirs.push(d);
  return d;
}

/** A stand-in for the AD provider (the real one is tested against the Samba DC in ad-sign-in.test.ts). */
let authenticateCalls = 0;
const signIn = {
  async authenticate(user: string, password: string) {
    authenticateCalls++;
    if (user === 'ldap-down') throw new AscendError('ASC_LDAP_UNREACHABLE', 'cannot reach ldaps://dc1.corp.example.test:636 (certificate for DC1 expired)');
    if (user === 'CORP\\carol' && password === 'right') return { name: 'CORP\\carol', role: 'approver' as const };
    if (user === 'CORP\\dave' && password === 'right') throw new AscendError('ASC_COLLECTOR_FORBIDDEN', 'CORP\\dave is in none of the groups that give a role');
    throw new AscendError('ASC_COLLECTOR_UNAUTHENTICATED', 'the user name or password is wrong');
  },
};

/**
 * Resolves `first` once the store has answered a read of the agent's approval `requestId`
 * (a long-poll has then seen it pending and goes on to wait); `stop` puts the store back.
 */
function watchApprovalReads(store: CollectorStore, requestId: string): { first: Promise<void>; stop: () => void } {
  const original = store.getApprovalForAgent;
  let seen: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (seen = resolve));
  store.getApprovalForAgent = async function (this: CollectorStore, ...args: Parameters<CollectorStore['getApprovalForAgent']>) {
    const r = await original.apply(this, args);
    if (args[1] === requestId) seen();
    return r;
  };
  return { first, stop: () => void (store.getApprovalForAgent = original) };
}

function apiSuite(name: string, openStore: (ctx: Mocha.Context) => Promise<CollectorStore>): void {
  describe(`collector API (approvals, MFA, passcodes, tokens): ${name}`, function () {
    let store: CollectorStore;
    let app: FastifyInstance;
    let admin: string;
    let approver: string;
    let viewer: string;

    async function start(ctx: Mocha.Context, extra: Partial<ServerOptions> = {}): Promise<void> {
      store = await openStore(ctx);
      app = buildServer({ store, settings: { pollIntervalMs: 50, signIn, ...extra.settings }, ...(extra.rateLimit === undefined ? {} : { rateLimit: extra.rateLimit }) });
      await app.ready();
      admin = (await store.createApiToken('admin', 'alice-admin')).token;
      approver = (await store.createApiToken('approver', 'carol-approver')).token;
      viewer = (await store.createApiToken('viewer', 'victor-viewer')).token;
    }
    beforeEach(async function () {
      await start(this);
    });
    afterEach(async () => {
      await app.close();
    });

    function call(method: 'GET' | 'POST' | 'DELETE', url: string, auth?: string, payload?: unknown): Promise<LightMyRequestResponse> {
      return app.inject({
        method,
        url,
        headers: auth === undefined ? {} : { authorization: `Bearer ${auth}` },
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
    }
    function expectError(r: LightMyRequestResponse, status: number, code: string): string {
      expect(r.statusCode, r.body).to.equal(status);
      const body = r.json();
      expect(body.error.code).to.equal(code);
      return body.error.message as string;
    }
    async function enroll(computer: string): Promise<string> {
      const { token } = await store.createEnrollmentToken({ uses: 1 });
      const r = await call('POST', '/api/v1/enroll', undefined, { enrollmentToken: token, computer });
      return r.json().credential as string;
    }

    describe('approvals', () => {
      it('files, lists, approves with a time limit, runs once; bound to the requesting agent', async () => {
        const pc1 = await enroll('PC-01');
        const pc2 = await enroll('PC-02');
        const filed = await call('POST', '/api/v1/agent/approvals', pc1, { requestId: 'req-1', user: 'CORP\\bob', processPath: 'C:\\x.exe', args: '/s', justification: 'driver update' });
        expect(filed.statusCode, filed.body).to.equal(201);
        expect(filed.json().request).to.include({ requestId: 'req-1', status: 'pending' });
        // A retry of the same filing answers with the same request.
        expect((await call('POST', '/api/v1/agent/approvals', pc1, { requestId: 'req-1', user: 'CORP\\bob', processPath: 'C:\\x.exe', args: '/s' })).statusCode).to.equal(200);

        const list = await call('GET', '/api/v1/approvals', approver);
        expect(list.statusCode).to.equal(200);
        const [req] = list.json().requests;
        expect(req).to.include({ computer: 'PC-01', user: 'CORP\\bob', processPath: 'C:\\x.exe', args: '/s', justification: 'driver update', status: 'pending' });
        expectError(await call('GET', '/api/v1/approvals', viewer), 403, 'ASC_COLLECTOR_FORBIDDEN');
        expectError(await call('GET', '/api/v1/approvals', pc1), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');

        // Another agent can neither read nor use it, even knowing the request id.
        expectError(await call('GET', '/api/v1/agent/approvals/req-1', pc2), 404, 'ASC_COLLECTOR_NOT_FOUND');
        expectError(await call('POST', '/api/v1/agent/approvals/req-1/use', pc1), 409, 'ASC_COLLECTOR_CONFLICT');

        const approved = await call('POST', `/api/v1/approvals/${req.id}/approve`, approver, { timeLimitSeconds: 600 });
        expect(approved.statusCode, approved.body).to.equal(200);
        expect(approved.json().request).to.include({ status: 'approved', decidedBy: 'carol-approver', timeLimitSeconds: 600 });
        expectError(await call('POST', `/api/v1/approvals/${req.id}/deny`, approver, {}), 409, 'ASC_COLLECTOR_CONFLICT');
        expectError(await call('POST', '/api/v1/agent/approvals/req-1/use', pc2), 404, 'ASC_COLLECTOR_NOT_FOUND');

        const seen = (await call('GET', '/api/v1/agent/approvals/req-1', pc1)).json().request;
        expect(seen).to.include({ status: 'approved', timeLimitSeconds: 600 });
        expect(Date.parse(seen.validUntil) - Date.parse(seen.decidedAt)).to.equal(600_000);
        const useWindow = windowStart();
        const used = await call('POST', '/api/v1/agent/approvals/req-1/use', pc1);
        expect(used.statusCode, used.body).to.equal(200);
        expectTimeIn(used.json().request.usedAt, useWindow, 'usedAt');
        expect(expectError(await call('POST', '/api/v1/agent/approvals/req-1/use', pc1), 409, 'ASC_COLLECTOR_CONFLICT')).to.include('used already');

        const audit = await call('GET', '/api/v1/reports/approvals?format=json', viewer);
        expect(audit.json().rows.map((r: any) => [r.computer, r.status, r.decidedBy])).to.deep.equal([['PC-01', 'approved', 'carol-approver']]);
      });

      it('wakes a long-poll when the request is decided, and ends it at the wait when nobody decides', async function () {
        this.timeout(120_000); // beyond the 60 s wait: a poll that is not woken fails on the order below, not on a timeout
        const pc = await enroll('PC-03');
        await call('POST', '/api/v1/agent/approvals', pc, { requestId: 'r-wait', user: 'u', processPath: 'p' });
        await call('POST', '/api/v1/agent/approvals', pc, { requestId: 'r-idle', user: 'u', processPath: 'q' });
        const ids = Object.fromEntries(((await call('GET', '/api/v1/approvals', approver)).json().requests as { id: string; requestId: string }[]).map((x) => [x.requestId, x.id]));
        // No clock: the poll must end before a poll that nobody decides, started first with a
        // shorter wait (30 s against 60 s), whose only way to end is its wait running out.
        const settled = new Set<string>();
        const idle = call('GET', '/api/v1/agent/approvals/r-idle?wait=30', pc).finally(() => settled.add('r-idle'));
        const reads = watchApprovalReads(store, 'r-wait');
        const poll = call('GET', '/api/v1/agent/approvals/r-wait?wait=60', pc).finally(() => settled.add('r-wait'));
        await reads.first; // the poll has seen the request pending, and waits
        await call('POST', `/api/v1/approvals/${ids['r-wait']}/deny`, approver, {});
        const r = await poll;
        expect(r.json().request.status).to.equal('denied');
        expect([...settled], 'woken by the decision, while the undecided poll still waits').to.deep.equal(['r-wait']);
        reads.stop();
        await call('POST', `/api/v1/approvals/${ids['r-idle']}/deny`, approver, {});
        expect((await idle).json().request.status).to.equal('denied');

        await call('POST', '/api/v1/agent/approvals', pc, { requestId: 'r-none', user: 'u', processPath: 'p' });
        const quiet = await call('GET', '/api/v1/agent/approvals/r-none?wait=1', pc);
        expect(quiet.json().request.status).to.equal('pending');
        expect(expectError(await call('GET', '/api/v1/agent/approvals/r-none?wait=600', pc), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('wait');
      });

      it('expires pending requests after the configured lifetime; an expired one can not be approved', async function () {
        await app.close();
        await start(this, { settings: { approvalTtlMs: 200 } });
        const pc = await enroll('PC-04');
        await call('POST', '/api/v1/agent/approvals', pc, { requestId: 'old', user: 'u', processPath: 'p' });
        const id = (await call('GET', '/api/v1/approvals', approver)).json().requests[0].id as string;
        await new Promise((r) => setTimeout(r, 300));
        expect((await call('GET', '/api/v1/agent/approvals/old', pc)).json().request.status).to.equal('expired');
        expect(expectError(await call('POST', `/api/v1/approvals/${id}/approve`, approver, {}), 409, 'ASC_COLLECTOR_CONFLICT')).to.include('expired');
        expect((await call('GET', '/api/v1/approvals', approver)).json().requests).to.deep.equal([]);
      });

      it('refuses bad filings with 400 and stores nothing', async () => {
        const pc = await enroll('PC-05');
        expect(expectError(await call('POST', '/api/v1/agent/approvals', pc, { requestId: 'x', user: 'u' }), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('processPath');
        expect(expectError(await call('POST', '/api/v1/agent/approvals', pc, { requestId: 'x', user: 'u', processPath: 'p', status: 'approved' }), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('status');
        expectError(await call('POST', '/api/v1/approvals/not-a-real-id/approve', approver, {}), 404, 'ASC_COLLECTOR_NOT_FOUND');
        expect(await store.listApprovals()).to.deep.equal([]);
      });
    });

    describe('MFA', () => {
      it('enrolls a user, verifies a code from an authenticator once, refuses wrong codes, then locks', async () => {
        const pc = await enroll('PC-10');
        const e = await call('POST', '/api/v1/mfa/enrollments', admin, { user: 'CORP\\bob' });
        expect(e.statusCode, e.body).to.equal(201);
        const { secret, otpauthUri } = e.json();
        expect(otpauthUri).to.match(/^otpauth:\/\/totp\/Ascend:CORP%5Cbob\?/);
        expectError(await call('POST', '/api/v1/mfa/enrollments', approver, { user: 'x' }), 403, 'ASC_COLLECTOR_FORBIDDEN');
        // What an authenticator app computes from the URI's secret.
        const app2fa = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
        const code = app2fa.generate();
        const verifyWindow = windowStart();
        expect((await call('POST', '/api/v1/agent/mfa/verify', pc, { user: 'corp\\BOB', code })).json()).to.deep.equal({ user: 'corp\\BOB', verified: true });
        expect((await call('POST', '/api/v1/agent/mfa/verify', pc, { user: 'CORP\\bob', code })).json()).to.deep.equal({ user: 'CORP\\bob', verified: false, reason: 'replayed' });
        const show = (await call('GET', `/api/v1/mfa/enrollments/${encodeURIComponent('CORP\\bob')}`, viewer)).json();
        expectTimeIn(show.confirmedAt, verifyWindow, 'confirmedAt (the first good code)');
        expect(JSON.stringify(show)).to.not.include(secret);
        const wrong = String((Number(app2fa.generate({ timestamp: Date.now() + 600_000 })) + 1) % 1_000_000).padStart(6, '0');
        // The replay counted as the first failure; three more, then the fifth locks.
        for (let i = 0; i < 3; i++) expect((await call('POST', '/api/v1/agent/mfa/verify', pc, { user: 'CORP\\bob', code: wrong })).json()).to.deep.equal({ user: 'CORP\\bob', verified: false, reason: 'wrong-code' });
        const fifthWindow = windowStart();
        const fifth = await call('POST', '/api/v1/agent/mfa/verify', pc, { user: 'CORP\\bob', code: wrong });
        expect(fifth.json()).to.include({ verified: false, reason: 'wrong-code' });
        // Locked for the default 15 minutes from the fifth failure.
        expectTimeIn(fifth.json().lockedUntil, fifthWindow, 'lockedUntil', 15 * 60_000);
        const locked = await call('POST', '/api/v1/agent/mfa/verify', pc, { user: 'CORP\\bob', code: app2fa.generate({ timestamp: Date.now() + 30_000 }) });
        expectError(locked, 429, 'ASC_COLLECTOR_RATE_LIMITED');
        expect(Number(locked.headers['retry-after'])).to.be.greaterThan(0);
        expect((await call('POST', '/api/v1/agent/mfa/verify', pc, { user: 'nobody', code: '123456' })).json()).to.deep.equal({ user: 'nobody', verified: false, reason: 'not-enrolled' });
        expectError(await call('POST', '/api/v1/agent/mfa/verify', viewer, { user: 'CORP\\bob', code }), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');
        expect((await call('DELETE', `/api/v1/mfa/enrollments/${encodeURIComponent('CORP\\bob')}`, admin)).statusCode).to.equal(200);
        expectError(await call('GET', `/api/v1/mfa/enrollments/${encodeURIComponent('CORP\\bob')}`, viewer), 404, 'ASC_COLLECTOR_NOT_FOUND');
      });
    });

    describe('passcode registry', () => {
      it('counts redemptions domain-wide, refuses a spent or revoked passcode, and lists revocations for agents', async () => {
        const a = await enroll('PC-20');
        const b = await enroll('PC-21');
        const reg = await call('POST', '/api/v1/passcodes', admin, { id: 'pc-77', title: 'BIOS update', maxUses: 2, computers: [] });
        expect(reg.statusCode, reg.body).to.equal(201);
        expectError(await call('POST', '/api/v1/passcodes', admin, { id: 'pc-77', title: 'again', maxUses: 2, computers: [] }), 409, 'ASC_COLLECTOR_CONFLICT');
        expectError(await call('POST', '/api/v1/passcodes', viewer, { id: 'x', title: 'x' }), 403, 'ASC_COLLECTOR_FORBIDDEN');
        expect((await call('POST', '/api/v1/agent/passcodes/pc-77/redeem', a)).json()).to.deep.equal({ passcodeId: 'pc-77', ok: true, uses: 1, maxUses: 2 });
        expect((await call('POST', '/api/v1/agent/passcodes/pc-77/redeem', b)).json()).to.deep.equal({ passcodeId: 'pc-77', ok: true, uses: 2, maxUses: 2 });
        expect((await call('POST', '/api/v1/agent/passcodes/pc-77/redeem', a)).json()).to.deep.equal({ passcodeId: 'pc-77', ok: false, reason: 'spent' });
        expect((await call('POST', '/api/v1/agent/passcodes/unknown/redeem', a)).json()).to.deep.equal({ passcodeId: 'unknown', ok: false, reason: 'unknown' });
        expect((await call('GET', '/api/v1/passcodes', viewer)).json().passcodes[0]).to.include({ id: 'pc-77', uses: 2, usesLeft: 0, maxUses: 2 });

        await call('POST', '/api/v1/passcodes', admin, { id: 'pc-78', title: 'Unlimited', computers: [] });
        const since = new Date().toISOString();
        expect((await call('POST', '/api/v1/passcodes/pc-78/revoke', admin, { reason: 'lost laptop' })).statusCode).to.equal(200);
        expect((await call('POST', '/api/v1/agent/passcodes/pc-78/redeem', b)).json()).to.deep.equal({ passcodeId: 'pc-78', ok: false, reason: 'revoked' });
        const revs = (await call('GET', `/api/v1/agent/revocations?since=${encodeURIComponent(since)}`, a)).json().revocations;
        expect(revs.map((r: any) => [r.kind, r.subject, r.reason])).to.deep.equal([['passcode', 'pc-78', 'lost laptop']]);
        expectError(await call('GET', '/api/v1/revocations?since=yesterday', viewer), 400, 'ASC_COLLECTOR_BAD_INPUT');
      });

      it('lists and revokes agents; a revoked agent is refused', async () => {
        const pc = await enroll('PC-30');
        const agents = (await call('GET', '/api/v1/agents', viewer)).json().agents;
        expect(agents.map((x: any) => x.computer)).to.deep.equal(['PC-30']);
        expectError(await call('POST', `/api/v1/agents/${agents[0].id}/revoke`, approver, {}), 403, 'ASC_COLLECTOR_FORBIDDEN');
        const revokeWindow = windowStart();
        expectTimeIn((await call('POST', `/api/v1/agents/${agents[0].id}/revoke`, admin, { reason: 'stolen' })).json().agent.revokedAt, revokeWindow, 'revokedAt');
        expectError(await call('POST', '/api/v1/events', pc, { events: [{ id: '1', type: 'mfa', time: 1 }] }), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');
        const revs = (await call('GET', '/api/v1/revocations', viewer)).json().revocations;
        expect(revs.map((r: any) => [r.kind, r.reason])).to.deep.equal([['agent', 'stolen']]);
      });
    });

    describe('API tokens and sign-in', () => {
      it('creates tokens per role, lists them without secrets, revokes them; an expired token is refused', async () => {
        const r = await call('POST', '/api/v1/tokens', admin, { name: 'reporting job', role: 'viewer' });
        expect(r.statusCode, r.body).to.equal(201);
        const { token, id } = r.json();
        expect((await call('GET', '/api/v1/whoami', token)).json()).to.deep.equal({ name: 'reporting job', role: 'viewer', source: 'token', expiresAt: null });
        expectError(await call('POST', '/api/v1/tokens', token, { name: 'x', role: 'admin' }), 403, 'ASC_COLLECTOR_FORBIDDEN');
        const list = await call('GET', '/api/v1/tokens', admin);
        expect(list.body).to.not.include(token);
        expect(list.json().tokens.map((t: any) => t.name)).to.include('reporting job');
        expect(expectError(await call('POST', '/api/v1/tokens', admin, { name: 'x', role: 'root' }), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('role');
        await call('POST', `/api/v1/tokens/${id}/revoke`, admin);
        expectError(await call('GET', '/api/v1/whoami', token), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');
        const soon = await store.createApiToken('viewer', 'short', Date.now(), { expiresAt: Date.now() + 100 });
        await new Promise((res) => setTimeout(res, 150));
        expect(expectError(await call('GET', '/api/v1/whoami', soon.token), 401, 'ASC_COLLECTOR_UNAUTHENTICATED')).to.include('expired');
      });

      it('signs in with the directory: a session token with the role from the groups, limited failures', async () => {
        const ok = await call('POST', '/api/v1/sign-in', undefined, { user: 'CORP\\carol', password: 'right' });
        expect(ok.statusCode, ok.body).to.equal(201);
        const session = ok.json();
        expect(session).to.include({ name: 'CORP\\carol', role: 'approver' });
        expect(Date.parse(session.expiresAt) - Date.now()).to.be.within(7.9 * 3600e3, 8 * 3600e3);
        expect((await call('GET', '/api/v1/whoami', session.token)).json()).to.include({ source: 'ad', role: 'approver' });
        expect((await call('GET', '/api/v1/approvals', session.token)).statusCode).to.equal(200);
        expectError(await call('POST', '/api/v1/tokens', session.token, { name: 'x', role: 'viewer' }), 403, 'ASC_COLLECTOR_FORBIDDEN');
        expect((await call('POST', '/api/v1/sign-out', session.token)).statusCode).to.equal(200);
        expectError(await call('GET', '/api/v1/whoami', session.token), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');

        expectError(await call('POST', '/api/v1/sign-in', undefined, { user: 'CORP\\dave', password: 'right' }), 403, 'ASC_COLLECTOR_FORBIDDEN');
        for (let i = 0; i < 5; i++) expectError(await call('POST', '/api/v1/sign-in', undefined, { user: 'CORP\\carol', password: 'wrong' }), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');
        // Now even the right password waits: the failures are counted per address and user.
        const limited = await call('POST', '/api/v1/sign-in', undefined, { user: 'corp\\CAROL', password: 'right' });
        expectError(limited, 429, 'ASC_COLLECTOR_RATE_LIMITED');
        expect(Number(limited.headers['retry-after'])).to.be.greaterThan(0);
        expect(expectError(await call('POST', '/api/v1/sign-in', undefined, { user: 'x', password: '' }), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('password');
      });

      it('answers 404 for sign-in when no directory is configured', async function () {
        await app.close();
        store = await openStore(this);
        app = buildServer({ store });
        await app.ready();
        expect(expectError(await call('POST', '/api/v1/sign-in', undefined, { user: 'a', password: 'b' }), 404, 'ASC_COLLECTOR_NOT_FOUND')).to.include('--ad-url');
      });
    });

    describe('hardening', () => {
      it('counts sign-in attempts before the directory answers, per account however it is spelled', async () => {
        authenticateCalls = 0;
        const many = await Promise.all(Array.from({ length: 20 }, () => call('POST', '/api/v1/sign-in', undefined, { user: 'CORP\\erin', password: 'guess' })));
        expect(authenticateCalls, 'parallel guesses reach the directory at most 5 times').to.equal(5);
        expect(many.filter((r) => r.statusCode === 429)).to.have.length(15);
        authenticateCalls = 0;
        for (const spelling of ['erin', 'ERIN@corp.example.test', 'corp.example.test\\Erin']) {
          expectError(await call('POST', '/api/v1/sign-in', undefined, { user: spelling, password: 'guess' }), 429, 'ASC_COLLECTOR_RATE_LIMITED');
        }
        expect(authenticateCalls).to.equal(0);
      });

      it('answers directory trouble with 503 and no detail for the client', async () => {
        const r = await call('POST', '/api/v1/sign-in', undefined, { user: 'ldap-down', password: 'x' });
        expect(expectError(r, 503, 'ASC_LDAP_UNREACHABLE')).to.not.match(/dc1|certificate/i);
      });

      it('refuses times outside a Date, times without a zone, and events nested too deeply; nothing is stored', async () => {
        const pc = await enroll('PC-50');
        for (const time of [9e15, '2024-06-01T10:00:00', 'Sat 1 June 2024', '99999999999999999']) {
          expect(expectError(await call('POST', '/api/v1/events', pc, { events: [{ id: 'x', type: 'mfa', time }] }), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('time');
        }
        const deep = `${'{"d":'.repeat(150_000)}{}${'}'.repeat(150_000)}`;
        const r = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization: `Bearer ${pc}`, 'content-type': 'application/json' }, body: `{"events":[{"id":"y","type":"mfa","time":1,"data":${deep}}]}` });
        expect(expectError(r, 400, 'ASC_COLLECTOR_BAD_INPUT')).to.equal('events[0] is nested too deeply or can not be stored as JSON');
        expect(await store.countEvents()).to.equal(0);
        // With a zone, any offset form is fine.
        for (const [i, time] of ['2024-06-01T10:00:00Z', '2024-06-01T12:00:00+02:00', '2024-06-01T12:00:00+0200', '2024-06-01'].entries()) {
          expect((await call('POST', '/api/v1/events', pc, { events: [{ id: `ok${i}`, type: 'mfa', time }] })).statusCode).to.equal(200);
        }
        const times = (await store.listEvents()).map((e) => new Date(e.time).toISOString());
        expect(times.sort()).to.deep.equal(['2024-06-01T00:00:00.000Z', '2024-06-01T10:00:00.000Z', '2024-06-01T10:00:00.000Z', '2024-06-01T10:00:00.000Z']);
      });

      it('keeps a passcode revoked before it was registered revoked', async () => {
        const pc = await enroll('PC-51');
        const revokeWindow = windowStart();
        await call('POST', '/api/v1/passcodes/early/revoke', admin, { reason: 'leaked' });
        const revokedBy = Date.now();
        const reg = await call('POST', '/api/v1/passcodes', admin, { id: 'early', title: 'x', maxUses: 3, computers: [] });
        // The time of the revocation, not of the registration after it.
        expect(expectTimeIn(reg.json().passcode.revokedAt, revokeWindow, 'revokedAt')).to.be.at.most(revokedBy);
        expect((await call('POST', '/api/v1/agent/passcodes/early/redeem', pc)).json()).to.deep.equal({ passcodeId: 'early', ok: false, reason: 'revoked' });
      });

      it('refuses a request id filed again for another process, user or arguments', async () => {
        const pc = await enroll('PC-52');
        await call('POST', '/api/v1/agent/approvals', pc, { requestId: 'q', user: 'bob', processPath: 'notepad.exe' });
        const id = (await call('GET', '/api/v1/approvals', approver)).json().requests[0].id as string;
        await call('POST', `/api/v1/approvals/${id}/approve`, approver, {});
        expectError(await call('POST', '/api/v1/agent/approvals', pc, { requestId: 'q', user: 'mallory', processPath: 'cmd.exe' }), 409, 'ASC_COLLECTOR_CONFLICT');
        expectError(await call('POST', '/api/v1/agent/approvals', pc, { requestId: 'q', user: 'bob', processPath: 'notepad.exe', args: '/x' }), 409, 'ASC_COLLECTOR_CONFLICT');
        const same = await call('POST', '/api/v1/agent/approvals', pc, { requestId: 'q', user: 'bob', processPath: 'notepad.exe' });
        expect(same.json().request).to.include({ status: 'approved', processPath: 'notepad.exe', user: 'bob' });
      });

      it('ends long-polls when the server closes, without waiting for them', async function () {
        this.timeout(120_000); // beyond the 60 s wait: a poll the close does not end fails on the order below
        const pc = await enroll('PC-53');
        await call('POST', '/api/v1/agent/approvals', pc, { requestId: 'w', user: 'u', processPath: 'p' });
        await call('POST', '/api/v1/agent/approvals', pc, { requestId: 'w-other', user: 'u', processPath: 'q' });
        // No clock: the suite's server, which keeps running, holds a poll started first with a
        // shorter wait (30 s against 60 s); the poll of the server that closes must end first.
        const closing = buildServer({ store, settings: { pollIntervalMs: 50 }, closeStore: false });
        await closing.ready();
        const settled = new Set<string>();
        const reference = call('GET', '/api/v1/agent/approvals/w-other?wait=30', pc).finally(() => settled.add('reference'));
        const reads = watchApprovalReads(store, 'w');
        const poll = closing.inject({ method: 'GET', url: '/api/v1/agent/approvals/w?wait=60', headers: { authorization: `Bearer ${pc}` } }).finally(() => settled.add('closed'));
        await reads.first; // the poll waits
        reads.stop();
        await closing.close();
        const r = await poll;
        expect(r.json().request.status).to.equal('pending');
        expect([...settled], 'ended by the close, while the other server\'s poll still waits').to.deep.equal(['closed']);
        await app.close();
        expect((await reference).json().request.status).to.equal('pending');
        store = await openStore(this);
        app = buildServer({ store });
        await app.ready();
      });
    });

    describe('rate limits', () => {
      it('limits requests per credential with 429 and Retry-After, without affecting other credentials', async function () {
        await app.close();
        await start(this, { rateLimit: { max: 5 } });
        const pc = await enroll('PC-40');
        const statuses: number[] = [];
        for (let i = 0; i < 7; i++) statuses.push((await call('POST', '/api/v1/events', pc, { events: [{ id: `e${i}`, type: 'mfa', time: 1 }] })).statusCode);
        expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429, 429]);
        const limited = await call('POST', '/api/v1/events', pc, { events: [{ id: 'late', type: 'mfa', time: 1 }] });
        expectError(limited, 429, 'ASC_COLLECTOR_RATE_LIMITED');
        expect(Number(limited.headers['retry-after'])).to.be.greaterThan(0);
        expect(await store.countEvents(), 'nothing stored past the limit').to.equal(5);
        expect((await call('GET', '/api/v1/whoami', viewer)).statusCode, 'another credential').to.equal(200);
        expect((await call('GET', '/api/v1/health')).statusCode, 'health is not limited').to.equal(200);
      });

      it('limits unauthenticated routes per address: a made-up bearer value buys no allowance', async function () {
        await app.close();
        await start(this, { rateLimit: { max: 5 } });
        const statuses: number[] = [];
        for (let i = 0; i < 7; i++) {
          statuses.push((await call('POST', '/api/v1/enroll', `made-up-${i}`, { enrollmentToken: `nope-${i}`, computer: 'X' })).statusCode);
        }
        expect(statuses).to.deep.equal([403, 403, 403, 403, 403, 429, 429]);
      });
    });
  });
}

apiSuite('SQLite', async () => SqliteStore.open(tempDir()));

apiSuite('PostgreSQL', async (ctx) => {
  const server = await getTestPostgres(ctx);
  return PostgresStore.open(await server.createDatabase('api'));
});
