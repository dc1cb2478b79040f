/**
 * H18f (review M3): a webhook delivery commits with the state change it reports. A database
 * failure while the deliveries are stored (a trigger the test arms, standing for SQLITE_BUSY,
 * a full disk or a PostgreSQL error) fails the whole change: the agent or approver sees an
 * error and retries, and the retry queues the delivery, once. Never a change without its
 * delivery, never a delivery twice for a resent batch or a request filed again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildServer } from '../../src/collector/server/index.js';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';

interface Backend {
  name: string;
  open(ctx: Mocha.Context): Promise<{ store: CollectorStore; failing(on: boolean): Promise<void>; done(): Promise<void> }>;
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const backends: Backend[] = [
  {
    name: 'SQLite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'ascend-h18f-'));
      dirs.push(dir);
      const store = await SqliteStore.open(join(dir, 'data'));
      // A second connection to the same file arms and disarms the failure.
      const side = new Database(store.file);
      side.exec(`CREATE TABLE h18f_fail (armed INTEGER NOT NULL); INSERT INTO h18f_fail VALUES (0);
        CREATE TRIGGER h18f_fail BEFORE INSERT ON webhook_deliveries WHEN (SELECT armed FROM h18f_fail) = 1 BEGIN SELECT RAISE(ABORT, 'h18f: simulated database failure'); END;`);
      return {
        store,
        failing: async (on) => void side.prepare('UPDATE h18f_fail SET armed = ?').run(on ? 1 : 0),
        done: async () => void side.close(),
      };
    },
  },
  {
    name: 'PostgreSQL',
    async open(ctx) {
      const server = await getTestPostgres(ctx);
      const url = await server.createDatabase('h18f_atomic');
      const store = await PostgresStore.open(url);
      const side = new pg.Client({ connectionString: url });
      await side.connect();
      await side.query(`CREATE TABLE h18f_fail (armed INTEGER NOT NULL); INSERT INTO h18f_fail VALUES (0);
        CREATE FUNCTION h18f_fail() RETURNS trigger AS $$ BEGIN IF (SELECT armed FROM h18f_fail) = 1 THEN RAISE EXCEPTION 'h18f: simulated database failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
        CREATE TRIGGER h18f_fail BEFORE INSERT ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION h18f_fail();`);
      return {
        store,
        failing: async (on) => void (await side.query('UPDATE h18f_fail SET armed = $1', [on ? 1 : 0])),
        done: () => side.end(),
      };
    },
  },
];

for (const backend of backends) {
  describe(`h18f webhook deliveries commit with their state change (${backend.name})`, function () {
    this.timeout(60_000);
    let app: FastifyInstance;
    let store: CollectorStore;
    let failing: (on: boolean) => Promise<void>;
    let done: () => Promise<void>;
    let admin: string;
    let approver: string;
    let cred: string;

    before(async function () {
      ({ store, failing, done } = await backend.open(this));
      // This collector sends nothing: the test reads the queue as it is.
      app = buildServer({ store, webhooks: false, rateLimit: false });
      admin = (await store.createApiToken('admin', 'h18f-admin')).token;
      approver = (await store.createApiToken('approver', 'h18f-approver')).token;
      const { token } = await store.createEnrollmentToken({ uses: 1 });
      cred = (await store.enrollAgent(token, 'h18f-pc1')).credential;
      const add = await app.inject({
        method: 'POST',
        url: '/api/v1/webhooks',
        headers: { authorization: `Bearer ${admin}` },
        payload: { name: 'h18f', url: 'http://127.0.0.1:9/hook', events: ['approval.requested', 'approval.decided', 'elevation.denied', 'agent.revoked', 'passcode.revoked', 'mfa.lockout'] },
      });
      expect(add.statusCode, add.body).to.equal(201);
    });

    after(async () => {
      await app?.close();
      await done?.();
      // (Closing the app closed the store.)
    });

    async function deliveries(): Promise<{ event: string }[]> {
      const d = await app.inject({ method: 'GET', url: '/api/v1/webhooks/deliveries?limit=1000', headers: { authorization: `Bearer ${admin}` } });
      expect(d.statusCode, d.body).to.equal(200);
      return d.json().deliveries;
    }
    const count = async (type: string) => (await deliveries()).filter((d) => d.event === type).length;

    it('a failure while queueing approval.requested fails the request; the retry queues it once', async () => {
      const payload = { requestId: 'h18f-r1', user: 'bob', processPath: '/bin/x' };
      const post = () => app.inject({ method: 'POST', url: '/api/v1/agent/approvals', headers: { authorization: `Bearer ${cred}` }, payload });
      await failing(true);
      const first = await post();
      await failing(false);
      if (first.statusCode < 300) {
        // Stored without its delivery would be the loss: the request must not stand alone.
        expect(await count('approval.requested'), 'the request was stored without its webhook delivery').to.equal(1);
      } else {
        expect(first.statusCode).to.equal(500);
        expect((await store.listApprovals({ status: 'pending' })).map((r) => r.requestId)).to.not.include('h18f-r1');
      }
      const retry = await post();
      expect(retry.statusCode, retry.body).to.be.oneOf([200, 201]);
      const again = await post();
      expect(again.statusCode, again.body).to.equal(200);
      expect(await count('approval.requested'), 'one approval.requested delivery, whatever the retries').to.equal(1);
    });

    it('a failure while queueing approval.decided fails the decision; deciding again queues it once', async () => {
      const id = (await store.listApprovals({ status: 'pending' })).find((r) => r.requestId === 'h18f-r1')?.id as string;
      const deny = () => app.inject({ method: 'POST', url: `/api/v1/approvals/${id}/deny`, headers: { authorization: `Bearer ${approver}` }, payload: { reason: 'not today' } });
      await failing(true);
      const first = await deny();
      await failing(false);
      if (first.statusCode < 300) {
        expect(await count('approval.decided'), 'the decision was stored without its webhook delivery').to.equal(1);
      } else {
        expect(first.statusCode).to.equal(500);
        expect((await store.getApprovalRequest(id))?.status).to.equal('pending');
        const retry = await deny();
        expect(retry.statusCode, retry.body).to.equal(200);
      }
      expect((await deny()).statusCode).to.equal(409);
      expect(await count('approval.decided'), 'one approval.decided delivery').to.equal(1);
    });

    it('a failure while queueing elevation.denied fails the batch; the resent batch queues each once', async () => {
      const events = { events: [1, 2, 3].map((i) => ({ id: `h18f-e${i}`, type: 'elevation-denied', time: Date.now(), user: 'bob', processPath: '/bin/x', reason: 'no rule' })) };
      const post = () => app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization: `Bearer ${cred}` }, payload: events });
      await failing(true);
      const first = await post();
      await failing(false);
      if (first.statusCode < 300) {
        expect(await count('elevation.denied'), 'the events were stored without their webhook deliveries').to.equal(3);
      } else {
        expect(first.statusCode).to.equal(500);
        expect(await store.countEvents()).to.equal(0);
      }
      const retry = await post();
      expect(retry.statusCode, retry.body).to.equal(200);
      const again = await post();
      expect(again.json().stored).to.equal(0);
      expect(await count('elevation.denied'), 'one delivery per denied event').to.equal(3);
    });

    it('a failure while queueing agent.revoked / passcode.revoked fails the revocation; revoking again queues it once', async () => {
      const { token } = await store.createEnrollmentToken({ uses: 1 });
      const other = (await store.enrollAgent(token, 'h18f-pc2')).agent.id;
      const revokeAgent = () => app.inject({ method: 'POST', url: `/api/v1/agents/${other}/revoke`, headers: { authorization: `Bearer ${admin}` }, payload: { reason: 'stolen' } });
      const revokePasscode = () => app.inject({ method: 'POST', url: '/api/v1/passcodes/h18f-pass-1/revoke', headers: { authorization: `Bearer ${admin}` }, payload: { reason: 'leaked' } });
      await failing(true);
      const a1 = await revokeAgent();
      const p1 = await revokePasscode();
      await failing(false);
      if (a1.statusCode < 300) expect(await count('agent.revoked'), 'the agent was revoked without its webhook delivery').to.equal(1);
      else expect((await store.getAgent(other))?.revokedAt).to.equal(null);
      if (p1.statusCode < 300) expect(await count('passcode.revoked'), 'the passcode was revoked without its webhook delivery').to.equal(1);
      else expect((await store.listRevocations()).map((r) => r.subject)).to.not.include('h18f-pass-1');
      for (const r of [await revokeAgent(), await revokeAgent(), await revokePasscode(), await revokePasscode()]) expect(r.statusCode, r.body).to.equal(200);
      expect(await count('agent.revoked')).to.equal(1);
      expect(await count('passcode.revoked')).to.equal(1);
    });

    it('a failure while queueing mfa.lockout fails the locking attempt; the attempt that locks queues it once', async () => {
      await store.putMfaSecret('h18f-erin', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
      const attempt = () => app.inject({ method: 'POST', url: '/api/v1/agent/mfa/verify', headers: { authorization: `Bearer ${cred}` }, payload: { user: 'h18f-erin', code: '000000' } });
      // Four wrong codes: no lock yet (five lock).
      for (let i = 0; i < 4; i++) expect((await attempt()).statusCode).to.equal(200);
      await failing(true);
      const locking = await attempt();
      await failing(false);
      if (locking.statusCode < 300) expect(await count('mfa.lockout'), 'the user was locked without the webhook delivery').to.equal(1);
      else expect(locking.statusCode).to.equal(500);
      // The attempt that locks now (again, when the failure undid the first), then attempts answered "locked".
      for (let i = 0; i < 3; i++) await attempt();
      expect(await count('mfa.lockout')).to.equal(1);
    });
  });
}
