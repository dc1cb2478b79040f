/**
 * What one hostile agent can do to the approvers' page (issue 18 review): it may have at most
 * MAX_PENDING_PER_AGENT requests waiting (a new one past that is 429 ASC_COLLECTOR_RATE_LIMITED,
 * a retry of one it filed is still answered), and the watch long-poll answers at most
 * WATCH_MAX_BYTES of rows however long their arguments and justifications are. A real collector
 * (buildServer over a SqliteStore, app.inject), the agent's own route.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/collector/server/index.js';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';
import { MAX_PENDING_PER_AGENT } from '../../src/collector/server/routes/approvals.js';
import { WATCH_MAX_BYTES } from '../../src/collector/server/routes/approval-watch.js';

for (const db of ['SQLite', 'PostgreSQL'] as const) describe(`approvals: what one agent can put in front of the approvers (API, ${db})`, function () {
  this.timeout(120_000);
  let dir: string;
  let store: CollectorStore;
  let app: FastifyInstance;
  let approver: string;
  const credentials: string[] = [];
  let n = 0;

  const fileAs = (credential: string, size = 10, requestId = `q-${++n}`) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/agent/approvals',
      headers: { authorization: `Bearer ${credential}` },
      payload: { requestId, user: 'mallory', processPath: '/usr/bin/env', args: `N=${n} ${'a'.repeat(size)}`, justification: 'j'.repeat(size) },
    });

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'ascend-approvals-bounds-'));
    store = db === 'SQLite' ? await SqliteStore.open(join(dir, 'data')) : await PostgresStore.open(await (await getTestPostgres(this)).createDatabase('approvals_bounds'));
    app = buildServer({ store, settings: { pollIntervalMs: 60_000 } });
    approver = (await store.createApiToken('approver', 'carol', Date.now(), { owners: ['carol'] })).token;
    for (const computer of ['PC-HOSTILE', 'PC-OTHER', 'PC-BIG-1', 'PC-BIG-2']) {
      const { token } = await store.createEnrollmentToken({ uses: 1 });
      const res = await app.inject({ method: 'POST', url: '/api/v1/enroll', payload: { enrollmentToken: token, computer } });
      credentials.push(res.json().credential as string);
    }
  });
  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`an agent has at most ${MAX_PENDING_PER_AGENT} requests waiting; a retry is still answered; another computer is not held back`, async () => {
    const hostile = credentials[0] as string;
    const ids: string[] = [];
    for (let i = 0; i < MAX_PENDING_PER_AGENT; i++) {
      const res = await fileAs(hostile);
      expect(res.statusCode, res.body).to.equal(201);
      ids.push(res.json().request.requestId as string);
    }
    const over = await fileAs(hostile);
    expect(over.statusCode).to.equal(429);
    expect(over.json().error.code).to.equal('ASC_COLLECTOR_RATE_LIMITED');
    expect(over.json().error.message).to.equal(`this computer has ${MAX_PENDING_PER_AGENT} approval requests waiting already; wait for a decision before asking again`);
    // Filing one it has already filed (the agent's retry) is answered as before: 200 with the request.
    const retry = await app.inject({
      method: 'POST',
      url: '/api/v1/agent/approvals',
      headers: { authorization: `Bearer ${hostile}` },
      payload: { requestId: ids[0], user: 'mallory', processPath: '/usr/bin/env', args: `N=1 ${'a'.repeat(10)}`, justification: 'j'.repeat(10) },
    });
    expect(retry.statusCode, retry.body).to.equal(200);
    expect((await fileAs(credentials[1] as string)).statusCode).to.equal(201);
    // A decision frees a place.
    const pending = await store.listApprovals({ status: 'pending' });
    const first = pending.find((r) => r.requestId === ids[0]);
    const denied = await app.inject({ method: 'POST', url: `/api/v1/approvals/${first?.id}/deny`, headers: { authorization: `Bearer ${approver}` }, payload: {} });
    expect(denied.statusCode, denied.body).to.equal(200);
    expect((await fileAs(hostile)).statusCode).to.equal(201);
    expect((await fileAs(hostile)).statusCode).to.equal(429);
  });

  it(`the watch answers at most ${WATCH_MAX_BYTES} bytes of rows, oldest pending first, and says that more are waiting`, async () => {
    // Two agents' 20 requests of 64 KB each (the largest arguments and justification an agent may send): 2.6 MB, and what is there already.
    for (const big of credentials.slice(2)) {
      for (let i = 0; i < MAX_PENDING_PER_AGENT; i++) expect((await fileAs(big, 32_000)).statusCode).to.equal(201);
    }
    const res = await app.inject({ method: 'GET', url: '/api/v1/approvals/watch', headers: { authorization: `Bearer ${approver}` } });
    expect(res.statusCode).to.equal(200);
    const body = res.json() as { pending: { requestId: string; createdAt: string }[]; pendingMore: boolean; decided: unknown[] };
    expect(res.rawPayload.length).to.be.at.most(WATCH_MAX_BYTES + 4096);
    expect(body.pendingMore).to.equal(true);
    const all = await store.listApprovals({ status: 'pending' });
    expect(body.pending.length).to.be.below(all.length);
    // What is shown is in filing order, oldest first.
    const order = all.map((r) => r.requestId);
    const shown = body.pending.map((r) => order.indexOf(r.requestId));
    expect(shown).to.deep.equal([...shown].sort((a, b) => a - b));
    expect(shown[0]).to.equal(0);
  });

  it(`the cap holds for filings sent at once: of 40 new requests, exactly ${MAX_PENDING_PER_AGENT} are taken`, async () => {
    const { token } = await store.createEnrollmentToken({ uses: 1 });
    const burst = (await app.inject({ method: 'POST', url: '/api/v1/enroll', payload: { enrollmentToken: token, computer: 'PC-BURST' } })).json().credential as string;
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => app.inject({ method: 'POST', url: '/api/v1/agent/approvals', headers: { authorization: `Bearer ${burst}` }, payload: { requestId: `burst-${i}`, user: 'mallory', processPath: '/usr/bin/env' } })));
    expect(answers.filter((a) => a.statusCode === 201)).to.have.length(MAX_PENDING_PER_AGENT);
    expect(answers.filter((a) => a.statusCode === 429)).to.have.length(40 - MAX_PENDING_PER_AGENT);
  });

  it('one computer cannot push the others off the page: its rows take a share of the watch beyond its first', async () => {
    const { token } = await store.createEnrollmentToken({ uses: 2 });
    const enroll = async (computer: string) => (await app.inject({ method: 'POST', url: '/api/v1/enroll', payload: { enrollmentToken: token, computer } })).json().credential as string;
    const flooder = await enroll('PC-FLOOD');
    const honest = await enroll('PC-HONEST');
    // Control characters are six bytes each in JSON: five such requests would fill 2 MiB alone.
    const fat = '\u0001'.repeat(32_000);
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/agent/approvals', headers: { authorization: `Bearer ${flooder}` }, payload: { requestId: `flood-${i}`, user: 'mallory', processPath: '/usr/bin/env', args: fat, justification: fat } });
      expect(res.statusCode, res.body).to.equal(201);
    }
    const mine = await app.inject({ method: 'POST', url: '/api/v1/agent/approvals', headers: { authorization: `Bearer ${honest}` }, payload: { requestId: 'honest-1', user: 'ann', processPath: '/usr/bin/id' } });
    expect(mine.statusCode, mine.body).to.equal(201);
    // Only the new computers' requests in the way: the others are decided first.
    for (const r of await store.listApprovals({ status: 'pending' })) {
      if (!r.requestId.startsWith('flood-') && r.requestId !== 'honest-1') await store.decideApproval(r.id, { approve: false, by: 'test' });
    }
    const res = await app.inject({ method: 'GET', url: '/api/v1/approvals/watch', headers: { authorization: `Bearer ${approver}` } });
    const body = res.json() as { pending: { requestId: string }[]; pendingMore: boolean };
    expect(body.pending.map((r) => r.requestId)).to.include('honest-1');
    expect(body.pending.filter((r) => r.requestId.startsWith('flood-')).length).to.be.below(5);
    expect(body.pendingMore).to.equal(true);
  });
});
