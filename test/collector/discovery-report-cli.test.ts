/**
 * Issue 19, Deliver 4: `ascend report discovery*` (the built CLI, a child process) against a
 * real collector over TLS in this process; the runs go in through POST /api/v1/events.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/collector/server/index.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { REPORT_COLUMNS } from '../../src/collector-api/reports.js';
import { testTls } from '../support/tls.js';
import { type ChildRun, runChild } from '../support/run-child.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');
const T0 = Date.parse('2026-11-03T08:00:00Z');

type Run = ChildRun;

describe('ascend report discovery, discovery-programs, -users, -computers (built CLI)', function () {
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

  before(async () => {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'commands', 'report.js'))) throw new Error('the CLI is not built: run "npm run build"');
    dir = mkdtempSync(join(tmpdir(), 'ascend-h19c-rcli-'));
    const store = await SqliteStore.open(join(dir, 'data'));
    const tls = await testTls(join(dir, 'data'));
    caFile = tls.caFile;
    app = buildServer({ store, ...tls.serverOptions });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    const tokenFile = join(dir, 'viewer-token');
    writeFileSync(tokenFile, `${(await store.createApiToken('viewer', 'discovery cli')).token}\n`, { mode: 0o600 });
    base = ['--server', `https://127.0.0.1:${addr.port}`, '--token-file', tokenFile];
    for (const computer of ['RC-1', 'RC-2']) {
      const { token } = await store.createEnrollmentToken({ uses: 1 });
      const r = await app.inject({ method: 'POST', url: '/api/v1/enroll', payload: { enrollmentToken: token, computer } });
      const credential = (r.json() as { credential: string }).credential;
      const events = [
        { id: 'r1', type: 'elevation-discovered', time: T0, user: 'CORP\\ann', processPath: '/usr/bin/apt-get', args: 'update', result: 'would-allow', data: { runAs: 'root' } },
        { id: 'r2', type: 'elevation-discovered', time: T0 + 1, user: `CORP\\${computer === 'RC-1' ? 'ann' : 'bob'}`, processPath: '/usr/bin/apt-get', args: 'install jq', result: 'no-rule', data: { runAs: 'root' } },
      ];
      const posted = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization: `Bearer ${credential}` }, payload: { events } });
      expect(posted.statusCode, posted.body).to.equal(200);
    }
  });

  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('table: labelled counts by program; --json the typed rows; csv the columns', async () => {
    const t = await ascend(['report', 'discovery-programs']);
    expect(t.status, t.stderr).to.equal(0);
    const lines = t.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^Process +Runs +Users +Computers +First seen +Last seen +Would allow +Would deny +No rule +Covered \(%\)$/);
    expect(lines[2]).to.match(/^\/usr\/bin\/apt-get +4 +2 +2 +2026-11-03T08:00:00.000Z +2026-11-03T08:00:00.001Z +2 +0 +2 +50$/);
    const j = await ascend(['report', 'discovery-users', '--json']);
    expect(j.status, j.stderr).to.equal(0);
    const body = JSON.parse(j.stdout) as { columns: string[]; rows: Record<string, unknown>[] };
    expect(body.columns).to.deep.equal(REPORT_COLUMNS['discovery-users']);
    expect(body.rows.map((r) => [r.user, r.runs, r.computers, r.coveredPercent])).to.deep.equal([
      ['CORP\\ann', 3, 2, 66.7],
      ['CORP\\bob', 1, 1, 0],
    ]);
    const c = await ascend(['report', 'discovery', '--format', 'csv', '--computer', 'RC-2']);
    expect(c.status, c.stderr).to.equal(0);
    const csv = c.stdout.trimEnd().split('\r\n');
    expect(csv[0]).to.equal(REPORT_COLUMNS.discovery.join(','));
    expect(csv).to.have.length(3);
  });

  it('--passcode does not apply to the Discovery reports: one line', async () => {
    const r = await ascend(['report', 'discovery-computers', '--passcode', 'p1']);
    expect(r.status).to.not.equal(0);
    expect(r.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/query\.passcode does not apply to the discovery-computers report/);
  });
});
