/**
 * The approvals page (GET /approvals) in a real Chromium, signed in with Active Directory
 * credentials against the suite's real Samba AD DC: the page posts them to /api/v1/sign-in
 * and works with the session it gets. A collector (buildServer over a SqliteStore, with
 * AdSignIn) on 127.0.0.1. Requests are filed through the agent API's store call; the real
 * agent's side is in approvals-page.test.ts. Run under `flock /tmp/ascend-dc.lock`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { AdSignIn } from '../../src/collector/server/ad-sign-in.js';
import { buildServer } from '../../src/collector/server/index.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { CHROMIUM, chromiumAvailable, chromiumLaunchOptions } from '../support/chromium.js';
import { requireComponent } from '../support/components.js';
import { requireTestDc, sambaToolOk, type TestDc } from '../support/samba-dc.js';

const run = randomBytes(3).toString('hex');

describe('collector approvals page: Active Directory sign-in in Chromium (real Samba AD DC)', function () {
  this.timeout(180_000);
  let dc: TestDc;
  const password = `Pw-${randomBytes(6).toString('hex')}-aA1!`;
  const approverUser = `h18d${run}a`;
  const otherUser = `h18d${run}o`;
  const approvers = `H18d Approvers ${run}`;
  let dir: string;
  let store: SqliteStore;
  let app: FastifyInstance;
  let url: string;
  let agentId: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];

  before(async function () {
    requireComponent(this, chromiumAvailable(), `Chromium (${CHROMIUM})`, 'apt-get install chromium');
    dc = await requireTestDc(this);
    const local = { local: true };
    for (const u of [approverUser, otherUser]) sambaToolOk(dc, ['user', 'create', u, password], local);
    sambaToolOk(dc, ['group', 'add', approvers], local);
    sambaToolOk(dc, ['group', 'addmembers', approvers, approverUser], local);
    dir = mkdtempSync(join(tmpdir(), 'ascend-h18d-ad-'));
    store = await SqliteStore.open(join(dir, 'data'));
    const signIn = new AdSignIn({ url: dc.url, tlsInsecure: true, domain: dc.dnsDomain, groups: { approver: [approvers] } });
    app = buildServer({ store, settings: { signIn } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    url = `http://127.0.0.1:${addr.port}`;
    const { token } = await store.createEnrollmentToken({ uses: 1 });
    agentId = (await store.enrollAgent(token, 'H18D-AD-PC')).agent.id;
    browser = await chromium.launch(chromiumLaunchOptions());
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (dc) {
      for (const u of [approverUser, otherUser]) {
        try {
          sambaToolOk(dc, ['user', 'delete', u], { local: true });
        } catch {
          // gone already
        }
      }
      try {
        sambaToolOk(dc, ['group', 'delete', approvers], { local: true });
      } catch {
        // gone already
      }
    }
  });

  beforeEach(async () => {
    problems = [];
    context = await browser.newContext({ timezoneId: 'UTC' });
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content.Security.Policy|Trusted Type/i.test(m.text()) || (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|403)/.test(m.text()))) {
        problems.push(`console ${m.type()}: ${m.text()}`);
      }
    });
  });

  afterEach(async () => {
    await context?.close();
  });

  async function signIn(user: string, pw: string): Promise<void> {
    await page.goto(`${url}/approvals`);
    await page.locator('#who', { hasText: 'Not signed in.' }).waitFor();
    await page.fill('#ad-user', user);
    await page.fill('#ad-password', pw);
    await page.click('#ad-sign-in');
  }

  it('a wrong password is refused, and the password field is emptied', async () => {
    await signIn(approverUser, `${password}x`);
    await page.locator('#error', { hasText: 'Sign-in refused:' }).waitFor();
    expect(await page.inputValue('#ad-password')).to.equal('');
    expect(await page.isVisible('#lists')).to.equal(false);
    expect(problems).to.deep.equal([]);
  });

  it('signs in with AD credentials, sees a new request without reload, is refused its own request with the reason shown, decides another', async () => {
    await signIn(`${dc.netbiosDomain}\\${approverUser}`, password);
    await page.locator('#who', { hasText: /^Signed in as .+ \(approver, Active Directory\)\.$/ }).waitFor();
    await page.locator('#live', { hasText: 'Live: updated' }).waitFor();
    expect(await page.inputValue('#ad-password')).to.equal('');
    expect(await page.evaluate('localStorage.length'), 'nothing in localStorage').to.equal(0);

    // Filed after the page is up: the long-poll brings it.
    await store.createApprovalRequest(agentId, { requestId: `own-${run}`, user: `${dc.netbiosDomain}\\${approverUser}`, processPath: '/usr/bin/env', args: 'OWN=1', rule: 'env after approval' });
    await store.createApprovalRequest(agentId, { requestId: `other-${run}`, user: otherUser, processPath: '/usr/bin/env', args: 'OTHER=1' });
    const own = page.locator('#pending-body tr', { has: page.locator('td:nth-child(4)', { hasText: 'OWN=1' }) });
    const other = page.locator('#pending-body tr', { has: page.locator('td:nth-child(4)', { hasText: 'OTHER=1' }) });
    await own.waitFor({ timeout: 60_000 });
    await other.waitFor({ timeout: 60_000 });

    await own.locator('button.approve').click();
    await own.locator('.note.refused').waitFor();
    expect(await own.locator('.note.refused').textContent()).to.match(/^Refused: you may not approve this request\. .*requested this elevation .*\(ASC_COLLECTOR_SELF_APPROVAL, HTTP 403\)$/);
    expect((await store.listApprovals({ status: 'pending' })).map((r) => r.args).sort()).to.deep.equal(['OTHER=1', 'OWN=1']);

    await other.locator('input.reason').fill('routine');
    await other.locator('button.approve').click();
    const decided = page.locator('#decided-body tr', { has: page.locator('td.reason', { hasText: 'routine' }) });
    await decided.waitFor();
    const stored = (await store.listApprovals({ status: 'approved' })).find((r) => r.args === 'OTHER=1');
    expect(stored?.reason).to.equal('routine');
    expect(await decided.locator('td.by').textContent()).to.equal(stored?.decidedBy);

    // Signing out ends the AD session on the server: its token is refused afterwards.
    const token = (await page.evaluate(`sessionStorage.getItem('ascend.apiToken')`)) as string;
    await page.click('#sign-out');
    await page.locator('#who', { hasText: 'Not signed in.' }).waitFor();
    const after = await fetch(`${url}/api/v1/approvals`, { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).to.equal(401);
    expect(problems).to.deep.equal([]);
  });
});
