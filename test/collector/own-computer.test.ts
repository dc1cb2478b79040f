/**
 * Issue 13, finding 3: agents act only for their own computer. A real collector (buildServer
 * in-process) over each real store, SQLite in a temp folder and PostgreSQL
 * (test/support/postgres.ts): computer names are bound at enrollment (tokens may name them,
 * a held name is refused until revoked), MFA lockouts count per (user, computer) with a
 * domain-wide backstop, and a passcode is redeemed only by an agent on a computer its terms
 * name, without spending a use otherwise. Plus the migration of a database that already holds
 * two live agents under one name.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { Secret, TOTP } from 'otpauth';
import { buildServer } from '../../src/collector/server/index.js';
import { type Driver, PostgresDriver, SqliteDriver } from '../../src/collector/storage/driver.js';
import { type CollectorStore, MIGRATIONS, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { migrate } from '../../src/collector/storage/migrations.js';
import { checkComputerName, computerKey, passcodeAllowsComputer, sameComputer } from '../../src/collector/computer-name.js';
import { isAscendError } from '../../src/errors.js';
import { buildTerms, generateSigningKeyPair, importSigningKey, signPasscode } from '../../src/passcode/index.js';
import { formatAscpass } from '../../src/passcode-keys/index.js';
import { getTestPostgres } from '../support/postgres.js';
import { testTls } from '../support/tls.js';
import { expectTimeIn, windowStart } from '../support/time-window.js';

/** Locks last the default mfaLockMs (15 minutes) from the failure that set them. */
const LOCK_MS = 15 * 60_000;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ascend-h3-'));
  tempDirs.push(d);
  return d;
}

interface Answer {
  statusCode: number;
  body: string;
  json(): any;
}

function expectError(r: Answer, status: number, code: string): string {
  expect(r.statusCode, r.body).to.equal(status);
  const body = r.json();
  expect(body.error.code, r.body).to.equal(code);
  return body.error.message as string;
}

/** The TOTP code of `secret` at `at` (ms). */
function totp(secret: string, at = Date.now()): string {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: at });
}

/** A code that is not the right one now (nor one step either side). */
function wrongCode(secret: string): string {
  const now = Date.now();
  const near = new Set([totp(secret, now - 30_000), totp(secret, now), totp(secret, now + 30_000)]);
  for (let n = 0; ; n++) {
    const c = String(123456 + n * 7919).padStart(6, '0').slice(-6);
    if (!near.has(c)) return c;
  }
}

function ownComputerSuite(name: string, openStore: (ctx: Mocha.Context) => Promise<CollectorStore>): void {
  describe(`h3 agents act only for their own computer: ${name}`, function () {
    this.timeout(60_000);
    let store: CollectorStore;
    let app: FastifyInstance;
    let admin: string;

    beforeEach(async function () {
      store = await openStore(this);
      // A small backstop so the test reaches it: 12 wrong codes across computers within an hour.
      app = buildServer({ store, logger: false, rateLimit: false, settings: { mfaMaxFailures: 5, mfaBackstopFailures: 12, mfaBackstopWindowMs: 3600_000 } });
      await app.ready();
      admin = (await store.createApiToken('admin', 'h3 admin')).token;
    });
    afterEach(async () => {
      await app.close(); // closes the store too
    });

    function call(method: 'GET' | 'POST', url: string, auth?: string, payload?: object): Promise<Answer> {
      return app.inject({ method, url, ...(payload === undefined ? {} : { payload }), headers: auth ? { authorization: `Bearer ${auth}` } : {} }) as Promise<Answer>;
    }

    async function token(body: object = {}): Promise<{ token: string; uses: number; computers: string[] }> {
      const r = await call('POST', '/api/v1/enroll-tokens', admin, body);
      expect(r.statusCode, r.body).to.equal(201);
      return r.json();
    }

    function enroll(enrollmentToken: string, computer: string): Promise<Answer> {
      return call('POST', '/api/v1/enroll', undefined, { enrollmentToken, computer });
    }

    async function agentOn(computer: string): Promise<{ agentId: string; credential: string }> {
      const r = await enroll((await token()).token, computer);
      expect(r.statusCode, r.body).to.equal(201);
      return r.json();
    }

    describe('computer names bound at enrollment', () => {
      it('h3: a token naming PC-A refuses PC-B (spending no use) and enrolls PC-A', async () => {
        const t = await token({ computers: ['PC-A'] });
        expect(t).to.include({ uses: 1 });
        expect(t.computers).to.deep.equal(['PC-A']);
        expect(expectError(await enroll(t.token, 'PC-B'), 403, 'ASC_COLLECTOR_ENROLL_REFUSED')).to.include('PC-B');
        const ok = await enroll(t.token, 'pc-a');
        expect(ok.statusCode, ok.body).to.equal(201);
        expect(ok.json().computer).to.equal('pc-a');
        // The one use is spent now.
        expectError(await enroll(t.token, 'PC-A'), 403, 'ASC_COLLECTOR_ENROLL_REFUSED');
      });

      it('h3: a token naming several computers gets one use each and enrolls only them', async () => {
        const t = await token({ computers: ['PC-1', 'pc-2.corp.example', 'PC-1 '] });
        expect(t.uses).to.equal(2);
        expect(t.computers).to.deep.equal(['PC-1', 'pc-2.corp.example']);
        expectError(await enroll(t.token, 'PC-3'), 403, 'ASC_COLLECTOR_ENROLL_REFUSED');
        expectError(await enroll(t.token, 'pc-2.evil.example'), 403, 'ASC_COLLECTOR_ENROLL_REFUSED');
        expect((await enroll(t.token, 'PC-2')).statusCode, 'the NetBIOS form of a named DNS name').to.equal(201);
        expect((await enroll(t.token, 'pc-1.corp.example')).statusCode, 'the DNS form of a named NetBIOS name').to.equal(201);
        expect(expectError(await call('POST', '/api/v1/enroll-tokens', admin, { computers: ['PC\u0007BEL'] }), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('computers[0]');
      });

      it('h3: a second agent can not enroll as PC-A (in any spelling) while the first holds it, and can after revoke', async () => {
        const first = await agentOn('PC-A');
        const t = await token({ uses: 1 });
        for (const name of ['PC-A', 'pc-a', ' PC-A ', 'PC-A.', 'pc-a.corp.example', 'ＰＣ-Ａ']) {
          const message = expectError(await enroll(t.token, name), 409, 'ASC_COLLECTOR_COMPUTER_TAKEN');
          expect(message, name).to.include(`ascend server agent revoke ${first.agentId}`);
        }
        // None of the refusals spent the token's one use; and PC-B is free.
        const revoke = await call('POST', `/api/v1/agents/${first.agentId}/revoke`, admin, { reason: 'reinstalled' });
        expect(revoke.statusCode, revoke.body).to.equal(200);
        const again = await enroll(t.token, 'pc-a');
        expect(again.statusCode, again.body).to.equal(201);
        const agents = (await call('GET', '/api/v1/agents', admin)).json().agents as { id: string; revokedAt: string | null; holdsName: boolean }[];
        expect(agents.filter((a) => a.revokedAt === null).map((a) => a.id)).to.deep.equal([again.json().agentId]);
        expect(agents.map((a) => [a.id, a.holdsName])).to.deep.equal([[first.agentId, false], [again.json().agentId, true]]);
      });

      it('h3: names that are no computer name are refused', async () => {
        const t = await token({ uses: 10 });
        for (const name of ['PC\u0000A', 'PC\u001bA', 'PC\u200bA', 'PC A', 'PC-*', 'PC?', 'CORP\\PC-A', 'S-1-5-21-1-2-3-1001', '.corp', 'pc..corp', 'x'.repeat(254)]) {
          expectError(await enroll(t.token, name), 400, 'ASC_COLLECTOR_BAD_INPUT');
        }
        expect((await enroll(t.token, 'PC-OK')).statusCode).to.equal(201);
      });

      it('h3: 16 agents racing to enroll as one name: exactly one wins, the others are told why', async () => {
        const tokens = await Promise.all(Array.from({ length: 16 }, () => store.createEnrollmentToken({ uses: 1 })));
        const results = await Promise.allSettled(tokens.map((t, i) => store.enrollAgent(t.token, i % 2 === 0 ? 'PC-RACE' : 'pc-race')));
        expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
        for (const r of results) {
          if (r.status === 'rejected') expect(isAscendError(r.reason) ? r.reason.code : String(r.reason)).to.equal('ASC_COLLECTOR_COMPUTER_TAKEN');
        }
        expect((await store.listAgents()).filter((a) => computerKey(a.computer) === 'pc-race')).to.have.length(1);
      });
    });

    describe('MFA lockouts per (user, computer)', () => {
      async function enrollMfa(user: string): Promise<string> {
        const r = await call('POST', '/api/v1/mfa/enrollments', admin, { user });
        expect(r.statusCode, r.body).to.equal(201);
        return r.json().secret as string;
      }
      const verify = (agent: { credential: string }, user: string, code: string) => call('POST', '/api/v1/agent/mfa/verify', agent.credential, { user, code });

      it('h3: six wrong codes from an agent on PC-B do not lock alice on PC-A', async () => {
        const secret = await enrollMfa('h3alice');
        const onA = await agentOn('PC-A');
        const onB = await agentOn('PC-B');
        const wrong = wrongCode(secret);
        for (let i = 0; i < 4; i++) expect((await verify(onB, 'h3alice', wrong)).json(), `wrong code ${i + 1}`).to.include({ verified: false, reason: 'wrong-code' });
        const fifthWindow = windowStart();
        const fifth = (await verify(onB, 'h3alice', wrong)).json();
        expect(fifth).to.include({ verified: false });
        expectTimeIn(fifth.lockedUntil, fifthWindow, 'the fifth locks alice on PC-B: lockedUntil', LOCK_MS);
        expectError(await verify(onB, 'h3alice', wrong), 429, 'ASC_COLLECTOR_RATE_LIMITED');
        // On PC-A alice is not locked: her right code passes.
        const onAAnswer = await verify(onA, 'h3alice', totp(secret));
        expect(onAAnswer.statusCode, onAAnswer.body).to.equal(200);
        expect(onAAnswer.json()).to.include({ verified: true });
        // And PC-B stays locked for her, also with a right code.
        expectError(await verify(onB, 'h3alice', totp(secret, Date.now() + 30_000)), 429, 'ASC_COLLECTOR_RATE_LIMITED');
        const shown = (await call('GET', '/api/v1/mfa/enrollments/h3alice', admin)).json();
        expect(shown.lockedUntil, 'not locked everywhere').to.equal(null);
        expect(shown.lockedOn.map((l: { computer: string }) => l.computer)).to.deep.equal(['pc-b']);
      });

      it('h3: the domain-wide backstop locks alice everywhere after its count of wrong codes across computers', async () => {
        const secret = await enrollMfa('h3alice');
        const onA = await agentOn('PC-A');
        const fleet = await Promise.all(['PC-F1', 'PC-F2', 'PC-F3'].map((c) => agentOn(c)));
        const wrong = wrongCode(secret);
        // Four wrong codes from each of three computers: below each computer's lock (5), 12 in all = the backstop.
        let last: any;
        let lastWindow = windowStart();
        for (const agent of fleet) {
          for (let i = 0; i < 4; i++) {
            lastWindow = windowStart();
            last = (await verify(agent, 'h3alice', wrong)).json();
          }
        }
        const until = expectTimeIn(last.lockedUntil, lastWindow, 'the twelfth wrong code locks alice domain-wide: lockedUntil', LOCK_MS);
        expectError(await verify(onA, 'h3alice', totp(secret)), 429, 'ASC_COLLECTOR_RATE_LIMITED');
        const shown = (await call('GET', '/api/v1/mfa/enrollments/h3alice', admin)).json();
        expect(Date.parse(shown.lockedUntil), 'the admin sees the domain-wide lock').to.equal(until);
        // Re-enrolling the user (the admin's remedy) clears every lock.
        const fresh = await enrollMfa('h3alice');
        expect((await verify(onA, 'h3alice', totp(fresh))).json()).to.include({ verified: true });
      });
    });

    describe('passcode redemption only for the computers of its terms', () => {
      const redeem = (agent: { credential: string }, id: string) => call('POST', `/api/v1/agent/passcodes/${id}/redeem`, agent.credential);
      const uses = async (id: string) => (await call('GET', `/api/v1/passcodes/${id}`, admin)).json().passcode.uses as number;

      it("h3: a passcode for PC-A can not be redeemed by PC-B's agent, and its uses are unchanged", async () => {
        const onA = await agentOn('PC-A');
        const onB = await agentOn('PC-B');
        // Through the store, so that the same steps run on the code before this change (the API field is new).
        await store.registerPasscode({ id: 'h3-pc-a', title: 'PC-A only', maxUses: 2, computers: ['PC-A'] });
        for (let i = 0; i < 3; i++) expect((await redeem(onB, 'h3-pc-a')).json()).to.include({ ok: false, reason: 'wrong-computer' });
        expect(await uses('h3-pc-a')).to.equal(0);
        expect((await call('GET', '/api/v1/passcodes/h3-pc-a', admin)).json().passcode.computers).to.deep.equal(['PC-A']);
        expect((await redeem(onA, 'h3-pc-a')).json()).to.include({ ok: true, uses: 1 });
        expect((await redeem(onA, 'h3-pc-a')).json()).to.include({ ok: true, uses: 2 });
        expect((await redeem(onA, 'h3-pc-a')).json()).to.include({ ok: false, reason: 'spent' });
      });

      it('h3: patterns, domain-wide passcodes, SID-only terms, and registrations without computers', async () => {
        const onA = await agentOn('pc-a.corp.example');
        const onB = await agentOn('PC-B');
        const register = (id: string, computers: string[] | undefined) =>
          call('POST', '/api/v1/passcodes', admin, { id, title: id, maxUses: 10, ...(computers === undefined ? {} : { computers }) });
        expect((await register('h3-any', [])).statusCode).to.equal(201);
        expect((await register('h3-wild', ['PC-?'])).statusCode).to.equal(201);
        expect((await register('h3-sid', ['S-1-5-21-1-2-3-1001'])).statusCode).to.equal(201);
        expect(expectError(await register('h3-none', undefined), 400, 'ASC_COLLECTOR_BAD_INPUT')).to.include('computers');
        expect((await redeem(onB, 'h3-any')).json(), 'empty = any computer').to.include({ ok: true });
        expect((await redeem(onA, 'h3-wild')).json(), 'a pattern without a dot matches the first label').to.include({ ok: true });
        expect((await redeem(onB, 'h3-wild')).json()).to.include({ ok: true });
        expect((await redeem(onA, 'h3-sid')).json(), 'the collector knows no machine SID: fail closed').to.include({ ok: false, reason: 'wrong-computer' });
        expect(await uses('h3-sid')).to.equal(0);
        // Registered without computers (an older Ascend): nobody's, until registered again with them.
        await store.registerPasscode({ id: 'h3-old', title: 'old', maxUses: 3 });
        expect((await redeem(onB, 'h3-old')).json()).to.include({ ok: false, reason: 'wrong-computer' });
        expect(await uses('h3-old')).to.equal(0);
        expect((await register('h3-old', ['PC-B'])).statusCode).to.equal(201);
        expectError(await register('h3-old', ['PC-A']), 409, 'ASC_COLLECTOR_CONFLICT');
        expect((await redeem(onB, 'h3-old')).json()).to.include({ ok: true, uses: 1 });
        expect((await redeem(onA, 'h3-old')).json()).to.include({ ok: false, reason: 'wrong-computer' });
      });

      it('h3: a revoked agent spends nothing', async () => {
        const onA = await agentOn('PC-A');
        await call('POST', '/api/v1/passcodes', admin, { id: 'h3-rev', title: 'x', maxUses: 1, computers: [] });
        await store.revokeAgent(onA.agentId);
        expect(await store.recordRedemption('h3-rev', onA.agentId)).to.deep.equal({ ok: false, reason: 'wrong-computer' });
        expect(await uses('h3-rev')).to.equal(0);
      });
    });
  });
}

/** Fills a version-2 database with two live agents named alike, then opens it with today's store. */
async function upgradeWithDuplicates(older: Driver, open: () => Promise<CollectorStore>): Promise<void> {
  await migrate(older, MIGRATIONS.filter((m) => m.version <= 2));
  const insert = 'INSERT INTO agents (id, computer, credential_hash, enrolled_at) VALUES (?, ?, ?, ?)';
  await older.run(insert, ['a-first', 'PC-DUP', 'h1', 1000]);
  await older.run(insert, ['a-second', 'pc-dup ', 'h2', 2000]);
  await older.run(insert, ['a-revoked', 'PC-DUP', 'h3', 500]);
  await older.run('UPDATE agents SET revoked_at = 600 WHERE id = ?', ['a-revoked']);
  await older.run(insert, ['a-odd', 'PC\u0007ODD', 'h4', 3000]);
  await older.close();
  const store = await open();
  try {
    expect(await store.appliedMigrations()).to.deep.equal(MIGRATIONS.map((m) => m.version));
    const agents = new Map((await store.listAgents()).map((a) => [a.id, a]));
    expect(agents.get('a-first')?.bound).to.equal(true);
    expect(agents.get('a-second')?.bound).to.equal(false);
    expect(agents.get('a-odd')?.bound, 'a stored name that is no computer name').to.equal(false);
    await store.registerPasscode({ id: 'h3-dup', title: 'dup', maxUses: 5, computers: ['PC-DUP'] });
    expect(await store.recordRedemption('h3-dup', 'a-second')).to.deep.equal({ ok: false, reason: 'wrong-computer' });
    expect(await store.recordRedemption('h3-dup', 'a-first')).to.deep.equal({ ok: true, uses: 1 });
    const t = await store.createEnrollmentToken({ uses: 1 });
    try {
      await store.enrollAgent(t.token, 'PC-DUP');
      expect.fail('a third PC-DUP enrolled');
    } catch (e) {
      expect(isAscendError(e) ? e.code : String(e)).to.equal('ASC_COLLECTOR_COMPUTER_TAKEN');
      expect((e as Error).message).to.include('a-first');
    }
  } finally {
    await store.close();
  }
}

ownComputerSuite('SQLite', async () => SqliteStore.open(tempDir()));
ownComputerSuite('PostgreSQL', async (ctx) => PostgresStore.open(await (await getTestPostgres(ctx)).createDatabase('h3')));

describe('h3 upgrading a database that holds duplicate computer names', () => {
  it('h3: SQLite: migrates without failing; the earliest keeps the name, the later one redeems nothing', async () => {
    const dir = tempDir();
    await upgradeWithDuplicates(new SqliteDriver(new Database(join(dir, 'collector.db'))), () => SqliteStore.open(dir));
  });
  it('h3: PostgreSQL: migrates without failing; the earliest keeps the name, the later one redeems nothing', async function () {
    this.timeout(60_000);
    const url = await (await getTestPostgres(this)).createDatabase('h3up');
    await upgradeWithDuplicates(new PostgresDriver(url), () => PostgresStore.open(url));
  });
});

describe('h3 computer names (pure)', () => {
  it('h3: normalises, folds and compares NetBIOS and DNS forms', () => {
    expect(checkComputerName('  PC-A.corp.example. ')).to.equal('PC-A.corp.example');
    expect(computerKey(checkComputerName('ＰＣ-Ａ'))).to.equal('pc-a');
    expect(computerKey('STRASSE')).to.equal(computerKey('straße'));
    expect(sameComputer('PC-A', 'pc-a.corp.example')).to.equal(true);
    expect(sameComputer('pc-a.corp.example', 'PC-A')).to.equal(true);
    expect(sameComputer('pc-a.corp.example', 'pc-a.evil.example')).to.equal(false);
    expect(sameComputer('PC-A', 'PC-AB')).to.equal(false);
    expect(passcodeAllowsComputer([], 'anything')).to.equal(true);
    expect(passcodeAllowsComputer(['S-1-5-21-1-2-3-1001'], 'PC-A')).to.equal(false);
  });
});

describe('h3 the admin CLI binds computers (built CLI against a real collector over TLS)', function () {
  this.timeout(120_000);
  let dir: string;
  let app: FastifyInstance;
  let url: string;
  let caFile: string;
  let adminFile: string;
  let fetchCa: Awaited<ReturnType<typeof testTls>>['fetch'];

  function ascend(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ASCEND_CA_FILE: caFile };
    delete env.ASCEND_TOKEN_FILE;
    return new Promise((done, fail) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args, '--server', url, '--token-file', adminFile], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (x: string) => (stdout += x));
      child.stderr.setEncoding('utf8').on('data', (x: string) => (stderr += x));
      child.on('error', fail);
      child.on('close', (status) => done({ status, stdout, stderr }));
    });
  }

  async function enroll(enrollmentToken: string, computer: string): Promise<{ status: number; body: any }> {
    const r = await fetchCa(`${url}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enrollmentToken, computer }) });
    return { status: r.status, body: await r.json() };
  }

  before(async () => {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'commands', 'server', 'enroll-token', 'create.js'))) throw new Error('the CLI is not built: run "npm run build"');
    dir = tempDir();
    const store = await SqliteStore.open(join(dir, 'data'));
    const tls = await testTls(join(dir, 'data'));
    caFile = tls.caFile;
    fetchCa = tls.fetch;
    app = buildServer({ store, logger: false, ...tls.serverOptions });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    adminFile = join(dir, 'admin-token');
    writeFileSync(adminFile, `${(await store.createApiToken('admin', 'h3 cli admin')).token}\n`, { mode: 0o600 });
  });
  after(async () => {
    await app?.close();
  });

  it('h3: enroll-token create --computer makes a token for those computers only; agent revoke frees a held name; passcode register sends the computers', async () => {
    const made = await ascend('server', 'enroll-token', 'create', '--computer', 'PC-A', '--computer', 'pc-b', '--json');
    expect(made.status, made.stderr).to.equal(0);
    const t = JSON.parse(made.stdout) as { token: string; uses: number; computers: string[] };
    expect(t.uses).to.equal(2);
    expect(t.computers).to.deep.equal(['PC-A', 'pc-b']);
    const human = await ascend('server', 'enroll-token', 'create', '--computer', 'PC-Z');
    expect(human.stdout).to.include('only for PC-Z');

    const refused = await enroll(t.token, 'PC-C');
    expect(refused.status).to.equal(403);
    expect(refused.body.error.code).to.equal('ASC_COLLECTOR_ENROLL_REFUSED');
    const first = await enroll(t.token, 'PC-A');
    expect(first.status, JSON.stringify(first.body)).to.equal(201);

    const again = await ascend('server', 'enroll-token', 'create', '--json');
    const any = (JSON.parse(again.stdout) as { token: string }).token;
    const taken = await enroll(any, 'pc-a');
    expect(taken.status).to.equal(409);
    expect(taken.body.error.code).to.equal('ASC_COLLECTOR_COMPUTER_TAKEN');
    const fix = /ascend server agent revoke (\S+)/.exec(taken.body.error.message as string);
    expect(fix?.[1]).to.equal(first.body.agentId);
    const revoked = await ascend('server', 'agent', 'revoke', fix?.[1] as string, '--reason', 'reinstalled');
    expect(revoked.status, revoked.stderr).to.equal(0);
    expect((await enroll(any, 'pc-a')).status).to.equal(201);

    const pair = generateSigningKeyPair();
    const terms = buildTerms({ title: 'For PC-A', issuer: 'CORP\\helpdesk', maxUses: 2, duration: '1h', computers: ['PC-A'] });
    const file = join(dir, 'pc-a.ascpass');
    writeFileSync(file, formatAscpass(await signPasscode(terms, importSigningKey(pair.privateKeyPkcs8Pem)), [['Id', terms.id]]), { mode: 0o600 });
    const reg = await ascend('server', 'passcode', 'register', file, '--json');
    expect(reg.status, reg.stderr).to.equal(0);
    expect((JSON.parse(reg.stdout) as { passcode: { computers: string[] } }).passcode.computers).to.deep.equal(['PC-A']);
  });
});
