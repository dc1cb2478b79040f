/**
 * The `ascend server ...` admin commands (the built CLI, as child processes) against a real
 * collector: buildServer over a SqliteStore in a temporary folder, listening on 127.0.0.1 over
 * TLS with the folder's generated CA (the CLI trusts it through ASCEND_CA_FILE),
 * with a stand-in sign-in provider (the Active Directory one is tested in ad-sign-in.test.ts).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { AscendError } from '../../src/errors.js';
import { buildServer } from '../../src/collector/server/index.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { buildTerms, generateSigningKeyPair, importSigningKey, signPasscode } from '../../src/passcode/index.js';
import { formatAscpass } from '../../src/passcode-keys/index.js';
import { type CaFetch, testTls, type TestTls } from '../support/tls.js';
import { expectTimeIn, windowStart } from '../support/time-window.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');
const PASSWORD = 'correct horse battery staple';
const posix = process.platform !== 'win32';
/** The collector's CA file, given to every CLI run as ASCEND_CA_FILE. */
let caFile = '';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI without blocking this process (the server answering it runs here).
 * ASCEND_TOKEN_FILE and ASCEND_PASSWORD come from `env` only, never inherited; `input`
 * is written to stdin (else stdin is empty, not a terminal).
 */
function ascend(args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete base.ASCEND_TOKEN_FILE;
  delete base.ASCEND_PASSWORD;
  base.ASCEND_CA_FILE = caFile;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [RUN, ...args], { cwd: ROOT, env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    });
  });
}

function ok(r: Run): void {
  expect(r.status, `${r.stderr}${r.stdout}`).to.equal(0);
}

function json<T = Record<string, unknown>>(r: Run): T {
  ok(r);
  return JSON.parse(r.stdout) as T;
}

/** A user error: the status, one line on stderr, no stack trace, nothing on stdout. */
function expectOneLineError(r: Run, status: number, pattern: RegExp): void {
  expect(r.status, r.stderr + r.stdout).to.equal(status);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^Error: /);
  expect(lines[0]).to.match(pattern);
  expect(r.stderr).to.not.match(/\n\s+at /);
  expect(r.stdout).to.equal('');
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

describe('ascend server admin commands (CLI against a real collector)', function () {
  let dir: string;
  let store: SqliteStore;
  let app: FastifyInstance;
  let url: string;
  let adminFile: string;
  let viewerFile: string;
  let approverFile: string;
  let adminToken: string;
  let tls: TestTls;
  let fetch: CaFetch;

  /** --server URL --token-file F and the rest. */
  const as = (file: string, ...args: string[]): string[] => [...args, '--server', url, '--token-file', file];
  const admin = (...args: string[]): string[] => as(adminFile, ...args);

  async function enrollAgent(computer: string): Promise<{ agentId: string; credential: string }> {
    const { token } = await store.createEnrollmentToken({ uses: 1 });
    const r = await fetch(`${url}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enrollmentToken: token, computer }) });
    expect(r.status).to.equal(201);
    return (await r.json()) as { agentId: string; credential: string };
  }

  async function agentCall(credential: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${credential}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  }

  function writeToken(name: string, token: string): string {
    const file = join(dir, name);
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    return file;
  }

  before(async function () {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'commands', 'server', 'token', 'create.js'))) throw new Error('the CLI is not built: run "npm run build"');
    dir = mkdtempSync(join(tmpdir(), 'ascend-admin-cli-'));
    store = await SqliteStore.open(join(dir, 'data'));
    tls = await testTls(join(dir, 'data'));
    caFile = tls.caFile;
    fetch = tls.fetch;
    app = buildServer({
      store,
      ...tls.serverOptions,
      settings: {
        signIn: {
          authenticate: async (user, password) => {
            if (user.toLowerCase() === 'corp\\alice' && password === PASSWORD) return { name: 'CORP\\alice', role: 'approver' };
            throw new AscendError('ASC_COLLECTOR_UNAUTHENTICATED', 'the user name or password is wrong');
          },
        },
      },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    url = `https://127.0.0.1:${addr.port}`;
    adminToken = (await store.createApiToken('admin', 't')).token;
    adminFile = writeToken('admin-token', adminToken);
    viewerFile = writeToken('viewer-token', (await store.createApiToken('viewer', 'viewer t')).token);
    approverFile = writeToken('approver-token', (await store.createApiToken('approver', 'approver t')).token);
  });

  after(async () => {
    await app?.close(); // closes the store too
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('token file and errors', () => {
    it('whoami: --json and the human line', async () => {
      expect(json(await ascend(admin('server', 'whoami', '--json')))).to.deep.equal({ name: 't', role: 'admin', source: 'token', expiresAt: null });
      const r = await ascend(as(viewerFile, 'server', 'whoami'));
      ok(r);
      expect(r.stdout.trim()).to.equal('viewer t (viewer), API token, no expiry');
    });

    it('takes the token file from ASCEND_TOKEN_FILE', async () => {
      const r = await ascend(['server', 'whoami', '--server', url, '--json'], { ASCEND_TOKEN_FILE: approverFile });
      expect(json(r).role).to.equal('approver');
    });

    it('without --token-file or ASCEND_TOKEN_FILE: a usage error naming both', async () => {
      expectOneLineError(await ascend(['server', 'agent', 'list', '--server', url]), 2, /--token-file.*ASCEND_TOKEN_FILE/);
    });

    it('a viewer token on an admin command: exit 1, one line naming the role', async () => {
      const r = await ascend(as(viewerFile, 'server', 'token', 'create', '--name', 'x', '--role', 'viewer'));
      expectOneLineError(r, 1, /HTTP 403.*needs the admin role; the token has viewer/);
      const j = await ascend(as(viewerFile, 'server', 'token', 'list', '--json'));
      expect(j.status).to.equal(1);
      expect(JSON.parse(j.stdout).error.code).to.equal('ASC_COLLECTOR_FORBIDDEN');
    });

    it('a viewer token on an approver command: names the approver role', async () => {
      expectOneLineError(await ascend(as(viewerFile, 'server', 'approval', 'list')), 1, /needs the approver role/);
    });

    it('an unreachable server: one line with a next step', async () => {
      expectOneLineError(await ascend(['server', 'agent', 'list', '--server', 'https://127.0.0.1:1', '--token-file', adminFile]), 1, /cannot reach .*check --server/);
    });

    it('report and enroll-token create take the shared flags', async () => {
      const e = await ascend(['server', 'enroll-token', 'create', '--server', url, '--json'], { ASCEND_TOKEN_FILE: adminFile });
      expect(json(e).uses).to.equal(1);
      expectOneLineError(await ascend(['server', 'enroll-token', 'create', '--server', url]), 2, /--token-file FILE or set ASCEND_TOKEN_FILE/);
      const r = await ascend(['report', 'tse-usage', '--server', url, '--json'], { ASCEND_TOKEN_FILE: viewerFile });
      expect(json(r).report).to.equal('tse-usage');
    });
  });

  describe('server token', () => {
    it('create prints the token once; --json has the record and the token', async () => {
      const r = await ascend(admin('server', 'token', 'create', '--name', 'helpdesk', '--role', 'approver', '--expires', '30d'));
      ok(r);
      const [token, note] = r.stdout.trimEnd().split('\n');
      expect(token).to.match(/^\S{20,}$/);
      expect(note).to.match(/^\(approver, expires \d{4}-\d\d-\d\dT[\d:]+Z, id [0-9a-f-]{36}; shown this once/);
      const who = await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
      expect(((await who.json()) as { name: string }).name).to.equal('helpdesk');

      const j = json<Record<string, unknown>>(await ascend(admin('server', 'token', 'create', '--name', 'reports', '--role', 'viewer', '--json')));
      expect(Object.keys(j).sort()).to.deep.equal(['createdAt', 'expiresAt', 'id', 'name', 'revokedAt', 'role', 'source', 'token']);
      expect(j).to.include({ name: 'reports', role: 'viewer', source: 'token', expiresAt: null, revokedAt: null });
    });

    it('create --out writes a new 0600 file, prints no token, and the file works for whoami', async () => {
      const out = join(dir, 'made-token');
      const r = await ascend(admin('server', 'token', 'create', '--name', 'ops', '--role', 'admin', '--out', out));
      ok(r);
      const token = readFileSync(out, 'utf8').trim();
      if (posix) expect(mode(out)).to.equal(0o600);
      expect(r.stdout).to.not.include(token);
      expect(r.stdout).to.match(/^Token "ops" written to .*made-token \(admin, no expiry, id [0-9a-f-]{36}\)\.\n$/);
      expect(json(await ascend(as(out, 'server', 'whoami', '--json')))).to.include({ name: 'ops', role: 'admin' });

      // --json with --out: the file, never the token.
      const out2 = join(dir, 'made-token-2');
      const j = json(await ascend(admin('server', 'token', 'create', '--name', 'ops2', '--role', 'viewer', '--out', out2, '--json')));
      expect(j.file).to.equal(out2);
      expect(j).to.not.have.property('token');
      expect(JSON.stringify(j)).to.not.include(readFileSync(out2, 'utf8').trim());
    });

    it('create --out never overwrites, and then makes no token', async () => {
      const out = join(dir, 'existing');
      writeFileSync(out, 'keep me\n', { mode: 0o600 });
      const before = (await store.listApiTokens()).length;
      expectOneLineError(await ascend(admin('server', 'token', 'create', '--name', 'x', '--role', 'viewer', '--out', out)), 1, /exists already; a token file is never overwritten \(give a new --out path\)/);
      expect(readFileSync(out, 'utf8')).to.equal('keep me\n');
      expect((await store.listApiTokens()).length).to.equal(before);
    });

    it('create refuses a bad --expires and a bad --role as usage errors', async () => {
      expectOneLineError(await ascend(admin('server', 'token', 'create', '--name', 'x', '--role', 'viewer', '--expires', 'soon')), 2, /--expires must be a duration/);
      expectOneLineError(await ascend(admin('server', 'token', 'create', '--name', 'x', '--role', 'root')), 2, /--role/);
    });

    it('list: a table and --json; revoke: the token stops working', async () => {
      const made = json<{ id: string; token: string }>(await ascend(admin('server', 'token', 'create', '--name', 'to-revoke', '--role', 'viewer', '--json')));
      const file = writeToken('to-revoke', made.token);

      const list = json<{ tokens: { id: string; name: string; revokedAt: string | null }[] }>(await ascend(admin('server', 'token', 'list', '--json')));
      expect(list.tokens.map((t) => t.name)).to.include.members(['t', 'viewer t', 'to-revoke']);
      const human = await ascend(admin('server', 'token', 'list'));
      ok(human);
      const lines = human.stdout.trimEnd().split('\n');
      expect(lines[0]).to.match(/^id\s+name\s+role\s+source\s+created\s+expires\s+revoked$/);
      expect(human.stdout).to.match(new RegExp(`${made.id}\\s+to-revoke\\s+viewer\\s+token\\s+\\S+Z\\s+never`));
      expect(human.stdout).to.not.include(made.token);

      const revokeWindow = windowStart();
      const rev = await ascend(admin('server', 'token', 'revoke', made.id));
      ok(rev);
      const revokedAt = new RegExp(`^Revoked token ${made.id} "to-revoke" \\(viewer, token\\) at (\\S+Z)\\.\\n$`).exec(rev.stdout)?.[1];
      expectTimeIn(revokedAt, revokeWindow, 'the revocation time printed');
      expectOneLineError(await ascend(as(file, 'server', 'whoami')), 1, /HTTP 401.*unknown, revoked or expired.*sign in again/);
      const after = json<{ tokens: { id: string; revokedAt: string | null }[] }>(await ascend(admin('server', 'token', 'list', '--json')));
      // The stored time is the one printed (which shows whole seconds).
      const stored = expectTimeIn(after.tokens.find((t) => t.id === made.id)?.revokedAt, revokeWindow, 'revokedAt');
      expect(new Date(Math.floor(stored / 1000) * 1000).toISOString().replace('.000Z', 'Z')).to.equal(revokedAt);

      expectOneLineError(await ascend(admin('server', 'token', 'revoke', '00000000-0000-0000-0000-000000000000')), 1, /no API token .*token list" shows the ids/);
    });
  });

  describe('server agent', () => {
    it('list and revoke --reason', async () => {
      const a = await enrollAgent('PC-AGENT-1');
      const list = json<{ agents: { id: string; computer: string; revokedAt: string | null }[] }>(await ascend(admin('server', 'agent', 'list', '--json')));
      expect(list.agents.find((x) => x.id === a.agentId)).to.include({ computer: 'PC-AGENT-1', revokedAt: null });
      const human = await ascend(as(viewerFile, 'server', 'agent', 'list'));
      ok(human);
      expect(human.stdout.split('\n')[0]).to.match(/^id\s+computer\s+enrolled\s+revoked$/);
      expect(human.stdout).to.match(new RegExp(`${a.agentId}\\s+PC-AGENT-1\\s+\\S+Z`));

      expectOneLineError(await ascend(as(viewerFile, 'server', 'agent', 'revoke', a.agentId)), 1, /needs the admin role/);
      const revokeWindow = windowStart();
      const r = await ascend(admin('server', 'agent', 'revoke', a.agentId, '--reason', 'laptop stolen'));
      ok(r);
      const revokedAt = new RegExp(`^Revoked agent ${a.agentId} \\(PC-AGENT-1\\) at (\\S+Z)\\.\\n$`).exec(r.stdout)?.[1];
      expectTimeIn(revokedAt, revokeWindow, 'the revocation time printed');
      const events = await agentCall(a.credential, 'POST', '/api/v1/events', { events: [{ id: 'e1', type: 'agent-error', time: Date.now() }] });
      expect(events.status).to.equal(401);
      const j = json<{ agent: { revokedAt: string | null } }>(await ascend(admin('server', 'agent', 'revoke', a.agentId, '--json')));
      // Revoking again changes nothing: the time is the first revocation's.
      const stored = expectTimeIn(j.agent.revokedAt, revokeWindow, 'revokedAt');
      expect(new Date(Math.floor(stored / 1000) * 1000).toISOString().replace('.000Z', 'Z')).to.equal(revokedAt);
    });
  });

  describe('server approval', () => {
    let agent: { agentId: string; credential: string };
    before(async () => {
      agent = await enrollAgent('PC-APPROVE');
    });

    async function fileRequest(requestId: string, extra: Record<string, string> = {}): Promise<string> {
      const r = await agentCall(agent.credential, 'POST', '/api/v1/agent/approvals', { requestId, user: 'CORP\\alice', processPath: 'C:\\Tools\\setup.exe', ...extra });
      expect(r.status).to.equal(201);
      const list = json<{ requests: { id: string; requestId: string }[] }>(await ascend(as(approverFile, 'server', 'approval', 'list', '--json')));
      const found = list.requests.find((x) => x.requestId === requestId);
      expect(found, 'the pending request is listed').to.not.equal(undefined);
      return (found as { id: string }).id;
    }

    it('list shows computer, user, process, args, justification, age and expiry; approve with --time-limit', async () => {
      const fileWindow = windowStart();
      const id = await fileRequest('req-1', { args: '/S /D=C:\\App', justification: 'install the \u001b[31mprinter\u001b[0m driver' });
      const list = json<{ requests: Record<string, unknown>[] }>(await ascend(as(approverFile, 'server', 'approval', 'list', '--status', 'pending', '--json')));
      const req = list.requests.find((x) => x.id === id);
      expect(req).to.include({ computer: 'PC-APPROVE', user: 'CORP\\alice', processPath: 'C:\\Tools\\setup.exe', args: '/S /D=C:\\App', status: 'pending' });
      // Pending requests expire after the default lifetime of 4 hours from their filing.
      const createdAt = expectTimeIn(req?.createdAt, fileWindow, 'createdAt');
      expect(Date.parse(req?.expiresAt as string) - createdAt).to.equal(4 * 3600_000);

      const human = await ascend(as(approverFile, 'server', 'approval', 'list'));
      ok(human);
      expect(human.stdout).to.include(`${id}  PENDING  CORP\\alice on PC-APPROVE`);
      expect(human.stdout).to.include('process:       C:\\Tools\\setup.exe');
      expect(human.stdout).to.include('arguments:     /S /D=C:\\App');
      // Agent text is inert: the escape sequence is shown, never sent to the terminal.
      expect(human.stdout).to.include('justification: install the \\x1b[31mprinter\\x1b[0m driver');
      expect(human.stdout).to.not.include('\u001b');
      expect(human.stdout).to.match(/requested: +\S+Z \([\dms]+ ago\), expires in 3h5\dm/);

      const r = await ascend(as(approverFile, 'server', 'approval', 'approve', id, '--time-limit', '30m'));
      ok(r);
      expect(r.stdout).to.equal(`Approved ${id}: CORP\\alice on PC-APPROVE may run C:\\Tools\\setup.exe once (usable for 30m).\n`);
      const polled = await agentCall(agent.credential, 'GET', '/api/v1/agent/approvals/req-1');
      expect(polled.body.request).to.include({ status: 'approved', timeLimitSeconds: 1800, decidedBy: 'approver t' });

      const approved = await ascend(as(approverFile, 'server', 'approval', 'list', '--status', 'approved'));
      ok(approved);
      expect(approved.stdout).to.match(/decided: +\S+Z by approver t, for 30m/);

      expectOneLineError(await ascend(as(approverFile, 'server', 'approval', 'approve', id)), 1, /HTTP 409.*decided already or expired/);
    });

    it('approve --json gives timeLimitSeconds; 3600s and 2h are taken', async () => {
      const id = await fileRequest('req-2');
      const j = json<{ request: { status: string; timeLimitSeconds: number } }>(await ascend(as(approverFile, 'server', 'approval', 'approve', id, '--time-limit', '3600s', '--json')));
      expect(j.request).to.include({ status: 'approved', timeLimitSeconds: 3600 });
      const id2 = await fileRequest('req-2b');
      const k = json<{ request: { timeLimitSeconds: number | null } }>(await ascend(as(approverFile, 'server', 'approval', 'approve', id2, '--time-limit', '2h', '--json')));
      expect(k.request.timeLimitSeconds).to.equal(7200);
    });

    it('a bad --time-limit is a usage error (exit 2) and decides nothing', async () => {
      const id = await fileRequest('req-3');
      for (const bad of ['soon', '0s', '31d', '-5m']) {
        expectOneLineError(await ascend(as(approverFile, 'server', 'approval', 'approve', id, '--time-limit', bad)), 2, /--time-limit/);
      }
      const polled = await agentCall(agent.credential, 'GET', '/api/v1/agent/approvals/req-3');
      expect((polled.body.request as { status: string }).status).to.equal('pending');
    });

    it('deny', async () => {
      const id = await fileRequest('req-4');
      const r = await ascend(as(approverFile, 'server', 'approval', 'deny', id));
      ok(r);
      expect(r.stdout).to.equal(`Denied ${id}: CORP\\alice on PC-APPROVE, C:\\Tools\\setup.exe.\n`);
      const polled = await agentCall(agent.credential, 'GET', '/api/v1/agent/approvals/req-4');
      expect((polled.body.request as { status: string }).status).to.equal('denied');
      const denied = json<{ requests: { id: string }[] }>(await ascend(as(approverFile, 'server', 'approval', 'list', '--status', 'denied', '--json')));
      expect(denied.requests.map((x) => x.id)).to.include(id);
      expectOneLineError(await ascend(as(approverFile, 'server', 'approval', 'deny', '00000000-0000-0000-0000-000000000000')), 1, /approval list" shows the pending ids/);
    });

    it('an empty list says so', async () => {
      const r = await ascend(as(approverFile, 'server', 'approval', 'list', '--status', 'expired'));
      ok(r);
      expect(r.stdout).to.equal('No expired approval requests.\n');
    });
  });

  describe('server mfa', () => {
    it('enroll prints the otpauth URI and the secret once; show; remove (a user with a backslash)', async () => {
      const r = await ascend(admin('server', 'mfa', 'enroll', '--user', 'CORP\\alice'));
      ok(r);
      expect(r.stdout).to.include('otpauth://totp/');
      expect(r.stdout).to.match(/^Secret: [A-Z2-7]{16,}$/m);
      expect(r.stdout).to.match(/privately/);

      const j = json<{ user: string; secret: string; otpauthUri: string }>(await ascend(admin('server', 'mfa', 'enroll', '--user', 'CORP\\bob', '--json')));
      expect(j.user).to.equal('CORP\\bob');
      expect(j.otpauthUri).to.match(/^otpauth:\/\/totp\//);
      expect(j.otpauthUri).to.include(`secret=${j.secret}`);

      const show = json(await ascend(as(viewerFile, 'server', 'mfa', 'show', '--user', 'CORP\\alice', '--json')));
      expect(show).to.include({ user: 'CORP\\alice', confirmedAt: null, lockedUntil: null });
      const human = await ascend(as(viewerFile, 'server', 'mfa', 'show', '--user', 'corp\\ALICE'));
      ok(human);
      expect(human.stdout).to.match(/^User: +CORP\\alice\nEnrolled: +\S+Z\nConfirmed: +not yet/);
      expect(human.stdout).to.not.include(j.secret);

      expectOneLineError(await ascend(as(viewerFile, 'server', 'mfa', 'remove', '--user', 'CORP\\alice')), 1, /needs the admin role/);
      const rm = await ascend(admin('server', 'mfa', 'remove', '--user', 'CORP\\alice'));
      ok(rm);
      expect(rm.stdout).to.equal('Removed the MFA enrollment of CORP\\alice.\n');
      expectOneLineError(await ascend(admin('server', 'mfa', 'show', '--user', 'CORP\\alice')), 1, /CORP\\alice is not enrolled for MFA.*mfa enroll/);
      expectOneLineError(await ascend(admin('server', 'mfa', 'remove', '--user', 'CORP\\alice')), 1, /not enrolled/);
      expect(json(await ascend(admin('server', 'mfa', 'remove', '--user', 'CORP\\bob', '--json')))).to.deep.equal({ user: 'CORP\\bob', removed: true });
    });
  });

  describe('server passcode and revocations', () => {
    let ascpass: string;
    let passcodeId: string;
    before(async () => {
      const pair = generateSigningKeyPair();
      const terms = buildTerms({ title: 'Printer driver for Bob', issuer: 'CORP\\helpdesk', maxUses: 3, duration: '1h' });
      passcodeId = terms.id;
      const token = await signPasscode(terms, importSigningKey(pair.privateKeyPkcs8Pem));
      ascpass = join(dir, 'bob.ascpass');
      writeFileSync(ascpass, formatAscpass(token, [['Id', terms.id], ['Title', terms.title]]), { mode: 0o600 });
    });

    it('register reads id, title and maxUses from the .ascpass file; list; revoke --reason; revocations', async () => {
      const reg = json<{ passcode: Record<string, unknown> }>(await ascend(admin('server', 'passcode', 'register', ascpass, '--json')));
      expect(reg.passcode).to.include({ id: passcodeId, title: 'Printer driver for Bob', maxUses: 3, uses: 0, revokedAt: null });
      expectOneLineError(await ascend(admin('server', 'passcode', 'register', ascpass)), 1, /registered already/);

      const list = await ascend(as(viewerFile, 'server', 'passcode', 'list'));
      ok(list);
      expect(list.stdout.split('\n')[0]).to.match(/^id\s+title\s+uses\s+revoked$/);
      expect(list.stdout).to.match(new RegExp(`${passcodeId}\\s+Printer driver for Bob\\s+0/3`));
      const lj = json<{ passcodes: { id: string }[] }>(await ascend(as(viewerFile, 'server', 'passcode', 'list', '--json')));
      expect(lj.passcodes.map((p) => p.id)).to.include(passcodeId);

      const rev = await ascend(admin('server', 'passcode', 'revoke', passcodeId, '--reason', 'laptop stolen'));
      ok(rev);
      expect(rev.stdout).to.equal(`Revoked passcode ${passcodeId} "Printer driver for Bob" after 0 uses.\n`);
      const offline = json(await ascend(admin('server', 'passcode', 'revoke', 'offline-1', '--json')));
      expect(offline).to.deep.equal({ id: 'offline-1', revoked: true, passcode: null });

      const revs = json<{ revocations: { kind: string; subject: string; reason: string | null; revokedAt: string }[] }>(await ascend(as(viewerFile, 'server', 'revocations', '--since', '1h', '--json')));
      expect(revs.revocations.find((x) => x.subject === passcodeId)).to.include({ kind: 'passcode', reason: 'laptop stolen' }).and.to.have.property('revokedAt').that.is.a('string');
      expect(revs.revocations.map((x) => x.subject)).to.include('offline-1');
      const human = await ascend(as(viewerFile, 'server', 'revocations'));
      ok(human);
      expect(human.stdout).to.match(new RegExp(`passcode\\s+${passcodeId}\\s+\\S+Z\\s+laptop stolen`));
      const future = json<{ revocations: unknown[] }>(await ascend(as(viewerFile, 'server', 'revocations', '--since', new Date(Date.now() + 3600_000).toISOString(), '--json')));
      expect(future.revocations).to.deep.equal([]);
      expectOneLineError(await ascend(as(viewerFile, 'server', 'revocations', '--since', 'yesterday')), 2, /--since/);
    });

    it('register refuses a file with no passcode', async () => {
      const bad = join(dir, 'bad.ascpass');
      writeFileSync(bad, 'nothing here\n');
      expectOneLineError(await ascend(admin('server', 'passcode', 'register', bad)), 1, /no passcode in the file/);
    });
  });

  describe('server sign-in, whoami, sign-out', () => {
    it('signs in with the password on stdin: a 0600 session file that works as --token-file; sign-out revokes it', async () => {
      const out = join(dir, 'session');
      const r = await ascend(['server', 'sign-in', '--server', url, '--user', 'CORP\\alice', '--out', out], {}, `${PASSWORD}\n`);
      ok(r);
      const token = readFileSync(out, 'utf8').trim();
      expect(token).to.match(/^\S{20,}$/);
      if (posix) expect(mode(out)).to.equal(0o600);
      expect(r.stdout).to.not.include(token);
      expect(r.stdout).to.match(/^Signed in as CORP\\alice \(approver\); the session expires \S+Z \(in (8h|7h59m)\)\.\n/);

      const who = json(await ascend(as(out, 'server', 'whoami', '--json')));
      expect(who).to.include({ name: 'CORP\\alice', role: 'approver', source: 'ad' });
      const whoHuman = await ascend(as(out, 'server', 'whoami'));
      expect(whoHuman.stdout).to.match(/^CORP\\alice \(approver\), Active Directory session, expires \S+Z \(in (8h|7h\d{1,2}m)\)\n$/);

      const so = await ascend(as(out, 'server', 'sign-out'));
      ok(so);
      expect(so.stdout).to.match(/^Signed out CORP\\alice: the session in .*session no longer works\.\n$/);
      expectOneLineError(await ascend(as(out, 'server', 'whoami')), 1, /HTTP 401/);
    });

    it('--json; ASCEND_PASSWORD; replaces an earlier session file of ours with mode 0600', async () => {
      const out = join(dir, 'session-2');
      writeFileSync(out, 'old session\n', { mode: 0o644 });
      const r = await ascend(['server', 'sign-in', '--server', url, '--user', 'corp\\alice', '--out', out, '--json'], { ASCEND_PASSWORD: PASSWORD });
      const j = json<Record<string, unknown>>(r);
      expect(Object.keys(j).sort()).to.deep.equal(['expiresAt', 'file', 'name', 'role']);
      expect(j).to.include({ name: 'CORP\\alice', role: 'approver', file: out });
      expect(readFileSync(out, 'utf8')).to.not.equal('old session\n');
      if (posix) expect(mode(out)).to.equal(0o600);
      expect(r.stdout).to.not.include(readFileSync(out, 'utf8').trim());
    });

    it('takes --password-file of mode 0600', async () => {
      const pw = join(dir, 'password');
      writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
      const out = join(dir, 'session-3');
      ok(await ascend(['server', 'sign-in', '--server', url, '--user', 'CORP\\alice', '--password-file', pw, '--out', out]));
      expect(existsSync(out)).to.equal(true);
    });

    it('refuses a --password-file open to group or others (POSIX file modes: skipped on Windows, which has none)', async function () {
      if (!posix) this.skip();
      const pw = join(dir, 'password-open');
      writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
      chmodSync(pw, 0o644);
      const out2 = join(dir, 'session-4');
      expectOneLineError(
        await ascend(['server', 'sign-in', '--server', url, '--user', 'CORP\\alice', '--password-file', pw, '--out', out2]),
        1,
        /the password file has mode 644, open to group or others \(run chmod 600 .*password-open\)/,
      );
      expect(existsSync(out2)).to.equal(false);
    });

    it('a wrong password: the server answers 401, one line, no file', async () => {
      const out = join(dir, 'session-wrong');
      const r = await ascend(['server', 'sign-in', '--server', url, '--user', 'CORP\\alice', '--out', out], { ASCEND_PASSWORD: 'wrong' });
      expectOneLineError(r, 1, /HTTP 401.*user name or password is wrong.*\(check the user name and password\)/);
      expect(existsSync(out)).to.equal(false);
      const j = await ascend(['server', 'sign-in', '--server', url, '--user', 'CORP\\alice', '--out', out, '--json'], { ASCEND_PASSWORD: 'wrong' });
      expect(j.status).to.equal(1);
      expect(JSON.parse(j.stdout).error.code).to.equal('ASC_COLLECTOR_UNAUTHENTICATED');
    });

    it('refuses to write through a symbolic link, and an empty password', async () => {
      const target = join(dir, 'link-target');
      writeFileSync(target, 'untouched\n', { mode: 0o600 });
      const link = join(dir, 'session-link');
      symlinkSync(target, link);
      expectOneLineError(await ascend(['server', 'sign-in', '--server', url, '--user', 'CORP\\alice', '--out', link], { ASCEND_PASSWORD: PASSWORD }), 1, /symbolic link/);
      expect(readFileSync(target, 'utf8')).to.equal('untouched\n');
      expect(lstatSync(link).isSymbolicLink()).to.equal(true);

      expectOneLineError(await ascend(['server', 'sign-in', '--server', url, '--user', 'CORP\\alice', '--out', join(dir, 'never')]), 2, /password from stdin is empty/);
    });

    it('sign-out refuses to revoke an API token that is no session unless --force', async () => {
      expectOneLineError(await ascend(admin('server', 'sign-out')), 2, /not a sign-in session.*--force/);
      expect(json(await ascend(admin('server', 'whoami', '--json'))).name).to.equal('t');
      const made = json<{ token: string }>(await ascend(admin('server', 'token', 'create', '--name', 'throwaway', '--role', 'viewer', '--json')));
      const file = writeToken('throwaway', made.token);
      expect(json(await ascend(as(file, 'server', 'sign-out', '--force', '--json')))).to.deep.equal({ signedOut: true, name: 'throwaway', source: 'token' });
      expectOneLineError(await ascend(as(file, 'server', 'whoami')), 1, /HTTP 401/);
    });

    it('sign-in is refused when the server has no sign-in configured', async () => {
      const store2 = await SqliteStore.open(join(dir, 'data2'));
      const app2 = buildServer({ store: store2, ...tls.serverOptions });
      await app2.listen({ port: 0, host: '127.0.0.1' });
      try {
        const addr = app2.server.address();
        if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
        const r = await ascend(['server', 'sign-in', '--server', `https://127.0.0.1:${addr.port}`, '--user', 'CORP\\alice', '--out', join(dir, 'nope')], { ASCEND_PASSWORD: PASSWORD });
        expectOneLineError(r, 1, /not configured.*use an API token/);
      } finally {
        await app2.close();
      }
    });
  });

  it('never prints the admin token', async () => {
    const r = await ascend(admin('server', 'token', 'list'));
    ok(r);
    expect(r.stdout + r.stderr).to.not.include(adminToken);
  });
});
