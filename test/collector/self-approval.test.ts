/**
 * No self-approval (issue 13, finding 4): an approver never approves an elevation its own
 * account requested, whichever way the request and the approver spell the account; on the
 * API, the built CLI (`ascend server approval approve`) and the web page in a real Chromium.
 * A real collector: buildServer over a SqliteStore, listening on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { AscendError } from '../../src/errors.js';
import { buildServer } from '../../src/collector/server/index.js';
import { AdSignIn } from '../../src/collector/server/ad-sign-in.js';
import { accountForm, assertNotSelfApproval } from '../../src/collector/server/self-approval.js';
import { Directory } from '../../src/directory/client.js';
import { escapeFilterValue } from '../../src/directory/filter.js';
import { sidToString } from '../../src/directory/sid.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { CHROMIUM, chromiumAvailable, chromiumLaunchOptions } from '../support/chromium.js';
import { requireComponent } from '../support/components.js';
import { requireTestDc, sambaTool, sambaToolOk, type TestDc } from '../support/samba-dc.js';
import { type CaFetch, testTls } from '../support/tls.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');
const ALICE_SID = 'S-1-5-21-1004336348-1177238915-682003330-1105';
const BOB_SID = 'S-1-5-21-1004336348-1177238915-682003330-1106';

function selfRefused(requestUser: string, approver: { name: string; owners: string[] }): boolean {
  try {
    assertNotSelfApproval(requestUser, approver);
    return false;
  } catch (e) {
    if (e instanceof AscendError && e.code === 'ASC_COLLECTOR_SELF_APPROVAL') return true;
    throw e;
  }
}

describe('h4 self-approval: comparing the requester with the approver', () => {
  const alice = { name: 'helpdesk alice', owners: ['CORP\\alice'] };
  const aliceAd = { name: 'alice.smith@corp.example.test', owners: ['alice.smith@corp.example.test', ALICE_SID, 'asmith@corp.example.test', 'CORP\\asmith'] };

  it('refuses every spelling of the approver\'s own account', () => {
    for (const user of ['CORP\\alice', 'alice', 'ALICE', 'alice@corp.example.test', 'Alice@CORP', 'OTHERDOM\\alice', ' alice ', 'ａｌｉｃｅ', 'al\u200bice', 'corp\\ALICE@corp.example.test']) {
      expect(selfRefused(user, alice), user).to.equal(true);
    }
    // An AD session: its UPN, its sAMAccountName in either form, and its SID.
    for (const user of ['alice.smith@corp.example.test', 'CORP\\asmith', 'asmith', 'ASMITH@corp.example.test', ALICE_SID, ALICE_SID.toLowerCase()]) {
      expect(selfRefused(user, aliceAd), user).to.equal(true);
    }
  });

  it('lets another account be approved', () => {
    for (const user of ['CORP\\bob', 'bob@corp.example.test', 'alice2', 'malice']) expect(selfRefused(user, alice), user).to.equal(false);
    expect(selfRefused(BOB_SID, aliceAd)).to.equal(false);
  });

  it('fails closed when the forms cannot be compared', () => {
    // A request by SID and an approver whose SID is not known.
    expect(selfRefused(BOB_SID, alice)).to.equal(true);
    // A request by name and an approver known only by SID.
    expect(selfRefused('CORP\\bob', { name: 'sid only', owners: [ALICE_SID] })).to.equal(true);
    // A requester the agent's name service did not know, or that holds control characters.
    for (const user of ['uid:1234', 'CORP\\', '@corp', 'S-1-5-x', 'bob\nalice', '\u200b']) expect(selfRefused(user, alice), JSON.stringify(user)).to.equal(true);
    // A token without an owner is known by its name.
    expect(selfRefused('CORP\\alice', { name: 'alice', owners: [] })).to.equal(true);
    expect(selfRefused('CORP\\alice', { name: 'ci job', owners: [] })).to.equal(false);
  });

  it('reduces each form to what is compared', () => {
    expect(accountForm('CORP\\Alice')).to.deep.equal({ kind: 'name', account: 'alice' });
    expect(accountForm('alice@corp.example.test')).to.deep.equal({ kind: 'name', account: 'alice' });
    expect(accountForm(ALICE_SID.toLowerCase())).to.deep.equal({ kind: 'sid', sid: ALICE_SID });
    expect(accountForm('uid:7')).to.deep.equal({ kind: 'unknown' });
  });
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('h4 self-approval: API, CLI and web page against a real collector', function () {
  this.timeout(120_000);
  let dir: string;
  let store: SqliteStore;
  let app: FastifyInstance;
  let url: string;
  let caFile: string;
  let tlsFetch: CaFetch;
  let agentId: string;
  let adminToken: string;
  /** Owned by CORP\alice. */
  let aliceToken: string;
  /** Owned by bob (name and SID). */
  let bobToken: string;
  let seq = 0;

  async function call(method: string, path: string, token: string, body?: unknown): Promise<Answer> {
    const r = await tlsFetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  }

  /** Files a request as the agent would, for `user`; returns its collector id. */
  async function request(user: string): Promise<string> {
    const r = await store.createApprovalRequest(agentId, { requestId: `h4-req-${++seq}`, user, processPath: '/usr/bin/id' });
    return r.id;
  }

  function errorCode(a: Answer): unknown {
    return (a.body.error as { code?: unknown } | undefined)?.code;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-h4-self-'));
    store = await SqliteStore.open(join(dir, 'data'));
    const tls = await testTls(join(dir, 'data'));
    caFile = tls.caFile;
    tlsFetch = tls.fetch;
    app = buildServer({
      store,
      ...tls.serverOptions,
      settings: {
        // A stand-in for Active Directory (the real one is in ad-sign-in.test.ts): it says who the account is, as AdSignIn does.
        signIn: {
          authenticate: async (user, password) => {
            if (user === 'CORP\\asmith' && password === 'pw') {
              return { name: 'alice.smith@corp.example.test', role: 'admin', identities: ['alice.smith@corp.example.test', ALICE_SID, 'asmith@corp.example.test', 'CORP\\asmith'] };
            }
            throw new AscendError('ASC_COLLECTOR_UNAUTHENTICATED', 'the user name or password is wrong');
          },
        },
      },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    url = `https://127.0.0.1:${addr.port}`;
    const { token } = await store.createEnrollmentToken({ uses: 1 });
    agentId = (await store.enrollAgent(token, 'H4-PC-01')).agent.id;
    adminToken = (await store.createApiToken('admin', 'bootstrap')).token;
    // Owners through the API, as `ascend server token create --owner` sends them.
    const a = await call('POST', '/api/v1/tokens', adminToken, { name: 'alice approver', role: 'approver', owners: ['CORP\\alice'] });
    expect(a.status, JSON.stringify(a.body)).to.equal(201);
    expect(a.body.owners).to.deep.equal(['CORP\\alice']);
    aliceToken = a.body.token as string;
    const b = await call('POST', '/api/v1/tokens', adminToken, { name: 'bob approver', role: 'approver', owners: ['bob', BOB_SID] });
    expect(b.status).to.equal(201);
    bobToken = b.body.token as string;
  });

  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('API', () => {
    it('refuses approving one\'s own request in any spelling, with a code; another approver may', async () => {
      for (const user of ['CORP\\alice', 'alice@corp.example.test', 'ALICE', 'ａｌｉｃｅ']) {
        const id = await request(user);
        const r = await call('POST', `/api/v1/approvals/${id}/approve`, aliceToken, {});
        expect(r.status, user).to.equal(403);
        expect(errorCode(r), user).to.equal('ASC_COLLECTOR_SELF_APPROVAL');
        expect((r.body.error as { message: string }).message).to.match(/may not approve it/);
        // Still pending: nothing was decided.
        expect((await store.getApprovalRequest(id))?.status).to.equal('pending');
        const ok = await call('POST', `/api/v1/approvals/${id}/approve`, bobToken, {});
        expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
        expect((ok.body.request as { status: string; decidedBy: string })).to.include({ status: 'approved', decidedBy: 'bob approver' });
      }
    });

    it('lets an approver deny their own request (denying grants nothing)', async () => {
      const id = await request('corp\\alice');
      const r = await call('POST', `/api/v1/approvals/${id}/deny`, aliceToken, {});
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect((r.body.request as { status: string }).status).to.equal('denied');
    });

    it('compares by SID when the request names one; a request by SID needs an approver whose SID is known', async () => {
      const bobs = await request(BOB_SID);
      expect(errorCode(await call('POST', `/api/v1/approvals/${bobs}/approve`, bobToken, {}))).to.equal('ASC_COLLECTOR_SELF_APPROVAL');
      // alice's token knows no SID: it cannot tell, so it may not approve.
      const refused = await call('POST', `/api/v1/approvals/${bobs}/approve`, aliceToken, {});
      expect(errorCode(refused)).to.equal('ASC_COLLECTOR_SELF_APPROVAL');
      expect((refused.body.error as { message: string }).message).to.match(/SID/);
    });

    it('an Active Directory session belongs to the account: UPN, DOMAIN\\sAMAccountName and SID; tokens it makes belong to it too', async () => {
      const s = await tlsFetch(`${url}/api/v1/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'CORP\\asmith', password: 'pw' }) });
      expect(s.status).to.equal(201);
      const session = ((await s.json()) as { token: string }).token;
      for (const user of ['CORP\\asmith', 'asmith@corp.example.test', 'alice.smith@corp.example.test', ALICE_SID]) {
        const id = await request(user);
        expect(errorCode(await call('POST', `/api/v1/approvals/${id}/approve`, session, {})), user).to.equal('ASC_COLLECTOR_SELF_APPROVAL');
      }
      // A token the session makes for "helpdesk" still belongs to alice as well: it cannot launder her requests.
      const made = await call('POST', '/api/v1/tokens', session, { name: 'made by alice', role: 'approver', owners: ['CORP\\helpdesk'] });
      expect(made.status).to.equal(201);
      expect(made.body.owners).to.include.members([ALICE_SID, 'CORP\\asmith', 'CORP\\helpdesk']);
      const mine = await request('CORP\\asmith');
      expect(errorCode(await call('POST', `/api/v1/approvals/${mine}/approve`, made.body.token as string, {}))).to.equal('ASC_COLLECTOR_SELF_APPROVAL');
      const other = await request('CORP\\carol');
      expect((await call('POST', `/api/v1/approvals/${other}/approve`, session, {})).status).to.equal(200);
    });

    it('a request whose user the agent could not name is approved by no one', async () => {
      const id = await request('uid:4242');
      expect(errorCode(await call('POST', `/api/v1/approvals/${id}/approve`, bobToken, {}))).to.equal('ASC_COLLECTOR_SELF_APPROVAL');
    });

    it('refuses an owner that is neither a name nor a SID', async () => {
      const r = await call('POST', '/api/v1/tokens', adminToken, { name: 'bad owner', role: 'approver', owners: ['uid:12'] });
      expect(r.status).to.equal(400);
      expect(errorCode(r)).to.equal('ASC_COLLECTOR_BAD_INPUT');
    });
  });

  describe('CLI', () => {
    interface Run {
      status: number | null;
      stdout: string;
      stderr: string;
    }
    function ascend(args: string[]): Promise<Run> {
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
      delete env.ASCEND_TOKEN_FILE;
      return new Promise((done, fail) => {
        const child = spawn(process.execPath, [RUN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
        child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('error', fail);
        child.on('close', (status) => {
          clearTimeout(timer);
          done({ status, stdout, stderr });
        });
      });
    }
    const tokenFile = (name: string, token: string): string => {
      const f = join(dir, name);
      writeFileSync(f, `${token}\n`, { mode: 0o600 });
      return f;
    };
    const at = (file: string, ...args: string[]): string[] => [...args, '--server', url, '--token-file', file, '--ca-file', caFile];

    before(() => {
      if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'commands', 'server', 'approval', 'approve.js'))) throw new Error('the CLI is not built: run "npm run build"');
    });

    it('token create --owner, then approval approve of the owner\'s request: one line naming the refusal, exit 1', async () => {
      const adminFile = tokenFile('h4-admin', adminToken);
      const made = await ascend(at(adminFile, 'server', 'token', 'create', '--name', 'carol approver', '--role', 'approver', '--owner', 'carol@corp.example.test', '--owner', 'CORP\\carol', '--json'));
      expect(made.status, made.stderr).to.equal(0);
      const j = JSON.parse(made.stdout) as { token: string; owners: string[] };
      expect(j.owners).to.deep.equal(['carol@corp.example.test', 'CORP\\carol']);
      const carolFile = tokenFile('h4-carol', j.token);

      const id = await request('carol');
      const r = await ascend(at(carolFile, 'server', 'approval', 'approve', id));
      expect(r.status, r.stderr + r.stdout).to.equal(1);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^Error: .*may not approve it/);
      expect(r.stderr).to.not.match(/\n\s+at /);
      expect(r.stdout).to.equal('');
      const asJson = await ascend(at(carolFile, 'server', 'approval', 'approve', id, '--json'));
      expect(asJson.status).to.equal(1);
      expect((JSON.parse(asJson.stdout) as { error: { code: string } }).error.code).to.equal('ASC_COLLECTOR_SELF_APPROVAL');
      expect((await store.getApprovalRequest(id))?.status).to.equal('pending');

      // Another approver approves it with the same command.
      const ok = await ascend(at(tokenFile('h4-bob', bobToken), 'server', 'approval', 'approve', id));
      expect(ok.status, ok.stderr).to.equal(0);
      expect(ok.stdout).to.match(/^Approved /);
    });
  });

  describe('web page in Chromium', () => {
    let browser: Browser;
    let webUrl: string;
    let plain: FastifyInstance;

    before(async function () {
      requireComponent(this, chromiumAvailable(), `Chromium (${CHROMIUM})`, 'apt-get install chromium');
      // The page over plain http on loopback, sharing the store (Chromium would not trust the test CA).
      plain = buildServer({ store, closeStore: false });
      await plain.listen({ port: 0, host: '127.0.0.1' });
      const addr = plain.server.address();
      if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
      webUrl = `http://127.0.0.1:${addr.port}`;
      browser = await chromium.launch(chromiumLaunchOptions());
    });
    after(async () => {
      await browser?.close();
      await plain?.close();
    });

    it('shows the refusal when an approver approves their own request, and approves another\'s', async () => {
      const context = await browser.newContext();
      const problems: string[] = [];
      try {
        const page = await context.newPage();
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('console', (m) => {
          if (m.type() === 'error' && !/status of 403/.test(m.text())) problems.push(`console: ${m.text()}`);
        });
        await page.goto(`${webUrl}/reports`);
        await page.fill('#token', aliceToken);
        await page.click('#use-token');
        await page.locator('#token-state', { hasText: 'A token is set for this tab.' }).waitFor();

        const own = await request('CORP\\Alice');
        await page.fill('#approval-id', own);
        await page.click('#approve');
        await page.locator('#error', { hasText: 'ASC_COLLECTOR_SELF_APPROVAL' }).waitFor();
        expect(await page.textContent('#error')).to.match(/may not approve it; .*\(ASC_COLLECTOR_SELF_APPROVAL, HTTP 403\)$/);
        expect(await page.textContent('#decision')).to.equal('');
        expect((await store.getApprovalRequest(own))?.status).to.equal('pending');

        const others = await request('CORP\\dave');
        await page.fill('#approval-id', others);
        await page.click('#approve');
        await page.locator('#decision', { hasText: 'Approved' }).waitFor();
        expect(await page.textContent('#decision')).to.equal(`Approved ${others}: CORP\\dave on H4-PC-01, /usr/bin/id.`);
        expect(await page.isVisible('#error')).to.equal(false);
        expect((await store.getApprovalRequest(others))?.status).to.equal('approved');

        // Denying one's own request is allowed.
        await page.fill('#approval-id', own);
        await page.click('#deny');
        await page.locator('#decision', { hasText: 'Denied' }).waitFor();
        expect((await store.getApprovalRequest(own))?.status).to.equal('denied');
        expect(problems).to.deep.equal([]);
      } finally {
        await context.close();
      }
    });
  });
});

describe('h4 self-approval: an Active Directory session against the real Samba AD DC', function () {
  this.timeout(180_000);
  const run = randomBytes(3).toString('hex');
  const password = `Pw-${randomBytes(6).toString('hex')}-aA1!`;
  // The approver's UPN differs from its sAMAccountName, as in many domains: the agent's name
  // service (winbind) names the account CORP\sAMAccountName, never by the UPN.
  const sam = `h4${run}s`;
  const other = `h4${run}o`;
  const approvers = `h4 Approvers ${run}`;
  let dc: TestDc;
  let upn: string;
  let sid: string;
  let dir: string;
  let store: SqliteStore;
  let app: FastifyInstance;
  let agentId: string;
  let n = 0;

  before(async function () {
    dc = await requireTestDc(this);
    upn = `h4.smith.${run}@${dc.dnsDomain}`;
    const local = { local: true };
    for (const u of [sam, other]) sambaToolOk(dc, ['user', 'create', u, password], local);
    sambaToolOk(dc, ['group', 'add', approvers], local);
    sambaToolOk(dc, ['group', 'addmembers', approvers, sam], local);
    const d = await Directory.connect({ url: dc.url, bindDn: dc.bindDn, password: dc.password, tlsInsecure: true });
    try {
      const [entry] = await d.search(dc.baseDn, { filter: `(sAMAccountName=${escapeFilterValue(sam)})`, attributes: ['objectSid'] });
      sid = sidToString(entry!.binary['objectsid']![0]!);
      await d.modify(entry!.dn, [{ operation: 'replace', attribute: 'userPrincipalName', values: [upn] }]);
    } finally {
      await d.close();
    }
    dir = mkdtempSync(join(tmpdir(), 'ascend-h4-self-dc-'));
    store = await SqliteStore.open(join(dir, 'data'));
    const signIn = new AdSignIn({ url: dc.url, tlsInsecure: true, domain: dc.dnsDomain, groups: { admin: [], approver: [approvers] } });
    app = buildServer({ store, settings: { signIn } });
    const { token } = await store.createEnrollmentToken({ uses: 1 });
    agentId = (await store.enrollAgent(token, 'H4-DC-PC')).agent.id;
  });

  after(async function () {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (!dc) return;
    for (const u of [sam, other]) sambaTool(dc, ['user', 'delete', u], { local: true });
    sambaTool(dc, ['group', 'delete', approvers], { local: true });
  });

  async function approveAs(session: string, user: string): Promise<{ status: number; code: unknown }> {
    const r = await store.createApprovalRequest(agentId, { requestId: `h4-dc-${++n}`, user, processPath: '/usr/bin/id' });
    const res = await app.inject({ method: 'POST', url: `/api/v1/approvals/${r.id}/approve`, headers: { authorization: `Bearer ${session}` }, payload: {} });
    const body = res.json() as { error?: { code?: string } };
    return { status: res.statusCode, code: body.error?.code };
  }

  it('the session knows the account by UPN, NETBIOS\\sAMAccountName and SID, and approves none of its requests', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/sign-in', payload: { user: upn, password } });
    expect(res.statusCode, res.body).to.equal(201);
    const session = (res.json() as { token: string }).token;
    const t = await store.findApiToken(session);
    expect(t?.owners).to.include.members([upn, sid, `${dc.netbiosDomain.toUpperCase()}\\${sam}`]);
    for (const user of [`${dc.netbiosDomain}\\${sam}`, sam, `${sam}@${dc.dnsDomain}`, upn, sid, `${dc.netbiosDomain.toLowerCase()}\\${sam.toUpperCase()}`]) {
      expect(await approveAs(session, user), user).to.deep.equal({ status: 403, code: 'ASC_COLLECTOR_SELF_APPROVAL' });
    }
    expect((await approveAs(session, `${dc.netbiosDomain}\\${other}`)).status).to.equal(200);
  });
});
