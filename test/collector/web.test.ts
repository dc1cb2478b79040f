/**
 * The collector's report page (GET /reports) in a real Chromium (Debian's `chromium`) driven
 * through playwright-core, against a real collector: buildServer over a SqliteStore,
 * listening on 127.0.0.1. Under CI=true a missing Chromium fails the suite.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildServer } from '../../src/collector/server/index.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { CHROMIUM, chromiumAvailable, chromiumLaunchOptions } from '../support/chromium.js';
import { requireComponent } from '../support/components.js';

const T0 = Date.parse('2026-03-02T09:00:00Z');
const XSS_PATH = '<img src=x onerror="window.__xss=1">';
const XSS_ARGS = '<script>window.__xss=2</script>';
const XSS_USER = '"><svg onload="window.__xss=3">';

describe('collector web page: GET /reports (headers, no browser)', function () {
  let dir: string;
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-web-headers-'));
    app = buildServer({ store: await SqliteStore.open(join(dir, 'data')) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    url = `http://127.0.0.1:${addr.port}`;
  });
  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves one self-contained page under a strict Content-Security-Policy', async () => {
    const r = await fetch(`${url}/reports`);
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    expect(r.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(r.headers.get('x-frame-options')).to.equal('DENY');
    expect(r.headers.get('referrer-policy')).to.equal('no-referrer');
    const csp = r.headers.get('content-security-policy') ?? '';
    const directives = new Map(csp.split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')] as const));
    expect(directives.get('default-src')).to.equal("'none'");
    expect(directives.get('script-src')).to.match(/^'sha256-[A-Za-z0-9+/]{43}='$/);
    expect(directives.get('style-src')).to.match(/^'sha256-[A-Za-z0-9+/]{43}='$/);
    expect(directives.get('connect-src')).to.equal("'self'");
    expect(directives.get('frame-ancestors')).to.equal("'none'");
    expect(directives.get('form-action')).to.equal("'none'");
    expect(directives.get('require-trusted-types-for')).to.equal("'script'");
    expect(csp).to.not.include('unsafe');
    const html = await r.text();
    // Nothing loaded from elsewhere: no src or href attributes, no URLs at all.
    expect(html).to.not.match(/\s(src|href)\s*=/i);
    expect(html).to.not.match(/https?:\/\//i);
    expect(html.match(/<script>/g)).to.have.length(1);
    expect(html.match(/<style>/g)).to.have.length(1);
  });

  it('redirects / to /reports', async () => {
    const r = await fetch(`${url}/`, { redirect: 'manual' });
    expect(r.status).to.equal(302);
    expect(r.headers.get('location')).to.equal('/reports');
  });
});

describe('collector web page: GET /reports in Chromium', function () {
  this.timeout(120_000);
  let dir: string;
  let store: SqliteStore;
  let app: FastifyInstance;
  let browser: Browser;
  let url: string;
  let viewerToken: string;
  let context: BrowserContext;
  let page: Page;
  /** What the page did that it must not: errors, CSP violations, dialogs. */
  let problems: string[];
  let requests: { url: string; authorization: string | undefined }[];

  before(async function () {
    requireComponent(this, chromiumAvailable(), `Chromium (${CHROMIUM})`, 'apt-get install chromium');
    dir = mkdtempSync(join(tmpdir(), 'ascend-web-'));
    store = await SqliteStore.open(join(dir, 'data'));
    app = buildServer({ store });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    url = `http://127.0.0.1:${addr.port}`;
    viewerToken = (await store.createApiToken('viewer', 'web test')).token;

    const enroll = async (computer: string): Promise<string> => {
      const { token } = await store.createEnrollmentToken({ uses: 1 });
      return (await store.enrollAgent(token, computer)).agent.id;
    };
    const pc1 = await enroll('PC-01');
    const pc2 = await enroll('PC-02');
    await store.insertEvents(pc1, [
      { id: 'r1', type: 'passcode-redeemed', time: T0, user: 'CORP\\alice', passcodeId: 'pc-123', sessionId: 's1' },
      { id: 'e1', type: 'process-elevated', time: T0 + 60_000, user: 'CORP\\alice', passcodeId: 'pc-123', sessionId: 's1', processPath: 'C:\\Windows\\System32\\cmd.exe', elevatedBy: 'tse' },
      // Attacker-controlled fields: markup that would run script if it were parsed.
      { id: 'e2', type: 'process-elevated', time: T0 + 120_000, user: XSS_USER, passcodeId: 'pc-123', sessionId: 's1', processPath: XSS_PATH, args: XSS_ARGS, elevatedBy: 'tse' },
      { id: 'd1', type: 'elevation-denied', time: T0 + 30_000, user: 'CORP\\alice', processPath: XSS_PATH, rule: 'blacklist', reason: 'blacklisted' },
    ]);
    await store.insertEvents(pc2, [
      { id: 'r1', type: 'passcode-redeemed', time: T0 + 3_500_000, user: 'CORP\\bob', passcodeId: 'pc-456', sessionId: 's2' },
      { id: 'e1', type: 'process-elevated', time: T0 + 3_600_000, user: 'CORP\\bob', passcodeId: 'pc-456', sessionId: 's2', processPath: 'C:\\Program Files\\App\\setup.exe', elevatedBy: 'tse' },
    ]);
    browser = await chromium.launch(chromiumLaunchOptions());
  });

  after(async () => {
    await browser?.close();
    await app?.close(); // closes the store too
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    problems = [];
    requests = [];
    context = await browser.newContext({ acceptDownloads: true, timezoneId: 'UTC' });
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content.Security.Policy|Trusted Type/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (r) => requests.push({ url: r.url(), authorization: r.headers().authorization }));
  });

  afterEach(async () => {
    await context?.close();
  });

  async function openWithToken(token: string): Promise<void> {
    await page.goto(`${url}/`);
    expect(page.url()).to.equal(`${url}/reports`);
    await page.fill('#token', token);
    await page.click('#use-token');
    await page.locator('#token-state', { hasText: 'A token is set for this tab.' }).waitFor();
  }

  async function show(report: string): Promise<void> {
    await page.selectOption('#report', report);
    await page.click('#show');
    // The click handler disables the button before it fetches; it is enabled again when done.
    // (Not waitForFunction with a string: the page's CSP forbids eval, rightly.)
    await page.locator('#show:not([disabled])').waitFor();
  }

  function cells(row: number): Promise<string[]> {
    return page.locator(`#report-table tbody tr:nth-child(${row}) td`).allTextContents();
  }

  it('asks for a token, keeps it in sessionStorage only, and shows the TSE usage report', async () => {
    await openWithToken(viewerToken);
    expect(await page.inputValue('#token')).to.equal('');
    await show('tse-usage');
    expect(await page.textContent('#status')).to.equal('3 rows.');
    expect(await page.isVisible('#error')).to.equal(false);
    const headers = await page.locator('#report-table thead th').allTextContents();
    expect(headers.slice(0, 6)).to.deep.equal(['Time', 'Computer', 'User', 'Passcode', 'Passcode title', 'Process']);
    expect(await page.locator('#report-table tbody tr').count()).to.equal(3);
    const first = await cells(1);
    expect(first.slice(0, 3)).to.deep.equal(['2026-03-02T09:01:00.000Z', 'PC-01', 'CORP\\alice']);
    expect(first).to.include('C:\\Windows\\System32\\cmd.exe');

    // The token: in this tab's sessionStorage, nowhere else.
    expect(await page.evaluate(`sessionStorage.getItem('ascend.apiToken')`)).to.equal(viewerToken);
    expect(await page.evaluate('localStorage.length')).to.equal(0);
    expect(await page.evaluate('document.cookie')).to.equal('');
    expect(await context.cookies()).to.deep.equal([]);
    for (const r of requests) expect(r.url).to.not.include(viewerToken);
    const api = requests.filter((r) => r.url.includes('/api/v1/reports/'));
    expect(api).to.have.length(1);
    expect(api[0]?.url).to.equal(`${url}/api/v1/reports/tse-usage?format=json`);
    expect(api[0]?.authorization).to.equal(`Bearer ${viewerToken}`);

    // A reload keeps it (same tab); another tab does not have it.
    await page.reload();
    expect(await page.textContent('#token-state')).to.equal('A token is set for this tab.');
    const other = await context.newPage();
    await other.goto(`${url}/reports`);
    expect(await other.textContent('#token-state')).to.equal('No token set.');
    await other.close();

    // Forget token clears it and the table.
    await page.click('#forget');
    expect(await page.evaluate(`sessionStorage.getItem('ascend.apiToken')`)).to.equal(null);
    expect(await page.isVisible('#report-table')).to.equal(false);
    expect(problems).to.deep.equal([]);
  });

  it('renders attacker-controlled fields as text: no markup, no script', async () => {
    await openWithToken(viewerToken);
    await show('tse-usage');
    const second = await cells(2);
    expect(second).to.include(XSS_PATH);
    expect(second).to.include(XSS_ARGS);
    expect(second).to.include(XSS_USER);
    expect(await page.locator('#report-table img, #report-table script, #report-table svg').count()).to.equal(0);
    expect(await page.locator('img, svg').count()).to.equal(0);
    // Give an image error or a load handler time to fire if anything had been parsed.
    await page.waitForTimeout(300);
    expect(await page.evaluate('typeof window.__xss')).to.equal('undefined');
    expect(problems).to.deep.equal([]);
    // Trusted Types are enforced: an innerHTML assignment throws rather than parsing a string.
    expect(await page.evaluate(`(() => { try { document.createElement('div').innerHTML = '<b>x</b>'; return 'parsed'; } catch (e) { return e.name; } })()`)).to.equal('TypeError');
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/TrustedHTML/);
  });

  it('applies the filters (computer, from/to)', async () => {
    await openWithToken(viewerToken);
    await page.fill('#computer', 'PC-02');
    await show('tse-usage');
    expect(await page.textContent('#status')).to.equal('1 row.');
    expect((await cells(1))[1]).to.equal('PC-02');

    await page.fill('#computer', '');
    await page.fill('#from', '2026-03-02T09:01:30');
    await page.fill('#to', '2026-03-02T10:00:00');
    await show('tse-usage');
    expect(await page.textContent('#status')).to.equal('1 row.');
    expect(await page.textContent('#report-table tbody tr td:nth-child(1)')).to.equal('2026-03-02T09:02:00.000Z');
    const last = requests.filter((r) => r.url.includes('/api/v1/reports/')).at(-1);
    expect(last?.url).to.equal(`${url}/api/v1/reports/tse-usage?from=2026-03-02T09%3A01%3A30.000Z&to=2026-03-02T10%3A00%3A00.000Z&format=json`);

    await page.fill('#user', 'CORP\\nobody');
    await show('tse-usage');
    expect(await page.textContent('#status')).to.equal('No rows.');
    expect(await page.locator('#report-table tbody tr').count()).to.equal(0);
    expect(problems).to.deep.equal([]);
  });

  it('shows the server message for a wrong token (401) and forgets that token', async () => {
    await openWithToken('not-a-real-token');
    await show('tse-usage');
    const error = await page.textContent('#error');
    expect(error).to.include('the API token is unknown, revoked or expired');
    expect(error).to.include('ASC_COLLECTOR_UNAUTHENTICATED, HTTP 401');
    expect(await page.isVisible('#error')).to.equal(true);
    expect(await page.isVisible('#report-table')).to.equal(false);
    expect(await page.evaluate(`sessionStorage.getItem('ascend.apiToken')`)).to.equal(null);
    expect(await page.textContent('#token-state')).to.equal('No token set.');
  });

  it('shows the server message for a refused filter (400), and asks for a token when there is none', async () => {
    await page.goto(`${url}/reports`);
    await page.click('#show');
    await page.locator('#error', { hasText: 'Enter an API token first' }).waitFor();
    expect(requests.filter((r) => r.url.includes('/api/'))).to.deep.equal([]);

    await openWithToken(viewerToken);
    await page.fill('#computer', 'x'.repeat(300));
    await show('tse-usage');
    expect(await page.textContent('#error')).to.match(/computer.*(255|characters).*\(ASC_COLLECTOR_BAD_INPUT, HTTP 400\)/);
  });

  it('downloads the CSV the server makes, fetched with the bearer header', async () => {
    await openWithToken(viewerToken);
    await page.selectOption('#report', 'tse-usage');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    expect(download.suggestedFilename()).to.equal('tse-usage.csv');
    const file = await download.path();
    const csv = readFileSync(file, 'utf8');
    const direct = await fetch(`${url}/api/v1/reports/tse-usage?format=csv`, { headers: { authorization: `Bearer ${viewerToken}` } });
    expect(csv).to.equal(await direct.text());
    expect(csv.split('\r\n')[0]).to.match(/^time,computer,user,passcodeId,/);
    const api = requests.filter((r) => r.url.includes('/api/v1/reports/'));
    expect(api.map((r) => r.url)).to.deep.equal([`${url}/api/v1/reports/tse-usage?format=csv`]);
    expect(api[0]?.authorization).to.equal(`Bearer ${viewerToken}`);
    await page.locator('#status', { hasText: 'CSV downloaded.' }).waitFor();
    expect(problems).to.deep.equal([]);
  });

  it('shows the other reports (denied: markup in a process path stays text)', async () => {
    await openWithToken(viewerToken);
    await show('denied');
    expect(await page.textContent('#error')).to.equal('');
    expect(await page.textContent('#status')).to.equal('1 row.');
    const headers = await page.locator('#report-table thead th').allTextContents();
    expect(headers).to.deep.equal(['Time', 'Computer', 'User', 'Process', 'Arguments', 'Rule', 'Reason', 'Agent', 'Event']);
    const row = await cells(1);
    expect(row.slice(0, 4)).to.deep.equal(['2026-03-02T09:00:30.000Z', 'PC-01', 'CORP\\alice', XSS_PATH]);
    expect(await page.locator('#report-table img').count()).to.equal(0);
    for (const name of ['elevations', 'approvals']) {
      await show(name);
      expect(await page.textContent('#error'), name).to.equal('');
    }
    expect(problems).to.deep.equal([]);
  });
});
