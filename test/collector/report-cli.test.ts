/**
 * `ascend report NAME` (the built CLI, as a child process) against a real collector: buildServer
 * over a SqliteStore in a temporary folder, listening on 127.0.0.1 over TLS with the folder's
 * generated CA (the CLI trusts it through ASCEND_CA_FILE).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/collector/server/index.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { type CaFetch, testTls } from '../support/tls.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');
const T0 = Date.parse('2026-03-02T09:00:00Z');
/** The collector's CA file, given to every CLI run as ASCEND_CA_FILE. */
let caFile = '';

/** The column sets of the report API (GET /api/v1/reports/:name). */
export const REPORT_COLUMNS: Record<string, string[]> = {
  'tse-usage': ['time', 'computer', 'user', 'passcodeId', 'passcodeTitle', 'processPath', 'args', 'elevatedBy', 'sessionId', 'sessionStart', 'sessionEnd', 'endedByExpiry', 'agentId', 'eventId'],
  elevations: ['time', 'computer', 'user', 'processPath', 'args', 'elevatedBy', 'rule', 'controls', 'passcodeId', 'sessionId', 'agentId', 'eventId'],
  denied: ['time', 'computer', 'user', 'processPath', 'args', 'rule', 'reason', 'agentId', 'eventId'],
  approvals: ['createdAt', 'computer', 'user', 'processPath', 'args', 'justification', 'status', 'decidedAt', 'decidedBy', 'timeLimitSeconds', 'usedAt', 'id'],
};

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI without blocking this process: the server answering it runs here.
 * ASCEND_TOKEN_FILE is taken from `env` only, never inherited.
 */
function ascend(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete base.ASCEND_TOKEN_FILE;
  base.ASCEND_CA_FILE = caFile;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [RUN, ...args], { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** A user error: non-zero, one line on stderr, no stack trace. */
function expectOneLineError(r: Run, status: number, pattern: RegExp): void {
  expect(r.status, r.stderr).to.equal(status);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(pattern);
  expect(r.stderr).to.not.match(/\n\s+at /);
  expect(r.stdout).to.equal('');
}

describe('ascend report (CLI against a real collector)', function () {
  let dir: string;
  let store: SqliteStore;
  let app: FastifyInstance;
  let url: string;
  let viewerToken: string;
  let tokenFile: string;
  let pc1: string;
  let fetch: CaFetch;

  before(async function () {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'commands', 'report.js'))) throw new Error('the CLI is not built: run "npm run build"');
    dir = mkdtempSync(join(tmpdir(), 'ascend-report-cli-'));
    store = await SqliteStore.open(join(dir, 'data'));
    const tls = await testTls(join(dir, 'data'));
    caFile = tls.caFile;
    fetch = tls.fetch;
    app = buildServer({ store, ...tls.serverOptions });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    url = `https://127.0.0.1:${addr.port}`;

    viewerToken = (await store.createApiToken('viewer', 'report test')).token;
    tokenFile = join(dir, 'viewer-token');
    writeFileSync(tokenFile, `${viewerToken}\n`, { mode: 0o600 });

    const enroll = async (computer: string): Promise<string> => {
      const { token } = await store.createEnrollmentToken({ uses: 1 });
      return (await store.enrollAgent(token, computer)).agent.id;
    };
    pc1 = await enroll('PC-01');
    const pc2 = await enroll('PC-02');
    await store.registerPasscode({ id: 'pc-123', title: 'Printer driver install', maxUses: 5 });
    await store.insertEvents(pc1, [
      { id: 'r1', type: 'passcode-redeemed', time: T0, user: 'CORP\\alice', passcodeId: 'pc-123', sessionId: 's1' },
      { id: 'e1', type: 'process-elevated', time: T0 + 60_000, user: 'CORP\\alice', passcodeId: 'pc-123', sessionId: 's1', processPath: 'C:\\Windows\\System32\\cmd.exe', args: '/c "echo, hi"', elevatedBy: 'tse' },
      // Attacker-controlled text: a terminal escape, a newline, a formula, quotes and commas.
      { id: 'e2', type: 'process-elevated', time: T0 + 120_000, user: 'CORP\\alice', passcodeId: 'pc-123', sessionId: 's1', processPath: 'C:\\evil\u001b]0;pwned\u0007\nfake.exe', args: '=HYPERLINK("http://x","y")', elevatedBy: 'tse' },
      { id: 'x1', type: 'session-expired', time: T0 + 900_000, user: 'CORP\\alice', passcodeId: 'pc-123', sessionId: 's1' },
      { id: 'd1', type: 'elevation-denied', time: T0 + 30_000, user: 'CORP\\alice', processPath: 'C:\\Tools\\mimikatz.exe', rule: 'blacklist: credential tools', reason: 'blacklisted' },
    ]);
    await store.insertEvents(pc2, [
      { id: 'r1', type: 'passcode-redeemed', time: T0 + 3_500_000, user: 'CORP\\bob', passcodeId: 'pc-456', sessionId: 's2' },
      { id: 'e1', type: 'process-elevated', time: T0 + 3_600_000, user: 'CORP\\bob', passcodeId: 'pc-456', sessionId: 's2', processPath: 'C:\\Program Files\\App\\setup.exe', elevatedBy: 'tse' },
      // Not in a passcode session: an elevation by rule, not TSE usage.
      { id: 'e2', type: 'process-elevated', time: T0 + 3_700_000, user: 'CORP\\bob', processPath: 'C:\\Program Files\\App\\update.exe', elevatedBy: 'rule', rule: 'installers' },
    ]);
  });

  after(async () => {
    await app?.close(); // closes the store too
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function serverAnswer(name: string, query: string): Promise<{ status: number; type: string; text: string }> {
    const r = await fetch(`${url}/api/v1/reports/${name}?${query}`, { headers: { authorization: `Bearer ${viewerToken}` } });
    return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
  }

  it('prints an aligned table with labels, escapes control characters, and counts the rows', async () => {
    const r = await ascend(['report', 'tse-usage', '--server', url, '--token-file', tokenFile]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^Time\s+Computer\s+User\s+Passcode\s+Passcode title\s+Process\s+Arguments\s+Elevated by\s+Session\s+/);
    expect(lines[1]).to.match(/^-+( {2}-+)+$/);
    expect(lines).to.have.length(2 + 3 + 1);
    expect(lines[5]).to.equal('(3 rows)');
    // Aligned: every column starts where its header does.
    const processAt = (lines[0] ?? '').indexOf('Process ');
    expect(lines[2]?.slice(processAt)).to.match(/^C:\\Windows\\System32\\cmd\.exe /);
    expect(lines[3]?.slice(processAt)).to.match(/^C:\\evil\\x1b\]0;pwned\\x07\\nfake\.exe /);
    expect(lines[2]).to.include('PC-01').and.include('CORP\\alice').and.include('Printer driver install').and.include('2026-03-02T09:01:00.000Z');
    expect(lines[4]).to.include('PC-02').and.include('C:\\Program Files\\App\\setup.exe');
    // Nothing raw from the event reaches the terminal.
    expect(r.stdout).to.not.match(/[\u0000-\u0009\u000b-\u001f\u007f]/);
  });

  it('filters by computer, user, passcode and time, and says (no rows) when nothing matches', async () => {
    const byComputer = await ascend(['report', 'tse-usage', '--server', url, '--token-file', tokenFile, '--computer', 'PC-02', '--json']);
    expect(byComputer.status, byComputer.stderr).to.equal(0);
    expect(JSON.parse(byComputer.stdout).rows.map((x: { computer: string }) => x.computer)).to.deep.equal(['PC-02']);

    const byUser = await ascend(['report', 'tse-usage', '--server', url, '--token-file', tokenFile, '--user', 'CORP\\alice', '--passcode', 'pc-123', '--json']);
    expect(JSON.parse(byUser.stdout).rows.map((x: { eventId: string }) => x.eventId)).to.deep.equal(['e1', 'e2']);

    const byTime = await ascend(['report', 'tse-usage', '--server', url, '--token-file', tokenFile, '--from', '2026-03-02T09:01:30Z', '--to', String(T0 + 3_600_000), '--json']);
    expect(JSON.parse(byTime.stdout).rows.map((x: { eventId: string }) => x.eventId)).to.deep.equal(['e2']);

    const none = await ascend(['report', 'tse-usage', '--server', url, '--token-file', tokenFile, '--computer', 'NO-SUCH-PC']);
    expect(none.status, none.stderr).to.equal(0);
    const lines = none.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^Time\s+Computer/);
    expect(lines[2]).to.equal('(no rows)');
    expect(lines).to.have.length(3);

    const recent = await ascend(['report', 'tse-usage', '--server', url, '--token-file', tokenFile, '--from', '1h']);
    expect(recent.status, recent.stderr).to.equal(0);
    expect(recent.stdout).to.include('(no rows)');
  });

  it('--format json prints the server JSON as it was sent; --json prints the typed result', async () => {
    const r = await ascend(['report', 'tse-usage', '--server', url, '--token-file', tokenFile, '--format', 'json', '--computer', 'PC-01']);
    expect(r.status, r.stderr).to.equal(0);
    const direct = await serverAnswer('tse-usage', 'computer=PC-01&format=json');
    expect(r.stdout.trimEnd()).to.equal(direct.text.trimEnd());
    const body = JSON.parse(r.stdout);
    expect(body.report).to.equal('tse-usage');
    expect(body.columns).to.deep.equal(REPORT_COLUMNS['tse-usage']);
    for (const row of body.rows) expect(Object.keys(row)).to.have.members(body.columns);
    expect(body.rows[0]).to.include({ computer: 'PC-01', agentId: pc1, eventId: 'e1', passcodeTitle: 'Printer driver install', sessionStart: '2026-03-02T09:00:00.000Z', sessionEnd: '2026-03-02T09:15:00.000Z', endedByExpiry: true });

    const typed = await ascend(['report', 'tse-usage', '--server', url, '--token-file', tokenFile, '--computer', 'PC-01', '--format', 'csv', '--json']);
    expect(typed.status, typed.stderr).to.equal(0);
    expect(JSON.parse(typed.stdout)).to.deep.equal(body);
  });

  it('--format csv prints the server CSV byte for byte (header of the columns, CRLF)', async () => {
    const r = await ascend(['report', 'tse-usage', '--server', url, '--token-file', tokenFile, '--format', 'csv']);
    expect(r.status, r.stderr).to.equal(0);
    const direct = await serverAnswer('tse-usage', 'format=csv');
    expect(direct.type).to.match(/^text\/csv/);
    expect(r.stdout).to.equal(direct.text);
    expect(r.stdout.split('\r\n')[0]).to.equal((REPORT_COLUMNS['tse-usage'] ?? []).join(','));
    expect(r.stdout.endsWith('\r\n')).to.equal(true);
    // The formula is defused by the server and passes through untouched.
    expect(r.stdout).to.include(`"'=HYPERLINK(""http://x"",""y"")"`);
  });

  it('takes the token file from ASCEND_TOKEN_FILE', async () => {
    const r = await ascend(['report', 'tse-usage', '--server', url, '--json'], { ASCEND_TOKEN_FILE: tokenFile });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout).rows).to.have.length(3);
  });

  it('serves every report with its own columns', async () => {
    await store.createApprovalRequest(pc1, { requestId: 'q1', user: 'CORP\\alice', processPath: 'C:\\Tools\\regedit.exe', justification: 'fix the printer' });
    for (const name of Object.keys(REPORT_COLUMNS)) {
      const r = await ascend(['report', name, '--server', url, '--token-file', tokenFile, '--json']);
      expect(r.status, `${name}: ${r.stderr}${r.stdout}`).to.equal(0);
      const body = JSON.parse(r.stdout);
      expect(body.report).to.equal(name);
      expect(body.columns, name).to.deep.equal(REPORT_COLUMNS[name]);
      expect(body.rows, name).to.have.length.greaterThan(0);
      for (const row of body.rows) expect(Object.keys(row), name).to.have.members(body.columns);
      const table = await ascend(['report', name, '--server', url, '--token-file', tokenFile]);
      expect(table.status, table.stderr).to.equal(0);
      expect(table.stdout).to.match(/\(\d+ rows?\)\n$/);
    }
    const denied = JSON.parse((await ascend(['report', 'denied', '--server', url, '--token-file', tokenFile, '--json'])).stdout);
    expect(denied.rows[0]).to.include({ computer: 'PC-01', processPath: 'C:\\Tools\\mimikatz.exe', rule: 'blacklist: credential tools', reason: 'blacklisted', eventId: 'd1' });
    const approvals = JSON.parse((await ascend(['report', 'approvals', '--server', url, '--token-file', tokenFile, '--json'])).stdout);
    expect(approvals.rows[0]).to.include({ computer: 'PC-01', processPath: 'C:\\Tools\\regedit.exe', justification: 'fix the printer', status: 'pending' });
  });

  describe('errors: one line, non-zero', () => {
    it('a --format that is not table, json or csv', async () => {
      expectOneLineError(await ascend(['report', 'tse-usage', '--server', url, '--token-file', tokenFile, '--format', 'xml']), 2, /^Error: Expected --format=xml to be one of: table, json, csv/);
    });

    it('a report that does not exist', async () => {
      expectOneLineError(await ascend(['report', 'logins', '--server', url, '--token-file', tokenFile]), 2, /^Error: Expected logins to be one of: tse-usage, elevations, denied, approvals/);
    });

    it('no token file, or one that is missing', async () => {
      expectOneLineError(await ascend(['report', 'tse-usage', '--server', url]), 2, /^Error: an API token is needed: give --token-file FILE or set ASCEND_TOKEN_FILE$/);
      expectOneLineError(await ascend(['report', 'tse-usage', '--server', url, '--token-file', join(dir, 'missing')]), 1, /^Error: cannot read the token file .*missing/);
      const json = await ascend(['report', 'tse-usage', '--server', url, '--json'], { ASCEND_TOKEN_FILE: join(dir, 'missing') });
      expect(json.status).to.equal(1);
      expect(JSON.parse(json.stdout).error.code).to.equal('ASC_FILE_NOT_FOUND');
    });

    it('a token the server does not know (401), with the server message', async () => {
      const wrong = join(dir, 'wrong-token');
      writeFileSync(wrong, 'not-a-real-token', { mode: 0o600 });
      for (const format of ['table', 'json', 'csv']) {
        expectOneLineError(await ascend(['report', 'tse-usage', '--server', url, '--token-file', wrong, '--format', format]), 1, /^Error: the server refused \(HTTP 401\): the API token is unknown, revoked or expired$/);
      }
      const json = await ascend(['report', 'tse-usage', '--server', url, '--token-file', wrong, '--json']);
      expect(json.status).to.equal(1);
      expect(JSON.parse(json.stdout).error.code).to.equal('ASC_COLLECTOR_UNAUTHENTICATED');
    });

    it('a bad --from, and an unreachable server', async () => {
      expectOneLineError(await ascend(['report', 'tse-usage', '--server', url, '--token-file', tokenFile, '--from', 'last tuesday']), 2, /^Error: --from must be an ISO 8601 time/);
      expectOneLineError(await ascend(['report', 'tse-usage', '--server', 'https://127.0.0.1:1', '--token-file', tokenFile]), 1, /^Error: cannot reach (the collector )?https:\/\/127\.0\.0\.1:1/);
    });
  });
});
