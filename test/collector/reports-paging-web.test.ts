/**
 * Issue 18: the /reports page follows the report cursor (real Chromium, as test/collector/web.test.ts):
 * a report longer than a page shows the first page and a "Next page" button; the next page
 * keeps the filters of the first, even when the form was changed meanwhile; the last page
 * says no more follow.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildServer } from '../../src/collector/server/index.js';
import { type CollectorEventInput, SqliteStore } from '../../src/collector/storage/index.js';
import { REPORT_PAGE_ROWS } from '../../src/collector-api/reports.js';
import { CHROMIUM, chromiumAvailable, chromiumLaunchOptions } from '../support/chromium.js';
import { requireComponent } from '../support/components.js';

const T0 = Date.parse('2026-05-02T08:00:00Z');

describe('collector web page: /reports follows the report cursor (Chromium)', function () {
  this.timeout(120_000);
  let dir: string;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let url: string;
  let token: string;
  const problems: string[] = [];
  const requested: string[] = [];

  before(async function () {
    requireComponent(this, chromiumAvailable(), `Chromium (${CHROMIUM})`, 'apt-get install chromium');
    dir = mkdtempSync(join(tmpdir(), 'ascend-h18c-web-'));
    const store = await SqliteStore.open(join(dir, 'data'));
    app = buildServer({ store });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    url = `http://127.0.0.1:${addr.port}`;
    token = (await store.createApiToken('viewer', 'paging web')).token;
    for (const computer of ['WEB-A', 'WEB-B']) {
      const enroll = await store.createEnrollmentToken({ uses: 1 });
      const agent = (await store.enrollAgent(enroll.token, computer)).agent.id;
      const n = computer === 'WEB-A' ? REPORT_PAGE_ROWS + 5 : 50;
      const batch: CollectorEventInput[] = Array.from({ length: n }, (_, i) => ({ id: `w${String(i).padStart(5, '0')}`, type: 'elevation-denied', time: T0 + i, user: 'CORP\\pat', processPath: `<b>${i}</b>.exe`, rule: 'b', reason: 'blacklisted' }));
      await store.insertEvents(agent, batch);
    }
    browser = await chromium.launch(chromiumLaunchOptions());
    page = await (await browser.newContext({ timezoneId: 'UTC' })).newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('request', (r) => requested.push(r.url()));
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function click(id: string): Promise<void> {
    await page.click(id);
    await page.locator('#show:not([disabled])').waitFor();
  }

  it('shows the first page with a Next page button, then the rest with the first page\'s filters', async () => {
    await page.goto(`${url}/reports`);
    await page.fill('#token', token);
    await page.click('#use-token');
    await page.locator('#token-state', { hasText: 'A token is set for this tab.' }).waitFor();
    await page.selectOption('#report', 'denied');
    await page.fill('#computer', 'WEB-A');
    await click('#show');
    expect(await page.textContent('#status')).to.equal(`${REPORT_PAGE_ROWS} rows. More rows follow: Next page.`);
    expect(await page.locator('#report-table tbody tr').count()).to.equal(REPORT_PAGE_ROWS);
    expect(await page.isVisible('#next')).to.equal(true);
    // Changing the form does not change the report being paged.
    await page.fill('#computer', 'WEB-B');
    await click('#next');
    expect(await page.textContent('#status')).to.equal('Page 2: 5 rows.');
    expect(await page.isVisible('#next')).to.equal(false);
    const last = await page.locator('#report-table tbody tr:nth-child(5) td').allTextContents();
    expect(last).to.include('WEB-A');
    expect(last).to.include('<b>1004</b>.exe');
    const pages = requested.filter((u) => u.includes('/api/v1/reports/denied'));
    expect(pages).to.have.length(2);
    expect(new URL(pages[1] as string).searchParams.get('computer')).to.equal('WEB-A');
    expect(new URL(pages[1] as string).searchParams.get('cursor')).to.match(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(problems).to.deep.equal([]);
  });
});
