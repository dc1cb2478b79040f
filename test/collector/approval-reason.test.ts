/**
 * The approver's reason and the approvals page's long-poll at the API: a real collector
 * (buildServer over a SqliteStore, app.inject). The reason is stored with the decision and
 * shown to the agent; it is one line of at most 500 characters. GET /api/v1/approvals/watch
 * answers at once with a new tag, waits while the tag is current, and wakes on a filing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/collector/server/index.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { decisionReason } from '../../src/cli/shared/decision-reason.js';
import { expectCode } from '../support/expect-code.js';

describe('approvals: the decision reason and the watch long-poll (API)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: SqliteStore;
  let app: FastifyInstance;
  let approver: string;
  let viewer: string;
  let agentId: string;
  let agentCredential: string;
  let n = 0;

  const file = async (user = 'bob') => store.createApprovalRequest(agentId, { requestId: `r-${++n}`, user, processPath: '/usr/bin/env', args: `N=${n}`, rule: 'env after approval' });
  const post = (path: string, payload: object, token = approver) => app.inject({ method: 'POST', url: path, headers: { authorization: `Bearer ${token}` }, payload });
  const get = (path: string, token = approver) => app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-h18d-reason-'));
    store = await SqliteStore.open(join(dir, 'data'));
    app = buildServer({ store, settings: { pollIntervalMs: 60_000 } });
    approver = (await store.createApiToken('approver', 'carol', Date.now(), { owners: ['carol'] })).token;
    viewer = (await store.createApiToken('viewer', 'victor')).token;
    const { token } = await store.createEnrollmentToken({ uses: 1 });
    agentId = (await store.enrollAgent(token, 'PC-R')).agent.id;
    const second = await store.createEnrollmentToken({ uses: 1 });
    agentCredential = (await app.inject({ method: 'POST', url: '/api/v1/enroll', payload: { enrollmentToken: second.token, computer: 'PC-W' } })).json().credential as string;
  });
  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores the reason with a denial and an approval; the approver and the agent see it', async () => {
    const denied = await file();
    const res = await post(`/api/v1/approvals/${denied.id}/deny`, { reason: '  <b>use the portal</b>  ' });
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json().request.reason).to.equal('<b>use the portal</b>');
    expect(res.json().request.rule).to.equal('env after approval');
    expect((await store.getApprovalRequest(denied.id))?.reason).to.equal('<b>use the portal</b>');
    const approved = await file();
    const ok = await post(`/api/v1/approvals/${approved.id}/approve`, { timeLimitSeconds: 600, reason: 'change 4711' });
    expect(ok.statusCode, ok.body).to.equal(200);
    expect(ok.json().request).to.include({ status: 'approved', reason: 'change 4711', timeLimitSeconds: 600, decidedBy: 'carol' });
    const none = await file();
    expect((await post(`/api/v1/approvals/${none.id}/deny`, {})).json().request.reason).to.equal(null);
  });

  it('refuses a reason over 500 characters or with a line break or control character; nothing is decided', async () => {
    const r = await file();
    for (const reason of ['x'.repeat(501), 'one\ntwo', 'bell\u0007', 'esc\u001b[31m', 'line\u2028sep']) {
      const res = await post(`/api/v1/approvals/${r.id}/deny`, { reason });
      expect(res.statusCode, JSON.stringify(reason)).to.equal(400);
      expect(res.json().error.code).to.equal('ASC_COLLECTOR_BAD_INPUT');
    }
    expect((await store.getApprovalRequest(r.id))?.status).to.equal('pending');
    // The store checks too (another caller than the route).
    await expectCode(() => store.decideApproval(r.id, { approve: false, by: 'x', reason: 'a\rb' }), 'ASC_COLLECTOR_BAD_INPUT');
    await post(`/api/v1/approvals/${r.id}/deny`, {});
  });

  it('the CLI checks --reason before sending it', () => {
    expect(decisionReason('  fine  ')).to.equal('fine');
    for (const bad of ['', '   ', 'a\nb', 'x'.repeat(501)]) expect(() => decisionReason(bad)).to.throw(/--reason/);
  });

  it('watch: answers at once without a tag, waits while the tag is current, wakes on a new request; approver role only', async function () {
    // The poll interval is a minute: a watch that a filing does not wake fails on this timeout.
    this.timeout(30_000);
    expect((await get('/api/v1/approvals/watch', viewer)).statusCode).to.equal(403);
    const first = await get('/api/v1/approvals/watch');
    expect(first.statusCode, first.body).to.equal(200);
    const body = first.json();
    expect(body.me).to.deep.equal({ name: 'carol', role: 'approver', source: 'token' });
    expect(body.pending).to.deep.equal([]);
    expect(body.decided.map((r: { reason: string | null }) => r.reason)).to.include('<b>use the portal</b>');
    // Same tag, no wait: the same state at once.
    const same = await get(`/api/v1/approvals/watch?since=${body.tag}`);
    expect(same.json().tag).to.equal(body.tag);
    // Same tag with a wait: the answer comes when a request is filed (the poll interval is a minute).
    // Had it not waited, it would answer the state before the filing (nothing pending).
    const waiting = get(`/api/v1/approvals/watch?since=${body.tag}&wait=50`);
    const filed = await post('/api/v1/agent/approvals', { requestId: 'w-1', user: 'dave', processPath: '/usr/bin/env', rule: 'env after approval' }, agentCredential);
    expect(filed.statusCode, filed.body).to.equal(201);
    const woke = (await waiting).json();
    expect(woke.tag).to.not.equal(body.tag);
    expect(woke.pending.map((r: { user: string; rule: string }) => [r.user, r.rule])).to.deep.equal([['dave', 'env after approval']]);
    expect((await get('/api/v1/approvals/watch?wait=999')).statusCode).to.equal(400);
  });
});
