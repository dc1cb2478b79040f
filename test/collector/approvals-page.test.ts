/**
 * The collector's approvals page (GET /approvals) in a real Chromium (Debian's `chromium`,
 * through playwright-core) against real parts: the built collector (`ascend server start`,
 * TLS with its own CA), a real agent (`ascend agent run`) enrolled with it, and an
 * unprivileged user whose `ascend elevate` asks for approval. Signed in with an API token
 * (Active Directory sign-in: approvals-page-ad.test.ts). Root: the agent makes accounts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { requireComponent } from '../support/components.js';
import { CHROMIUM, chromiumAvailable, chromiumLaunchOptions } from '../support/chromium.js';
import { ascend, bin, cliEnv, requireBuiltCli, root, type Run } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';

const USER = 'h18dapusr';
const MARKUP_JUSTIFY = '<img src=x onerror="window.__xss=1"> ticket 42';
const MARKUP_ARG = '<script>window.__xss=2</script>';
const MARKUP_REASON = '<b onmouseover="window.__xss=3">no</b> & use the portal';

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

function rule(name: string, json: object) {
  return { name, value: JSON.stringify(json) };
}

function waitForText(child: ChildProcess, re: RegExp, timeoutMs: number, seen: { text: string }): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(seen.text);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        resolve(m);
      }
    };
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}:\n${seen.text}`)), timeoutMs);
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    check();
  });
}

describe('collector approvals page: a real agent, a real collector, real Chromium (root)', function () {
  this.timeout(180_000);
  const prefix = `h18d${randomBytes(2).toString('hex')}_`;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let socket: string;
  let collector: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  const agentLog = { text: '' };
  let url = '';
  let adminTokenFile = '';
  /** An approver who is not the requesting user, and one whose token names that user as owner. */
  let approverToken = '';
  let selfToken = '';
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  const run = (...args: string[]): Run => ascend(args, env, tmp);

  const asUser = (args: string[], timeoutMs = 90_000): Promise<Outcome> =>
    new Promise((resolve) => {
      const child = spawn('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', '--', process.execPath, bin, ...args], {
        cwd: tmp,
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: tmp, NO_COLOR: '1', ASCEND_AGENT_SOCKET: socket },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });

  function makeToken(name: string, owners: string[]): string {
    const out = path.join(tmp, `token-${name}`);
    const r = run('server', 'token', 'create', '--server', url, '--token-file', adminTokenFile, '--name', name, '--role', 'approver', '--out', out, ...owners.flatMap((o) => ['--owner', o]));
    expect(r.status, r.stderr).to.equal(0);
    return readFileSync(out, 'utf8').trim();
  }

  before(async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent creates accounts)', 'run the tests as root');
    requireComponent(this, chromiumAvailable(), `Chromium (${CHROMIUM})`, 'apt-get install chromium');
    requireBuiltCli();
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-h18d-'));
    chmodSync(tmp, 0o755);
    socket = path.join(tmp, 'agent.sock');
    const dataDir = path.join(tmp, 'collector');
    env = cliEnv(tmp, { ASCEND_CA_FILE: path.join(dataDir, 'tls', 'ca.pem') });
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    const add = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', USER], { encoding: 'utf8' });
    expect(add.status, add.stderr).to.equal(0);

    const policyFile = path.join(tmp, 'Registry.pol');
    const entries = [
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
        Rules: [rule('env after approval', { action: 'allow', match: { path: '/usr/bin/env' }, controls: ['approval'] })],
      }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'Approvals'), 'enabled', { RequestTimeoutMinutes: 5, ApprovalValidMinutes: 15, JustificationMinLength: 0, MfaGraceMinutes: 0 }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: prefix, MaxLifetimeMinutes: 480, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
    ];
    writeFileSync(policyFile, writeRegistryPol(entries));

    collector = spawn(process.execPath, [bin, 'server', 'start', '--port', '0', '--data', dataDir], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const seen = { text: '' };
    collector.stdout?.on('data', (d: Buffer) => (seen.text += d.toString()));
    collector.stderr?.on('data', (d: Buffer) => (seen.text += d.toString()));
    url = (await waitForText(collector, /listening on (https:\/\/127\.0\.0\.1:\d+)/, 30_000, seen))[1] as string;
    adminTokenFile = path.join(dataDir, 'bootstrap-admin-token');
    approverToken = makeToken('web approver', ['h18d-approver']);
    selfToken = makeToken('self approver', [USER]);
    const enroll = run('server', 'enroll-token', 'create', '--server', url, '--token-file', adminTokenFile, '--json');
    expect(enroll.status, enroll.stderr).to.equal(0);
    const tokenFile = path.join(tmp, 'enroll-token');
    writeFileSync(tokenFile, enroll.json.token, { mode: 0o600 });
    agent = spawn(
      process.execPath,
      [bin, 'agent', 'run', '--state-dir', path.join(tmp, 'state'), '--socket', socket, '--policy', policyFile, '--computer', 'H18D-PC', '--collector', url, '--enroll-token-file', tokenFile],
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    agent.stderr?.on('data', (d: Buffer) => (agentLog.text += d.toString()));
    await waitForText(agent, /agent listening on/, 60_000, agentLog);
    browser = await chromium.launch(chromiumLaunchOptions());
  });

  after(async () => {
    await browser?.close();
    for (const child of [agent, collector]) {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    for (const name of readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')[0] ?? '').filter((n) => n.startsWith(prefix))) {
      spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  beforeEach(async () => {
    problems = [];
    // The collector's certificate is from its own CA, which this browser profile does not know; TLS is not what is tested here.
    context = await browser.newContext({ ignoreHTTPSErrors: true, timezoneId: 'UTC' });
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content.Security.Policy|Trusted Type/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
  });

  afterEach(async () => {
    await context?.close();
  });

  async function signInWithToken(token: string, name: string): Promise<void> {
    await page.goto(`${url}/approvals`);
    await page.locator('#who', { hasText: 'Not signed in.' }).waitFor();
    await page.fill('#token', token);
    await page.click('#use-token');
    await page.locator('#who', { hasText: `Signed in as ${name} (approver, API token).` }).waitFor();
    await page.locator('#live', { hasText: 'Live: updated' }).waitFor();
    expect(await page.inputValue('#token'), 'the token field is cleared').to.equal('');
  }

  /** With ASCEND_SCREENSHOT_DIR set (by hand, for a look at the page), a full-page screenshot there. */
  async function screenshot(name: string): Promise<void> {
    const dir = process.env.ASCEND_SCREENSHOT_DIR;
    if (dir) await page.screenshot({ path: path.join(dir, name), fullPage: true });
  }

  /** The pending row of the request the agent filed for `processPath`, once the page shows it (no reload). */
  async function pendingRow(args: string) {
    const row = page.locator('#pending-body tr', { has: page.locator('td:nth-child(4)', { hasText: args }) });
    await row.waitFor({ timeout: 60_000 });
    return row;
  }

  it('serves the page under the strict Content-Security-Policy of /reports, with Trusted Types', async () => {
    const r = await page.request.get(`${url}/approvals`);
    expect(r.status()).to.equal(200);
    const h = r.headers();
    expect(h['content-type']).to.equal('text/html; charset=utf-8');
    const csp = h['content-security-policy'] ?? '';
    expect(csp).to.match(/default-src 'none'/);
    expect(csp).to.match(/script-src 'sha256-[A-Za-z0-9+/]{43}='(;|$)/);
    expect(csp).to.include("connect-src 'self'");
    expect(csp).to.include("require-trusted-types-for 'script'");
    expect(csp).to.include("trusted-types 'none'");
    expect(csp).to.not.include('unsafe');
    expect(h['x-frame-options']).to.equal('DENY');
    const html = await r.text();
    expect(html).to.not.match(/\s(src|href)\s*=/i);
    expect(html.match(/<script>/g)).to.have.length(1);
    // The page's own script runs under the policy: innerHTML is refused (Trusted Types), not parsed.
    await page.goto(`${url}/approvals`);
    const blocked = await page.evaluate(`(() => { try { document.body.innerHTML = '<b>x</b>'; return false; } catch { return true; } })()`);
    expect(blocked, 'an innerHTML assignment throws under the page CSP').to.equal(true);
  });

  it('a request a real agent files appears without reload; approve with a time limit and a reason; the elevation runs', async () => {
    await signInWithToken(approverToken, 'web approver');
    await page.locator('#pending-body td.empty', { hasText: 'No pending requests.' }).waitFor();
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    const elevated = asUser(['elevate', '--justify', 'printer driver update', '--', 'env', 'H18D_MARK=approved']);
    const row = await pendingRow('H18D_MARK=approved');
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 6)).to.deep.equal([USER, 'H18D-PC', '/usr/bin/env', 'H18D_MARK=approved', 'printer driver update', 'env after approval']);
    expect(cells[6]).to.match(/^\d+ s$/);
    await row.locator('select.limit').selectOption('3600');
    await row.locator('input.reason').fill('ticket 4711, change window');
    await screenshot('approvals-pending.png');
    await row.locator('button.approve').click();
    const done = await elevated;
    expect(done.status, done.stderr + agentLog.text).to.equal(0);
    expect(done.stdout).to.match(/^H18D_MARK=approved$/m);
    expect(done.stderr).to.match(/approved by web approver/);
    // The decision moves to the decided list with who, when and why.
    const decided = page.locator('#decided-body tr', { has: page.locator('td.reason', { hasText: 'ticket 4711, change window' }) });
    await decided.waitFor();
    expect(await decided.locator('td.status').textContent()).to.equal('approved (for 1 h)');
    expect(await decided.locator('td.by').textContent()).to.equal('web approver');
    expect(await decided.locator('td.when').textContent()).to.not.equal('');
    // The elevation used the approval: the row says when, without a reload (the use wakes the watch).
    await decided.locator('td.used', { hasText: /\d/ }).waitFor({ timeout: 20_000 });
    await screenshot('approvals-decided.png');
    expect(navigations, 'the page never reloaded').to.deep.equal([]);
    expect(problems).to.deep.equal([]);
  });

  it('deny with a reason: the requesting user\'s `ascend elevate` prints it; markup in every field stays text', async () => {
    await signInWithToken(approverToken, 'web approver');
    const denied = asUser(['elevate', '--justify', MARKUP_JUSTIFY, '--', 'env', MARKUP_ARG]);
    const row = await pendingRow(MARKUP_ARG);
    const cells = await row.locator('td').allTextContents();
    expect(cells[3]).to.equal(MARKUP_ARG);
    expect(cells[4]).to.equal(MARKUP_JUSTIFY);
    expect(await row.locator('td img, td script, td b').count(), 'no element was made from a field').to.equal(0);
    await row.locator('input.reason').fill(MARKUP_REASON);
    await row.locator('button.deny').click();
    const out = await denied;
    expect(out.status).to.equal(1);
    expect(out.stdout).to.not.match(/H18D|PATH=/);
    expect(out.stderr.trim()).to.match(new RegExp(`^(ascend: waiting for approval of request \\S+\\n)?Error: approval request \\S+ was denied by web approver: "${MARKUP_REASON.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"$`));
    const decided = page.locator('#decided-body tr', { has: page.locator('td.reason', { hasText: 'use the portal' }) });
    await decided.waitFor();
    expect(await decided.locator('td.reason').textContent()).to.equal(MARKUP_REASON);
    expect(await decided.locator('td.status').textContent()).to.equal('denied');
    expect(await page.locator('#decided-body b, #decided-body img, #decided-body script').count()).to.equal(0);
    // The stored reason reaches the CLI too.
    const list = run('server', 'approval', 'list', '--server', url, '--token-file', adminTokenFile, '--status', 'denied', '--json');
    expect(list.status, list.stderr).to.equal(0);
    expect((list.json.requests as { reason: string }[]).map((r) => r.reason)).to.include(MARKUP_REASON);
    expect(await page.evaluate('typeof window.__xss')).to.equal('undefined');
    expect(problems).to.deep.equal([]);
  });

  it('self-approval: the page shows why the collector refuses it; the request stays pending', async () => {
    await signInWithToken(selfToken, 'self approver');
    const asked = asUser(['elevate', '--justify', 'my own request', '--', 'env', 'H18D_MARK=self']);
    const row = await pendingRow('H18D_MARK=self');
    await row.locator('input.reason').fill('I need it');
    await row.locator('button.approve').click();
    const note = row.locator('.note.refused');
    await note.waitFor();
    const text = (await note.textContent()) ?? '';
    expect(text).to.match(/^Refused: you may not approve this request\. .*may not approve it; an approver never approves their own request \(ASC_COLLECTOR_SELF_APPROVAL, HTTP 403\)/);
    const pending = run('server', 'approval', 'list', '--server', url, '--token-file', adminTokenFile, '--status', 'pending', '--json');
    const mine = (pending.json.requests as { id: string; args: string }[]).find((r) => r.args === 'H18D_MARK=self');
    expect(mine, 'still pending').to.not.equal(undefined);
    // Denying one's own request is allowed; the CLI takes --reason as well.
    const deny = run('server', 'approval', 'deny', (mine as { id: string }).id, '--server', url, '--token-file', adminTokenFile, '--reason', 'filed by mistake');
    expect(deny.status, deny.stderr).to.equal(0);
    const out = await asked;
    expect(out.status).to.equal(1);
    expect(out.stderr).to.match(/was denied by \S+: "filed by mistake"$/m);
    // Chromium logs the refused POST (403) itself; nothing else went wrong.
    expect(problems.filter((p) => !/Failed to load resource: the server responded with a status of 403/.test(p))).to.deep.equal([]);
  });
});
