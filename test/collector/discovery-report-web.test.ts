/**
 * Issue 19, Deliver 4: the Discovery reports on the collector's /reports page (real Chromium,
 * as test/collector/reports-paging-web.test.ts): the raw report and the grouped ones are in
 * the choice list, show their labelled columns, and agent-written text stays text (the page's
 * CSP and Trusted Types rules: textContent only).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildServer } from '../../src/collector/server/index.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { COLUMN_LABELS, REPORT_COLUMNS, REPORT_TITLES } from '../../src/collector-api/reports.js';
import { CHROMIUM, chromiumAvailable, chromiumLaunchOptions } from '../support/chromium.js';
import { requireComponent } from '../support/components.js';

const T0 = Date.parse('2026-11-03T08:00:00Z');
const EVIL = '<img src=x onerror="window.__pwned=1">';

describe('collector web page: the Discovery reports on /reports (Chromium)', function () {
  this.timeout(120_000);
  let dir: string;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let url: string;
  let token: string;
  const problems: string[] = [];

  before(async function () {
    requireComponent(this, chromiumAvailable(), `Chromium (${CHROMIUM})`, 'apt-get install chromium');
    dir = mkdtempSync(join(tmpdir(), 'ascend-h19c-web-'));
    const store = await SqliteStore.open(join(dir, 'data'));
    app = buildServer({ store });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    url = `http://127.0.0.1:${addr.port}`;
    token = (await store.createApiToken('viewer', 'discovery web')).token;
    const { token: enroll } = await store.createEnrollmentToken({ uses: 1 });
    const r = await app.inject({ method: 'POST', url: '/api/v1/enroll', payload: { enrollmentToken: enroll, computer: 'WEB-DISC' } });
    const credential = (r.json() as { credential: string }).credential;
    const ev = (id: string, i: number, user: string, processPath: string, args: string, result: string) => ({ id, type: 'elevation-discovered', time: T0 + i, user, processPath, args, result, data: { runAs: 'root', cwd: EVIL, publisher: 'deb:systemd' } });
    const posted = await app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: { authorization: `Bearer ${credential}` },
      payload: { events: [ev('a', 0, 'CORP\\ann', '/usr/bin/systemctl', 'restart nginx', 'would-allow'), ev('b', 1, 'CORP\\bob', '/usr/bin/systemctl', EVIL, 'no-rule'), ev('c', 2, EVIL, `/opt/${EVIL}`, '', 'no-rule')] },
    });
    expect(posted.statusCode, posted.body).to.equal(200);
    browser = await chromium.launch(chromiumLaunchOptions());
    page = await (await browser.newContext({ timezoneId: 'UTC' })).newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${url}/reports`);
    await page.fill('#token', token);
    await page.click('#use-token');
    await page.locator('#token-state', { hasText: 'A token is set for this tab.' }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function show(name: string): Promise<{ headers: string[]; rows: string[][] }> {
    await page.selectOption('#report', name);
    await page.click('#show');
    await page.locator('#show:not([disabled])').waitFor();
    await page.locator('#report-table thead th').first().waitFor();
    const headers = await page.locator('#report-table thead th').allTextContents();
    const rows: string[][] = [];
    for (const tr of await page.locator('#report-table tbody tr').all()) rows.push(await tr.locator('td').allTextContents());
    return { headers, rows };
  }

  it('lists the four Discovery reports by title', async () => {
    const options = await page.locator('#report option').evaluateAll((els) => els.map((e) => [(e as unknown as { value: string }).value, (e as unknown as { textContent: string }).textContent]));
    for (const name of ['discovery', 'discovery-programs', 'discovery-users', 'discovery-computers'] as const) expect(options).to.deep.include([name, REPORT_TITLES[name]]);
  });

  it('shows every run and the grouped counts with their labels; agent text stays text', async () => {
    const raw = await show('discovery');
    expect(raw.headers).to.deep.equal(REPORT_COLUMNS.discovery.map((c) => COLUMN_LABELS[c] ?? c));
    expect(raw.rows).to.have.length(3);
    expect(raw.rows[1]).to.include(EVIL);
    expect(raw.rows[0]).to.include.members(['restart nginx', 'would-allow', 'deb:systemd', 'root']);

    const programs = await show('discovery-programs');
    expect(programs.headers).to.deep.equal(REPORT_COLUMNS['discovery-programs'].map((c) => COLUMN_LABELS[c] ?? c));
    expect(programs.headers).to.include.members(['Runs', 'Users', 'Computers', 'First seen', 'Last seen', 'Covered (%)']);
    const systemctl = programs.rows.find((r) => r[0] === '/usr/bin/systemctl') as string[];
    const at = (label: string): string => systemctl[programs.headers.indexOf(label)] as string;
    expect([at('Runs'), at('Users'), at('Computers'), at('Would allow'), at('Covered (%)')]).to.deep.equal(['2', '2', '1', '1', '50']);

    const users = await show('discovery-users');
    expect(users.rows.map((r) => [r[0], r[1]])).to.deep.include([`/opt/${EVIL}`, EVIL]);
    const computers = await show('discovery-computers');
    expect(computers.rows.map((r) => r[1])).to.deep.equal(['WEB-DISC', 'WEB-DISC']);

    expect(await page.locator('#report-table img').count()).to.equal(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).to.equal(undefined);
    expect(problems).to.deep.equal([]);
  });
});
