/**
 * The collector's HTTP routes (fastify inject), run against both stores: SQLite in a temp
 * folder and a real PostgreSQL (test/support/postgres.ts).
 */
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer, ensureBootstrapToken } from '../../src/collector/server/index.js';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';

const T0 = Date.parse('2026-03-02T09:00:00Z');
const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ascend-server-'));
  tempDirs.push(d);
  return d;
}

function routeSuite(name: string, openStore: (ctx: Mocha.Context) => Promise<CollectorStore>): void {
  describe(`collector HTTP API: ${name}`, function () {
    let store: CollectorStore;
    let app: FastifyInstance;
    let logLines: string[];
    let admin: string;
    let viewer: string;

    beforeEach(async function () {
      store = await openStore(this);
      logLines = [];
      const stream = new Writable({
        write(chunk: Buffer, _enc, cb) {
          logLines.push(chunk.toString('utf8'));
          cb();
        },
      });
      app = buildServer({ store, logger: { level: 'debug', stream } });
      await app.ready();
      admin = (await store.createApiToken('admin', 'test admin')).token;
      viewer = (await store.createApiToken('viewer', 'test viewer')).token;
    });
    afterEach(async () => {
      await app.close(); // closes the store too
    });

    async function enroll(computer = 'PC-01'): Promise<{ agentId: string; credential: string }> {
      const { token } = await store.createEnrollmentToken({ uses: 1 });
      const r = await app.inject({ method: 'POST', url: '/api/v1/enroll', payload: { enrollmentToken: token, computer } });
      expect(r.statusCode, r.body).to.equal(201);
      return r.json();
    }

    function post(url: string, payload: unknown, auth?: string, headers: Record<string, string> = {}) {
      return app.inject({
        method: 'POST',
        url,
        ...(typeof payload === 'string' ? { body: payload, headers: { 'content-type': 'application/json', ...headers, ...(auth ? { authorization: `Bearer ${auth}` } : {}) } } : { payload: payload as object, headers: { ...headers, ...(auth ? { authorization: `Bearer ${auth}` } : {}) } }),
      });
    }

    function expectError(r: { statusCode: number; json(): any }, status: number, code: string): string {
      expect(r.statusCode).to.equal(status);
      const body = r.json();
      expect(body.error.code).to.equal(code);
      expect(body.error.message).to.be.a('string').and.not.equal('');
      return body.error.message as string;
    }

    it('answers health without authentication', async () => {
      const r = await app.inject({ method: 'GET', url: '/api/v1/health' });
      expect(r.statusCode).to.equal(200);
      expect(r.json()).to.deep.equal({ status: 'ok', storage: store.kind });
    });

    describe('enroll', () => {
      it('enrolls with a good token, then refuses it used up', async () => {
        const { token } = await store.createEnrollmentToken({ uses: 1 });
        const ok = await post('/api/v1/enroll', { enrollmentToken: token, computer: 'PC-01' });
        expect(ok.statusCode).to.equal(201);
        const body = ok.json();
        expect(body.agentId).to.be.a('string');
        expect(body.credential).to.match(/^[A-Za-z0-9_-]{43}$/);
        expect((await store.findAgentByCredential(body.credential))?.computer).to.equal('PC-01');
        expectError(await post('/api/v1/enroll', { enrollmentToken: token, computer: 'PC-02' }), 403, 'ASC_COLLECTOR_ENROLL_REFUSED');
      });

      it('refuses an expired or unknown token', async () => {
        const { token } = await store.createEnrollmentToken({ uses: 5, expiresAt: Date.now() - 1000 });
        expectError(await post('/api/v1/enroll', { enrollmentToken: token, computer: 'PC-01' }), 403, 'ASC_COLLECTOR_ENROLL_REFUSED');
        expectError(await post('/api/v1/enroll', { enrollmentToken: 'nope', computer: 'PC-01' }), 403, 'ASC_COLLECTOR_ENROLL_REFUSED');
      });

      it('rejects a body with an unknown field or a missing one, naming it', async () => {
        const { token } = await store.createEnrollmentToken({ uses: 1 });
        const m1 = expectError(await post('/api/v1/enroll', { enrollmentToken: token, computer: 'PC-01', admin: true }), 400, 'ASC_COLLECTOR_BAD_INPUT');
        expect(m1).to.include('admin');
        const m2 = expectError(await post('/api/v1/enroll', { enrollmentToken: token }), 400, 'ASC_COLLECTOR_BAD_INPUT');
        expect(m2).to.include('computer');
        // The token was not consumed.
        expect((await post('/api/v1/enroll', { enrollmentToken: token, computer: 'PC-01' })).statusCode).to.equal(201);
      });
    });

    describe('events', () => {
      const batch = (n: number, extra: Record<string, unknown> = {}) =>
        Array.from({ length: n }, (_, i) => ({ id: `e-${i}`, type: 'policy-applied', time: T0 + i, ...extra }));

      it('stores a batch once even when it is sent twice, on the enrolled computer', async () => {
        const { agentId, credential } = await enroll('PC-REAL');
        const events = batch(5, { computer: 'PC-FAKE', user: 'CORP\\alice' });
        const r1 = await post('/api/v1/events', { events }, credential);
        expect(r1.statusCode, r1.body).to.equal(200);
        expect(r1.json()).to.deep.equal({ accepted: 5, stored: 5 });
        const r2 = await post('/api/v1/events', { events }, credential);
        expect(r2.json()).to.deep.equal({ accepted: 5, stored: 0 });
        const stored = await store.listEvents(agentId);
        expect(stored).to.have.length(5);
        expect(stored.every((e) => e.computer === 'PC-REAL')).to.equal(true);
        expect(await store.countEvents()).to.equal(5);
      });

      it('accepts 1,000 events and every listed type', async () => {
        const { credential } = await enroll();
        const r = await post('/api/v1/events', { events: batch(1000) }, credential);
        expect(r.json()).to.deep.equal({ accepted: 1000, stored: 1000 });
        const types = ['passcode-redeemed', 'passcode-refused', 'process-elevated', 'elevation-denied', 'session-expired', 'processes-ended', 'approval-requested', 'justification', 'mfa', 'policy-applied', 'agent-error'];
        const r2 = await post('/api/v1/events', { events: types.map((type, i) => ({ id: `t-${i}`, type, time: new Date(T0).toISOString() })) }, credential);
        expect(r2.json()).to.deep.equal({ accepted: types.length, stored: types.length });
      });

      it('refuses bad input with a 4xx JSON error and stores nothing', async () => {
        const { credential } = await enroll();
        const cases: [unknown, number, string, string?][] = [
          ['{"events": [', 400, 'ASC_COLLECTOR_BAD_JSON'],
          ['', 400, 'ASC_COLLECTOR_BAD_JSON'],
          [{ events: batch(1), extra: 1 }, 400, 'ASC_COLLECTOR_BAD_INPUT', 'extra'],
          [{ events: [{ ...batch(1)[0], surprise: 'x' }] }, 400, 'ASC_COLLECTOR_BAD_INPUT', 'surprise'],
          [{ events: [{ id: 'a', type: 'policy-applied', time: true }] }, 400, 'ASC_COLLECTOR_BAD_INPUT', 'time'],
          [{ events: [{ id: 7, type: 'policy-applied', time: T0 }] }, 400, 'ASC_COLLECTOR_BAD_INPUT', 'id'],
          [{ events: 'all of them' }, 400, 'ASC_COLLECTOR_BAD_INPUT', 'events'],
          [{ events: batch(1001) }, 400, 'ASC_COLLECTOR_BAD_INPUT', 'events'],
          [{ events: [{ id: 'a', type: 'coffee-made', time: T0 }] }, 400, 'ASC_COLLECTOR_BAD_INPUT', 'type'],
          [{ events: [{ id: 'a', type: 'policy-applied', time: 'yesterday-ish' }] }, 400, 'ASC_COLLECTOR_BAD_INPUT', 'time'],
          [{ events: [] }, 400, 'ASC_COLLECTOR_BAD_INPUT', 'events'],
          [{ events: batch(10, { message: 'x'.repeat(30000), data: { blob: 'y'.repeat(100000) } }) }, 413, 'ASC_COLLECTOR_TOO_LARGE'],
        ];
        for (const [payload, status, code, field] of cases) {
          const r = await post('/api/v1/events', payload, credential);
          const message = expectError(r, status, code);
          if (field) expect(message, `${code}: ${message}`).to.include(field);
        }
        expect(await store.countEvents()).to.equal(0);
        // The server stays up.
        expect((await post('/api/v1/events', { events: batch(1) }, credential)).statusCode).to.equal(200);
      });

      it('refuses a missing, unknown or revoked credential with 401', async () => {
        const { agentId, credential } = await enroll();
        expectError(await post('/api/v1/events', { events: batch(1) }), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');
        expectError(await post('/api/v1/events', { events: batch(1) }, 'not-a-credential'), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');
        // An admin API token is no agent credential.
        expectError(await post('/api/v1/events', { events: batch(1) }, admin), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');
        await store.revokeAgent(agentId, 'lost laptop');
        expectError(await post('/api/v1/events', { events: batch(1) }, credential), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');
        expect(await store.countEvents()).to.equal(0);
      });

      it('never logs credentials or tokens', async () => {
        const { credential } = await enroll();
        await post('/api/v1/events', { events: batch(2) }, credential);
        await post('/api/v1/events', '{bad', credential);
        const r = await post('/api/v1/enroll-tokens', {}, admin);
        const log = logLines.join('');
        expect(log).to.not.equal('');
        for (const secret of [credential, admin, r.json().token as string]) expect(log).to.not.include(secret);
      });
    });

    describe('admin routes', () => {
      it('creates an enrollment token with the admin role, which an agent can use', async () => {
        const r = await post('/api/v1/enroll-tokens', { uses: 2, expiresAt: new Date(Date.now() + 3600e3).toISOString() }, admin);
        expect(r.statusCode, r.body).to.equal(201);
        const { token, uses, expiresAt } = r.json();
        expect(uses).to.equal(2);
        expect(Date.parse(expiresAt)).to.be.greaterThan(Date.now());
        expect((await post('/api/v1/enroll', { enrollmentToken: token, computer: 'A' })).statusCode).to.equal(201);
        expect((await post('/api/v1/enroll', { enrollmentToken: token, computer: 'B' })).statusCode).to.equal(201);
        expectError(await post('/api/v1/enroll', { enrollmentToken: token, computer: 'C' }), 403, 'ASC_COLLECTOR_ENROLL_REFUSED');
      });

      it('refuses a viewer token with 403, no token or a wrong one with 401, bad bodies with 400', async () => {
        expectError(await post('/api/v1/enroll-tokens', {}, viewer), 403, 'ASC_COLLECTOR_FORBIDDEN');
        expectError(await post('/api/v1/enroll-tokens', {}), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');
        expectError(await post('/api/v1/enroll-tokens', {}, 'wrong'), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');
        expect(expectError(await post('/api/v1/enroll-tokens', { uses: 'many' }, admin), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('uses');
        expect(expectError(await post('/api/v1/enroll-tokens', { uses: 0 }, admin), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('uses');
        expect(expectError(await post('/api/v1/enroll-tokens', { expiresAt: '2000-01-01T00:00:00Z' }, admin), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('expiresAt');
        const rec = (await store.listApiTokens()).find((t) => t.role === 'admin');
        await store.revokeApiToken(rec?.id as string);
        expectError(await post('/api/v1/enroll-tokens', {}, admin), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');
      });

      it('returns the TSE Usage Report as JSON and CSV, filtered, to a viewer', async () => {
        const { credential } = await enroll('PC-07');
        const events = [
          { id: 'r1', type: 'passcode-redeemed', time: T0, user: 'CORP\\bob', passcodeId: 'pc-1', sessionId: 's1' },
          { id: 'p1', type: 'process-elevated', time: T0 + 1000, user: 'CORP\\bob', passcodeId: 'pc-1', sessionId: 's1', processPath: 'C:\\Tools\\setup.exe', args: '/quiet, "x"', elevatedBy: 'tse', computer: 'LIES' },
          { id: 'p2', type: 'process-elevated', time: T0 + 2000, user: 'CORP\\carol', sessionId: 's2', processPath: '=cmd.exe', elevatedBy: 'rule' },
          { id: 'x1', type: 'session-expired', time: T0 + 60000, user: 'CORP\\bob', sessionId: 's1' },
        ];
        expect((await post('/api/v1/events', { events }, credential)).json()).to.deep.equal({ accepted: 4, stored: 4 });
        const json = await app.inject({ method: 'GET', url: '/api/v1/reports/tse-usage', headers: { authorization: `Bearer ${viewer}` } });
        expect(json.statusCode, json.body).to.equal(200);
        const rows = json.json().rows;
        expect(rows).to.have.length(2);
        expect(rows[0]).to.deep.include({
          time: new Date(T0 + 1000).toISOString(),
          computer: 'PC-07',
          user: 'CORP\\bob',
          passcodeId: 'pc-1',
          processPath: 'C:\\Tools\\setup.exe',
          elevatedBy: 'tse',
          sessionStart: new Date(T0).toISOString(),
          sessionEnd: new Date(T0 + 60000).toISOString(),
          endedByExpiry: true,
          eventId: 'p1',
        });
        const filtered = await app.inject({ method: 'GET', url: `/api/v1/reports/tse-usage?user=${encodeURIComponent('CORP\\carol')}&from=${T0}&to=${new Date(T0 + 10000).toISOString()}`, headers: { authorization: `Bearer ${viewer}` } });
        expect(filtered.json().rows.map((r: any) => r.eventId)).to.deep.equal(['p2']);
        const byPasscode = await app.inject({ method: 'GET', url: '/api/v1/reports/tse-usage?passcode=pc-1&computer=PC-07', headers: { authorization: `Bearer ${viewer}` } });
        expect(byPasscode.json().rows.map((r: any) => r.eventId)).to.deep.equal(['p1']);

        const csv = await app.inject({ method: 'GET', url: '/api/v1/reports/tse-usage?format=csv', headers: { authorization: `Bearer ${admin}` } });
        expect(csv.statusCode).to.equal(200);
        expect(csv.headers['content-type']).to.match(/^text\/csv/);
        const lines = csv.body.trimEnd().split('\r\n');
        expect(lines[0]).to.equal('time,computer,user,passcodeId,passcodeTitle,processPath,args,elevatedBy,sessionId,sessionStart,sessionEnd,endedByExpiry,agentId,eventId');
        expect(lines).to.have.length(3);
        expect(lines[1]).to.include(`${new Date(T0 + 1000).toISOString()},PC-07,CORP\\bob,pc-1,,C:\\Tools\\setup.exe,"/quiet, ""x""",tse,s1,`);
        expect(lines[2]).to.include(",'=cmd.exe,,rule,");

        expectError(await app.inject({ method: 'GET', url: '/api/v1/reports/tse-usage' }), 401, 'ASC_COLLECTOR_UNAUTHENTICATED');
        expect(expectError(await app.inject({ method: 'GET', url: '/api/v1/reports/tse-usage?format=xml', headers: { authorization: `Bearer ${viewer}` } }), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('format');
        expect(expectError(await app.inject({ method: 'GET', url: '/api/v1/reports/tse-usage?colour=red', headers: { authorization: `Bearer ${viewer}` } }), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('colour');
        expect(expectError(await app.inject({ method: 'GET', url: '/api/v1/reports/tse-usage?from=soon', headers: { authorization: `Bearer ${viewer}` } }), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('from');
      });

      it('answers an unknown route with a JSON 404', async () => {
        expectError(await app.inject({ method: 'GET', url: '/api/v1/nothing' }), 404, 'ASC_COLLECTOR_NOT_FOUND');
      });
    });
  });
}

routeSuite('SQLite', async () => SqliteStore.open(tempDir()));

routeSuite('PostgreSQL', async (ctx) => {
  const server = await getTestPostgres(ctx);
  return PostgresStore.open(await server.createDatabase('server'));
});

describe('collector bootstrap admin token', () => {
  it('is written once, mode 0600, to the data folder, and works as an admin token', async () => {
    const dir = tempDir();
    const store = await SqliteStore.open(dir);
    try {
      const first = await ensureBootstrapToken(store, dir);
      expect(first).to.deep.equal({ file: join(dir, 'bootstrap-admin-token'), created: true, exists: true });
      expect(statSync(first.file).mode & 0o777).to.equal(0o600);
      const token = readFileSync(first.file, 'utf8').trim();
      expect((await store.findApiToken(token))?.role).to.equal('admin');
      const again = await ensureBootstrapToken(store, dir);
      expect(again.created).to.equal(false);
      expect(readFileSync(first.file, 'utf8').trim()).to.equal(token);
    } finally {
      await store.close();
    }
  });
});
