/**
 * Webhooks (issue 18): every event type reaches a subscribed receiver on loopback, once, from
 * where it happens (an agent's approval request and its decision with the approver's reason,
 * an agent's elevation-denied event, an MFA lockout, a passcode or agent revocation); a
 * webhook gets only the types it chose; Slack and Teams bodies keep what users typed inert.
 * And the pure parts: the retry schedule, the address rules, the sender refusing a metadata
 * address without connecting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { WEBHOOK_EVENT_TYPES } from '../../src/collector-api/webhooks.js';
import { retryDelay } from '../../src/collector/webhooks/dispatcher.js';
import { slackText, teamsText } from '../../src/collector/webhooks/format.js';
import { sendWebhook } from '../../src/collector/webhooks/send.js';
import { checkWebhookUrl, refusedAddress } from '../../src/collector/webhooks/target.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { api, type Collector, newGrantKey, Receiver, startCollector, until } from './webhook-support.js';

describe('h18a webhooks: events from where they happen, formats', function () {
  this.timeout(60_000);
  let dir: string;
  let c: Collector;
  let store: SqliteStore;
  const all = new Receiver();
  const onlyDecided = new Receiver();
  const slack = new Receiver();
  const teams = new Receiver();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-h18a-ev-'));
    store = await SqliteStore.open(dir);
    c = await startCollector(store, newGrantKey());
    for (const r of [all, onlyDecided, slack, teams]) await r.start();
    const add = async (url: string, events: readonly string[], format = 'json') =>
      expect((await api(c, c.admin, 'POST', '/api/v1/webhooks', { name: format, url, events, format })).status).to.equal(201);
    await add(all.url(), WEBHOOK_EVENT_TYPES);
    await add(onlyDecided.url(), ['approval.decided']);
    await add(slack.url(), ['approval.requested'], 'slack');
    await add(teams.url(), ['approval.requested'], 'teams');
  });
  after(async () => {
    await c?.app.close();
    for (const r of [all, onlyDecided, slack, teams]) await r.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const agentApi = (method: string, path: string, body?: unknown) => api(c, c.agentCredential, method, path, body);
  const types = (r: Receiver) => r.got.map((g) => JSON.parse(g.body).type as string);
  const ofType = (r: Receiver, t: string) => r.got.map((g) => JSON.parse(g.body)).filter((b) => b.type === t);

  it('approval requested and decided (with the approver\'s reason), to the webhooks that chose them', async () => {
    const filed = await agentApi('POST', '/api/v1/agent/approvals', { requestId: 'h18a-r1', user: 'CORP\\carol', processPath: '/usr/bin/apt', args: '<!channel> *install* <https://evil.example|click>', justification: 'patch @here' });
    expect(filed.status).to.equal(201);
    // A retry of the filing is the same request: no second event.
    expect((await agentApi('POST', '/api/v1/agent/approvals', { requestId: 'h18a-r1', user: 'CORP\\carol', processPath: '/usr/bin/apt', args: '<!channel> *install* <https://evil.example|click>', justification: 'patch @here' })).status).to.equal(200);
    const [pending] = (await api(c, c.approver, 'GET', '/api/v1/approvals')).body.requests as { id: string }[];
    const denied = await api(c, c.approver, 'POST', `/api/v1/approvals/${pending?.id}/deny`, { reason: 'use the change window' });
    expect(denied.status, JSON.stringify(denied.body)).to.equal(200);
    const decided = await until('approval.decided', () => ofType(all, 'approval.decided')[0]);
    expect(decided.data).to.include({ status: 'denied', decidedBy: 'wh-approver', reason: 'use the change window', user: 'CORP\\carol', computer: 'wh-pc1' });
    const requested = ofType(all, 'approval.requested');
    expect(requested).to.have.length(1);
    expect(requested[0].data).to.include({ processPath: '/usr/bin/apt', justification: 'patch @here', requestId: 'h18a-r1' });
    await until('the decided-only webhook', () => onlyDecided.got[0]);
    expect(types(onlyDecided)).to.deep.equal(['approval.decided']);
  });

  it('Slack and Teams bodies carry the request, with no mention, link or markup from what the user typed', async () => {
    const s = JSON.parse((await until('slack', () => slack.got[0])).body) as { text: string; blocks: unknown[] };
    expect(s.text).to.include('Ascend: Approval requested').and.include('/usr/bin/apt');
    expect(s.text).to.include('&lt;!channel&gt;').and.not.include('<!channel>').and.not.include('<https://evil');
    expect(s.text).to.not.match(/[^\u200b]\*install\*/);
    const t = JSON.parse((await until('teams', () => teams.got[0])).body) as { type: string; attachments: { contentType: string; content: { body: { facts?: { title: string; value: string }[] }[] } }[] };
    expect(t.type).to.equal('message');
    expect(t.attachments[0]?.contentType).to.equal('application/vnd.microsoft.card.adaptive');
    const facts = t.attachments[0]?.content.body.flatMap((b) => b.facts ?? []) ?? [];
    expect(facts.find((f) => f.title === 'Arguments')?.value).to.equal(teamsText('<!channel> *install* <https://evil.example|click>'));
    expect(facts.find((f) => f.title === 'Justification')?.value).to.equal('patch \\@here');
  });

  it('an elevation-denied event of an agent, once even when the batch is sent again', async () => {
    const batch = { events: [{ id: 'h18a-ev-1', type: 'elevation-denied', time: new Date().toISOString(), user: 'CORP\\dave', processPath: '/usr/bin/nc', args: '-l 4444', rule: 'no netcat', reason: 'blacklisted' }, { id: 'h18a-ev-2', type: 'policy-applied', time: new Date().toISOString() }] };
    expect((await agentApi('POST', '/api/v1/events', batch)).status).to.equal(200);
    expect((await agentApi('POST', '/api/v1/events', batch)).status).to.equal(200);
    const ev = await until('elevation.denied', () => ofType(all, 'elevation.denied')[0]);
    expect(ev.data).to.include({ eventId: 'h18a-ev-1', user: 'CORP\\dave', processPath: '/usr/bin/nc', rule: 'no netcat', computer: 'wh-pc1' });
    const d = (await api(c, c.admin, 'GET', '/api/v1/webhooks/deliveries?limit=1000')).body.deliveries as { event: string }[];
    expect(d.filter((x) => x.event === 'elevation.denied')).to.have.length(1);
  });

  it('an MFA lockout, once, on the attempt that locks', async () => {
    await store.putMfaSecret('erin', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    for (let i = 0; i < 7; i++) await agentApi('POST', '/api/v1/agent/mfa/verify', { user: 'erin', code: '000000' });
    const lock = await until('mfa.lockout', () => ofType(all, 'mfa.lockout')[0]);
    expect(lock.data).to.include({ user: 'erin', computer: 'wh-pc1', agentId: c.agentId });
    expect(ofType(all, 'mfa.lockout')).to.have.length(1);
  });

  it('passcode and agent revocations', async () => {
    await api(c, c.admin, 'POST', '/api/v1/passcodes/h18a-p9/revoke', { reason: 'leaked' });
    await api(c, c.admin, 'POST', `/api/v1/agents/${c.agentId}/revoke`, { reason: 'retired' });
    expect((await until('passcode.revoked', () => ofType(all, 'passcode.revoked')[0])).data).to.include({ passcodeId: 'h18a-p9', reason: 'leaked' });
    expect((await until('agent.revoked', () => ofType(all, 'agent.revoked')[0])).data).to.include({ agentId: c.agentId, reason: 'retired' });
    expect(types(onlyDecided)).to.deep.equal(['approval.decided']);
  });
});

describe('h18a webhooks: retry schedule, address rules, the sender', () => {
  it('backs off exponentially up to the cap, with jitter in the upper half', () => {
    const s = { baseDelayMs: 1000, maxDelayMs: 60_000 };
    expect([1, 2, 3, 4].map((n) => retryDelay(n, s, () => 1))).to.deep.equal([1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4].map((n) => retryDelay(n, s, () => 0))).to.deep.equal([500, 1000, 2000, 4000]);
    expect(retryDelay(40, s, () => 1)).to.equal(60_000);
    expect(retryDelay(40, s, () => 0)).to.equal(30_000);
  });

  it('judges addresses: link-local, metadata, unspecified, multicast refused; http only to loopback', () => {
    for (const a of ['169.254.169.254', '169.254.0.1', '::ffff:169.254.169.254', 'fe80::1', 'fd00:ec2::254', '0.0.0.0', '::', '224.0.0.1', '255.255.255.255', '100.100.100.200']) {
      expect(refusedAddress(a, 'https:'), a).to.be.a('string');
    }
    expect(refusedAddress('10.1.2.3', 'https:')).to.equal(null);
    expect(refusedAddress('10.1.2.3', 'http:')).to.match(/loopback only/);
    expect(refusedAddress('127.0.0.1', 'http:')).to.equal(null);
    expect(refusedAddress('::1', 'http:')).to.equal(null);
    expect(refusedAddress('::ffff:127.0.0.1', 'http:')).to.equal(null);
    expect(checkWebhookUrl('https://hooks.slack.com/services/T/B/x').href).to.equal('https://hooks.slack.com/services/T/B/x');
  });

  it('refuses to send to a metadata address, and to a name that resolves to one (checked in the lookup the socket uses)', async () => {
    const opts = { timeoutMs: 5000, maxResponseBytes: 1024 };
    const r = await sendWebhook('https://169.254.169.254/latest', '{}', {}, opts);
    expect(r).to.deep.include({ ok: false });
    expect(r.error).to.match(/link-local/);
    // A name whose answer (now, not at add) holds a metadata address: refused, even mixed with a good one.
    const rebinding = (addresses: string[]) => (_h: string, cb: (e: null, a: { address: string; family: number }[]) => void) => cb(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
    const bad = await sendWebhook('https://hooks.example.test/x', '{}', {}, { ...opts, resolve: rebinding(['10.0.0.7', '169.254.169.254']) });
    expect(bad.error).to.match(/^hooks\.example\.test resolves to a refused address: 169\.254\.169\.254 is a link-local/);
    const httpOff = await sendWebhook('http://hooks.example.test/x', '{}', {}, { ...opts, resolve: rebinding(['10.0.0.7']) });
    expect(httpOff.error).to.match(/loopback only/);
    // The same name answering loopback reaches the receiver: the lookup given is the one dialled.
    const rx = new Receiver();
    await rx.start();
    try {
      const good = await sendWebhook(`http://hooks.example.test:${rx.port}/x`, '{"a":1}', { 'ascend-delivery': 'd1' }, { ...opts, resolve: rebinding(['127.0.0.1']) });
      expect(good).to.deep.include({ ok: true, status: 200 });
      expect(rx.got[0]?.headers.host).to.equal(`hooks.example.test:${rx.port}`);
    } finally {
      await rx.stop();
    }
  });

  it('escapes chat markup', () => {
    expect(slackText('<!here> & *b* `c`')).to.equal('&lt;!here&gt; &amp; \u200b*\u200bb\u200b*\u200b \u200b`\u200bc\u200b`\u200b');
    expect(teamsText('[x](https://e.example) @all')).to.equal('\\[x\\]\\(https://e\\.example\\) \\@all');
  });
});

describe('h18a webhooks: a collector that dies mid-send', () => {
  it('leaves a lease that runs out: the delivery is claimed again, with the same id, and only then', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ascend-h18a-lease-'));
    const store = await SqliteStore.open(dir);
    try {
      const hooks = store.webhookStore();
      await hooks.add({ name: 'l', url: 'http://127.0.0.1:9/…', events: ['agent.revoked'], format: 'json', createdBy: 't', seal: () => 'sealed' });
      const t0 = Date.now();
      const [made] = await hooks.enqueue({ key: 'k1', type: 'agent.revoked', occurredAt: t0, data: {} }, { now: t0 });
      const first = await hooks.claimDue(10, 40_000, t0 + 1);
      expect(first.map((x) => x.delivery.id)).to.deep.equal([made?.id]);
      // The claimer dies here (no outcome recorded). Before the lease ends nobody else sends it...
      expect(await hooks.claimDue(10, 40_000, t0 + 39_000)).to.deep.equal([]);
      // ...after it, the next claim gets the same delivery (same id: receivers drop the duplicate).
      const again = await hooks.claimDue(10, 40_000, t0 + 41_000);
      expect(again.map((x) => x.delivery.id)).to.deep.equal([made?.id]);
      await hooks.delivered(made?.id as string, t0 + 42_000);
      expect(await hooks.claimDue(10, 40_000, t0 + 200_000)).to.deep.equal([]);
      // Enqueuing the same event again adds nothing.
      expect(await hooks.enqueue({ key: 'k1', type: 'agent.revoked', occurredAt: t0, data: {} })).to.deep.equal([]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
