/**
 * Issue 18: `ascend report` (the built CLI, a child process) follows the report cursor:
 * --limit, --cursor, --all; the "more" marker in table, json and csv output; bad cursors are
 * one-line errors. A real collector over TLS in this process (as test/collector/report-cli.test.ts).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/collector/server/index.js';
import { type CollectorEventInput, SqliteStore } from '../../src/collector/storage/index.js';
import { testTls } from '../support/tls.js';
import { type ChildRun, runChild } from '../support/run-child.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');
const T0 = Date.parse('2026-05-03T08:00:00Z');
const ROWS = 1000;

type Run = ChildRun;

describe('ascend report pages with --limit, --cursor and --all (built CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  let app: FastifyInstance;
  let base: string[];
  let caFile: string;

  function ascend(args: string[]): Promise<Run> {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ASCEND_CA_FILE: caFile };
    delete env.ASCEND_TOKEN_FILE;
    return runChild(process.execPath, [RUN, ...args, ...base], { cwd: ROOT, env });
  }

  function oneLineError(r: Run, pattern: RegExp): void {
    expect(r.status, r.stderr).to.not.equal(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(pattern);
    expect(r.stdout).to.equal('');
  }

  before(async function () {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'commands', 'report.js'))) throw new Error('the CLI is not built: run "npm run build"');
    dir = mkdtempSync(join(tmpdir(), 'ascend-h18c-cli-'));
    const store = await SqliteStore.open(join(dir, 'data'));
    const tls = await testTls(join(dir, 'data'));
    caFile = tls.caFile;
    app = buildServer({ store, ...tls.serverOptions });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    const tokenFile = join(dir, 'viewer-token');
    writeFileSync(tokenFile, `${(await store.createApiToken('viewer', 'cli paging')).token}\n`, { mode: 0o600 });
    base = ['--server', `https://127.0.0.1:${addr.port}`, '--token-file', tokenFile];
    const enroll = await store.createEnrollmentToken({ uses: 1 });
    const agent = (await store.enrollAgent(enroll.token, 'CLI-PC')).agent.id;
    const batch: CollectorEventInput[] = Array.from({ length: ROWS }, (_, i) => ({ id: `c${String(i).padStart(5, '0')}`, type: 'elevation-denied', time: T0 + Math.floor(i / 3), user: 'CORP\\pat', processPath: 'x.exe', rule: 'b', reason: 'blacklisted' }));
    await store.insertEvents(agent, batch);
  });

  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('table: one page and a last line naming the next cursor; --cursor prints that page; every row once', async () => {
    const first = await ascend(['report', 'denied', '--limit', '400']);
    expect(first.status, first.stderr).to.equal(0);
    const lines = first.stdout.trimEnd().split('\n');
    expect(lines[lines.length - 2]).to.equal('(400 rows)');
    const marker = /^\(more: --cursor ([A-Za-z0-9_.-]+)\)$/.exec(lines[lines.length - 1] as string);
    expect(marker, lines[lines.length - 1]).to.not.equal(null);

    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await ascend(['report', 'denied', '--format', 'json', '--limit', '300', ...(cursor === null ? [] : ['--cursor', cursor])]);
      expect(r.status, r.stderr).to.equal(0);
      const body = JSON.parse(r.stdout) as { rows: { eventId: string }[]; nextCursor: string | null };
      ids.push(...body.rows.map((x) => x.eventId));
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(ids).to.have.length(ROWS);
    expect(new Set(ids).size).to.equal(ROWS);
  });

  it('--all follows every cursor (json: the whole report, nextCursor null; table: no marker)', async () => {
    const r = await ascend(['report', 'denied', '--format', 'json', '--all', '--limit', '300']);
    expect(r.status, r.stderr).to.equal(0);
    const body = JSON.parse(r.stdout) as { rows: { eventId: string }[]; nextCursor: string | null };
    expect(body.rows).to.have.length(ROWS);
    expect(new Set(body.rows.map((x) => x.eventId)).size).to.equal(ROWS);
    expect(body.nextCursor).to.equal(null);
    const t = await ascend(['report', 'denied', '--all', '--limit', '250']);
    expect(t.status, t.stderr).to.equal(0);
    expect(t.stdout.trimEnd().split('\n').pop()).to.equal(`(${ROWS} rows)`);
  });

  it('csv: the whole report without --limit; one page with it, the next cursor on stderr', async () => {
    const whole = await ascend(['report', 'denied', '--format', 'csv']);
    expect(whole.status, whole.stderr).to.equal(0);
    expect(whole.stderr).to.equal('');
    expect(whole.stdout.split('\r\n').filter((l) => l !== '')).to.have.length(ROWS + 1);
    const page = await ascend(['report', 'denied', '--format', 'csv', '--limit', '5']);
    expect(page.status, page.stderr).to.equal(0);
    expect(page.stdout.split('\r\n').filter((l) => l !== '')).to.have.length(6);
    const m = /^more rows: --cursor ([A-Za-z0-9_.-]+)\n$/.exec(page.stderr);
    expect(m, page.stderr).to.not.equal(null);
    const next = await ascend(['report', 'denied', '--format', 'csv', '--limit', '5', '--cursor', (m as RegExpExecArray)[1] as string]);
    expect(next.stdout.split('\r\n').filter((l) => l !== '').slice(1)).to.deep.equal(whole.stdout.split('\r\n').slice(6, 11));
  });

  it('a cursor that is not one: one line, non-zero (checked locally, and by the server)', async () => {
    oneLineError(await ascend(['report', 'denied', '--cursor', 'not a cursor']), /--cursor is not a cursor/);
    oneLineError(await ascend(['report', 'denied', '--cursor', 'eyJ2IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA']), /ASC_COLLECTOR_BAD_INPUT|not a cursor this collector gave out/);
    oneLineError(await ascend(['report', 'denied', '--limit', '10001']), /10000/);
  });
});
