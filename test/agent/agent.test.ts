/**
 * The agent as a user meets it, as root, with real parts: `ascend agent run --policy FILE`
 * (the built CLI), a real collector (`ascend server start`), an unprivileged user whose uid
 * the kernel gives the agent, and real ephemeral accounts. Rules and their controls
 * (JUSTIFY, MFA checked by the collector, APPROVAL waited for and run once), the blacklist,
 * and crashes: kill -9 of the agent with a collector outage, then both back.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import * as OTPAuth from 'otpauth';
import { requireComponent } from '../support/components.js';
import { ascend, bin, cliEnv, requireBuiltCli, root, type Run } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';
import { spooledEvents } from '../support/spool-events.js';

const USER = 'ascagtuser';

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

function rule(name: string, json: object) {
  return { name, value: JSON.stringify(json) };
}

function accountsWithPrefix(prefix: string): string[] {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/**
 * The accounts with `prefix` once none is left, or those left at a generous deadline: an
 * account is removed after the elevation's result goes out (agent/executor/linux.ts finish).
 */
async function accountsGone(prefix: string, deadlineMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + deadlineMs;
  while (accountsWithPrefix(prefix).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  return accountsWithPrefix(prefix);
}

/** type:processPath of every event in the agent's spool (read-only). */
function spooledTypes(stateDir: string): string[] {
  return spooledEvents(stateDir).map((e) => `${String(e.type)}:${String(e.processPath)}`);
}

function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, timeoutMs: number, seen: { text: string }): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(seen.text);
      if (m) {
        clearTimeout(timer);
        child[stream]?.off('data', check);
        resolve(m);
      }
    };
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}:\n${seen.text}`)), timeoutMs);
    child[stream]?.on('data', check);
    check();
  });
}

describe('agent: rules, controls through the collector, blacklist, crashes (root, real collector)', function () {
  this.timeout(240_000);
  const prefix = `ag${randomBytes(2).toString('hex')}_`;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let socket: string;
  let stateDir: string;
  let policyFile: string;
  let collector: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  const agentLog = { text: '' };
  let url = '';
  let port = '';
  let adminToken = '';
  let dataDir = '';
  const run = (...args: string[]): Run => ascend(args, env, tmp);

  const asUser = (args: string[], timeoutMs = 60_000, onStderr?: (text: string) => void): Promise<Outcome> =>
    new Promise((resolve) => {
      const child = spawn('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', '--', process.execPath, bin, ...args], {
        cwd: tmp,
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: tmp, NO_COLOR: '1', ASCEND_AGENT_SOCKET: socket },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        onStderr?.(stderr);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });

  async function startCollector(portArg: string): Promise<void> {
    collector = spawn(process.execPath, [bin, 'server', 'start', '--port', portArg, '--data', dataDir], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const seen = { text: '' };
    collector.stdout?.on('data', (d: Buffer) => (seen.text += d.toString()));
    collector.stderr?.on('data', (d: Buffer) => (seen.text += d.toString()));
    const m = await waitFor(collector, 'stdout', /listening on (https:\/\/127\.0\.0\.1:(\d+))/, 30_000, seen);
    url = m[1] as string;
    port = m[2] as string;
  }

  async function stopCollector(): Promise<void> {
    if (collector && collector.exitCode === null) {
      collector.kill('SIGTERM');
      await new Promise((r) => collector?.once('exit', r));
    }
  }

  async function startAgent(extra: string[] = []): Promise<void> {
    agentLog.text = '';
    agent = spawn(process.execPath, [bin, 'agent', 'run', '--state-dir', stateDir, '--socket', socket, '--policy', policyFile, '--computer', 'AGENT-PC', '--collector', url, ...extra], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stderr?.on('data', (d: Buffer) => (agentLog.text += d.toString()));
    await waitFor(agent, 'stderr', /agent listening on/, 60_000, agentLog);
  }

  /** The elevations the collector stored (its report), by event id. */
  function storedElevations(): { eventId: string; processPath: string }[] {
    const r = run('report', 'elevations', '--server', url, '--token-file', adminToken, '--computer', 'AGENT-PC', '--json');
    expect(r.status, r.stderr).to.equal(0);
    return r.json.rows;
  }

  before(async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent creates accounts)', 'run the tests as root');
    requireBuiltCli();
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-agent-'));
    chmodSync(tmp, 0o755);
    socket = path.join(tmp, 'agent.sock');
    stateDir = path.join(tmp, 'state');
    dataDir = path.join(tmp, 'collector');
    // Admin commands trust the collector's own CA (made at its first start in DATA/tls).
    env = cliEnv(tmp, { ASCEND_CA_FILE: path.join(dataDir, 'tls', 'ca.pem') });
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    const add = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', USER], { encoding: 'utf8' });
    expect(add.status, add.stderr).to.equal(0);

    policyFile = path.join(tmp, 'Registry.pol');
    // A program the user owns (read-only, but an owner can chmod): no rule may vouch for it.
    copyFileSync('/usr/bin/true', path.join(tmp, 'owned-tool'));
    chmodSync(path.join(tmp, 'owned-tool'), 0o555);
    expect(spawnSync('chown', [USER, path.join(tmp, 'owned-tool')]).status).to.equal(0);
    const key = run('keys', 'init', '--key-file', 'signing.pem', '--json');
    expect(key.status, key.stderr).to.equal(0);
    const entries = [
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'TemporarySessionElevation'), 'enabled', {
        TrustedKeys: [{ name: key.json.key.kid, value: key.json.key.publicKey }],
      }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
        Rules: [
          rule('id for everyone', { action: 'allow', match: { path: '/usr/bin/id' } }),
          rule('true with a reason', { action: 'allow', match: { path: '/usr/bin/true' }, controls: ['justify'] }),
          rule('env needs approval', { action: 'allow', match: { path: '/usr/bin/env' }, controls: ['approval'] }),
          rule('date needs mfa', { action: 'allow', match: { path: '/usr/bin/date' }, controls: ['mfa'] }),
          rule('stat needs mfa', { action: 'allow', match: { path: '/usr/bin/stat' }, controls: ['mfa'] }),
          rule('stat needs approval too', { action: 'allow', match: { path: '/usr/bin/stat' }, controls: ['approval'] }),
          rule('sleep for everyone', { action: 'allow', match: { path: '/usr/bin/sleep' } }),
          rule('uname user form', { action: 'allow', match: { path: '/usr/bin/uname', args: '-s' } }),
          rule('a tool the user owns', { action: 'allow', match: { path: path.join(tmp, 'owned-tool') } }),
        ],
      }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'BlacklistRules'), 'enabled', {
        Rules: [rule('no uname -a', { action: 'deny', match: { path: '/usr/bin/uname', args: '-a' } })],
      }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'Approvals'), 'enabled', { RequestTimeoutMinutes: 5, ApprovalValidMinutes: 15, JustificationMinLength: 12, MfaGraceMinutes: 0 }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: prefix, MaxLifetimeMinutes: 480, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
    ];
    writeFileSync(policyFile, writeRegistryPol(entries));

    await startCollector('0');
    adminToken = path.join(dataDir, 'bootstrap-admin-token');
    const enroll = run('server', 'enroll-token', 'create', '--server', url, '--token-file', adminToken, '--json');
    expect(enroll.status, enroll.stderr).to.equal(0);
    const tokenFile = path.join(tmp, 'enroll-token');
    writeFileSync(tokenFile, enroll.json.token, { mode: 0o600 });
    await startAgent(['--enroll-token-file', tokenFile]);
  });

  after(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent?.once('exit', r));
    }
    await stopCollector();
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    for (const name of accountsWithPrefix(prefix)) spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('elevates what a rule allows, as an ephemeral account in the admin group, and removes the account', async () => {
    const r = await asUser(['elevate', '--', 'id', '-Gn']);
    expect(r.status, r.stderr + agentLog.text).to.equal(0);
    expect(r.stdout.trim().split(' ')).to.include('sudo');
    const who = await asUser(['elevate', '--', 'id', '-un']);
    expect(who.stdout.trim()).to.match(new RegExp(`^${prefix}[0-9a-f]{12}$`));
    expect(await accountsGone(prefix)).to.deep.equal([]);
  });

  it('passes the exit status through, and refuses with one line what no rule allows', async () => {
    const failing = await asUser(['elevate', '--', 'id', '--no-such-option']);
    expect(failing.status).to.equal(1);
    expect(failing.stderr).to.match(/id: unrecognized option/);
    const none = await asUser(['elevate', '--', 'ls', '/root']);
    expect(none.status).to.equal(1);
    expect(none.stderr.trim()).to.equal('Error: /usr/bin/ls is not elevated: no elevation rule matches and no TSE session is active (redeem a passcode (ascend tse redeem FILE) or ask an admin for a rule)');
  });

  it('refuses a program the user could change, even when a rule names it', async () => {
    const r = await asUser(['elevate', '--', path.join(tmp, 'owned-tool')]);
    expect(r.status).to.equal(1);
    expect(r.stderr.trim()).to.match(new RegExp(`^Error: ${path.join(tmp, 'owned-tool')} is not elevated: ${path.join(tmp, 'owned-tool')} is owned by ${USER} \\(uid \\d+\\), not root; a rule elevates only a program that only root can change$`));
  });

  it('command-line granularity: `uname -s` is allowed while the blacklist denies `uname -a`', async () => {
    const allowed = await asUser(['elevate', '--', 'uname', '-s']);
    expect(allowed.status, allowed.stderr).to.equal(0);
    expect(allowed.stdout.trim()).to.equal('Linux');
    const denied = await asUser(['elevate', '--', 'uname', '-a']);
    expect(denied.status).to.equal(1);
    expect(denied.stderr.trim()).to.equal('Error: /usr/bin/uname is not elevated: denied by no uname -a');
  });

  it('JUSTIFY: refuses without a reason or with one shorter than the policy minimum, runs with one', async () => {
    const without = await asUser(['elevate', '--', 'true']);
    expect(without.status).to.equal(1);
    expect(without.stderr.trim()).to.equal('Error: true with a reason requires a justification of at least 12 characters (pass --justify "why you need it")');
    const short = await asUser(['elevate', '--justify', 'because', '--', 'true']);
    expect(short.status).to.equal(1);
    expect(short.stderr.trim()).to.equal(without.stderr.trim());
    const ok = await asUser(['elevate', '--justify', 'ticket 4711 printer', '--', 'true']);
    expect(ok.status, ok.stderr).to.equal(0);
  });

  it('APPROVAL: shows that it waits, runs once an approver approves, and a denial refuses', async () => {
    let requestShown = '';
    const pending = asUser(['elevate', '--justify', 'needs the environment', '--', 'env'], 90_000, (text) => {
      const m = /waiting for approval of request (\S+)/.exec(text);
      if (m) requestShown = m[1] as string;
    });
    let id = '';
    let asked = '';
    for (let i = 0; i < 100 && id === ''; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const list = run('server', 'approval', 'list', '--server', url, '--token-file', adminToken, '--status', 'pending', '--json');
      const req = (list.json?.requests ?? []).find((x: { processPath: string }) => x.processPath === '/usr/bin/env');
      if (req) (id = req.id), (asked = req.requestId);
    }
    expect(id, 'the request reached the collector').to.not.equal('');
    const approve = run('server', 'approval', 'approve', id, '--server', url, '--token-file', adminToken);
    expect(approve.status, approve.stderr).to.equal(0);
    const done = await pending;
    expect(done.status, done.stderr).to.equal(0);
    expect(requestShown, 'the user is shown the request the approver sees').to.equal(asked);
    // A clean environment: the elevated env sees the account's HOME and a fixed PATH, nothing of the caller's.
    expect(done.stdout).to.match(/^PATH=\/usr\/local\/sbin:/m);
    expect(done.stdout).to.not.include('ASCEND_AGENT_SOCKET');

    const second = asUser(['elevate', '--', 'env'], 90_000);
    let id2 = '';
    for (let i = 0; i < 100 && id2 === ''; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const list = run('server', 'approval', 'list', '--server', url, '--token-file', adminToken, '--status', 'pending', '--json');
      id2 = (list.json?.requests ?? []).find((x: { processPath: string }) => x.processPath === '/usr/bin/env')?.id ?? '';
    }
    expect(run('server', 'approval', 'deny', id2, '--server', url, '--token-file', adminToken).status).to.equal(0);
    const refused = await second;
    expect(refused.status).to.equal(1);
    expect(refused.stderr).to.match(/Error: approval request \S+ was denied by /);
  });

  it('MFA: the collector checks the TOTP code; a wrong or replayed code refuses', async () => {
    const enrolled = run('server', 'mfa', 'enroll', '--user', USER, '--server', url, '--token-file', adminToken, '--json');
    expect(enrolled.status, enrolled.stderr).to.equal(0);
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(enrolled.json.secret), digits: 6, period: 30 });
    const missing = await asUser(['elevate', '--', 'date']);
    expect(missing.stderr.trim()).to.equal('Error: date needs mfa requires MFA (pass --otp CODE from your authenticator app)');
    const wrong = await asUser(['elevate', '--otp', '000000', '--', 'date']);
    expect(wrong.status).to.equal(1);
    expect(wrong.stderr).to.match(/the MFA code was refused/);
    const code = totp.generate();
    const ok = await asUser(['elevate', '--otp', code, '--', 'date', '+%Y']);
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout.trim()).to.match(/^\d{4}$/);
    const replay = await asUser(['elevate', '--otp', code, '--', 'date']);
    expect(replay.status).to.equal(1);
    expect(replay.stderr).to.match(/the MFA code was refused \(replayed\)/);
  });

  it('stacked controls: MFA from one rule and APPROVAL from another are both required', async () => {
    const pendingStat = () =>
      (run('server', 'approval', 'list', '--server', url, '--token-file', adminToken, '--status', 'pending', '--json').json.requests as { id: string; processPath: string }[]).filter(
        (x) => x.processPath === '/usr/bin/stat',
      );
    const noOtp = await asUser(['elevate', '--', 'stat', '/']);
    expect(noOtp.status).to.equal(1);
    expect(noOtp.stderr.trim()).to.match(/requires MFA/);
    expect(pendingStat(), 'no approval asked before MFA passed').to.deep.equal([]);
    // A right code (a fresh enrollment, so this test does not depend on the MFA test's codes):
    // MFA passes, and the elevation still waits for an approver; it runs once approved.
    const enrolled = run('server', 'mfa', 'enroll', '--user', USER, '--server', url, '--token-file', adminToken, '--json');
    expect(enrolled.status, enrolled.stderr).to.equal(0);
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(enrolled.json.secret), digits: 6, period: 30 });
    let told = '';
    let finished = false;
    const pending = asUser(['elevate', '--otp', totp.generate(), '--', 'stat', '-c', '%n', '/'], 90_000, (text) => (told = text)).finally(() => (finished = true));
    let asked: { id: string }[] = [];
    for (let i = 0; i < 300 && (asked.length === 0 || !/waiting for approval/.test(told)) && !finished; i++) {
      await new Promise((r) => setTimeout(r, 200));
      asked = pendingStat();
    }
    expect(asked, `an approval is asked once MFA passed (the user was told: ${told.trim()})`).to.have.length(1);
    expect(told).to.match(/waiting for approval of request \S+/);
    expect(finished, 'the program waits for the approver').to.equal(false);
    expect(run('server', 'approval', 'approve', (asked[0] as { id: string }).id, '--server', url, '--token-file', adminToken).status).to.equal(0);
    const done = await pending;
    expect(done.status, done.stderr).to.equal(0);
    expect(done.stdout).to.equal('/\n');
  });

  // Before the TSE test: inside a TSE session anything runs elevated, MFA or not.
  it('issue 13 finding 1: with the collector down, a user listening on its port grants nothing, gets no credential, and swallows no event', async () => {
    const before = storedElevations().length;
    await stopCollector();
    // The unprivileged user takes the collector's port: plain http first, then https with a certificate of their own.
    const fakeScript = `
      const fs = require('node:fs'); const http = require('node:http'); const https = require('node:https');
      const [port, log, cert, key] = process.argv.slice(1);
      const handler = (req, res) => { let b = ''; req.on('data', (c) => (b += c)); req.on('end', () => {
        fs.appendFileSync(log, JSON.stringify({ url: req.url, authorization: req.headers.authorization ?? null, body: b }) + '\\n');
        const yes = { verified: true, user: '${USER}', ok: true, uses: 1, maxUses: null, stored: 1, accepted: 1, revocations: [],
          request: { requestId: 'x', status: 'approved', decidedBy: 'fake-approver', user: '${USER}', processPath: '/usr/bin/env', args: '', usedAt: new Date().toISOString() } };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(yes)); }); };
      const server = cert ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, handler) : http.createServer(handler);
      server.listen(Number(port), '127.0.0.1', () => console.log('fake listening'));`;
    const fakeLog = path.join(tmp, 'fake-collector.log');
    writeFileSync(fakeLog, '');
    chmodSync(fakeLog, 0o666);
    spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(tmp, 'fake.key'), '-out', path.join(tmp, 'fake.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    chmodSync(path.join(tmp, 'fake.key'), 0o644);
    for (const tls of [false, true]) {
      const args = ['-e', fakeScript, port, fakeLog, ...(tls ? [path.join(tmp, 'fake.pem'), path.join(tmp, 'fake.key')] : [])];
      const fake = spawn('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', '--', process.execPath, ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
      const fakeOut = { text: '' };
      fake.stdout?.on('data', (d: Buffer) => (fakeOut.text += d.toString()));
      fake.stderr?.on('data', (d: Buffer) => (fakeOut.text += d.toString()));
      await waitFor(fake, 'stdout', /fake listening/, 30_000, fakeOut);
      try {
        // MFA with a wrong code: the fake says "verified"; the agent cannot authenticate it and refuses.
        const mfa = await asUser(['elevate', '--otp', '000000', '--', 'date']);
        expect(mfa.status, mfa.stderr).to.equal(1);
        expect(mfa.stderr).to.match(tls ? /MFA could not be checked: .*is not the trusted collector: its certificate failed verification/ : /MFA could not be checked: cannot reach the collector/);
        // APPROVAL: the fake says "approved by fake-approver"; nothing runs.
        const approval = await asUser(['elevate', '--justify', 'needs the environment', '--', 'env'], 90_000);
        expect(approval.status, approval.stderr).to.equal(1);
        expect(approval.stdout).to.not.match(/^PATH=/m);
        expect(approval.stderr).to.not.match(/approved by fake-approver/);
        // An elevation that needs no collector still runs; its event waits in the spool.
        expect((await asUser(['elevate', '--', 'id', '-u'])).status).to.equal(0);
      } finally {
        fake.kill('SIGTERM');
        await new Promise((r) => fake.once('exit', r));
      }
    }
    // Whatever reached the fake: never the agent's credential, never an event.
    const seen = readFileSync(fakeLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { url: string; authorization: string | null; body: string });
    expect(seen.filter((r) => r.authorization !== null), 'the credential never reached the fake').to.deep.equal([]);
    expect(seen.filter((r) => r.url.includes('/events')), 'no event was handed to the fake').to.deep.equal([]);
    // The real collector back on its port: the two elevations made meanwhile arrive. (The agent
    // is restarted only so its upload back-off, grown during the outage, does not make the test wait.)
    await startCollector(port);
    agent?.kill('SIGTERM');
    await new Promise((r) => agent?.once('exit', r));
    await startAgent();
    let rows: { eventId: string; processPath: string }[] = [];
    for (let i = 0; i < 60; i++) {
      rows = storedElevations();
      if (rows.length >= before + 2) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(rows.length).to.equal(before + 2);
  });

  it('TSE: the blacklist still applies in a session; offline use not allowed needs the collector; a spent passcode stays spent across restarts', async () => {
    const issued = run('passcode', 'new', '--title', 'one use', '--max-uses', '1', '--duration', '10m', '--out', 'once.ascpass', '--json');
    expect(issued.status, issued.stderr).to.equal(0);
    chmodSync(path.join(tmp, 'once.ascpass'), 0o644);
    // OfflinePasscodes is not Enabled, and the collector does not know the passcode: it can not confirm it.
    const unknown = await asUser(['tse', 'redeem', 'once.ascpass']);
    expect(unknown.status).to.equal(1);
    expect(unknown.stderr.trim(), unknown.stderr).to.match(/^Error: passcode "one use" \(\S+\): the collector does not know it/);
    expect(run('server', 'passcode', 'register', 'once.ascpass', '--server', url, '--token-file', adminToken).status).to.equal(0);
    // A passcode that would be refused is refused first, before the program is judged for it.
    writeFileSync(path.join(tmp, 'bogus.ascpass'), 'not a passcode\n', { mode: 0o644 });
    const bogus = await asUser(['elevate', '--passcode', 'bogus.ascpass', '--', 'uname', '-a']);
    expect(bogus.status).to.equal(1);
    expect(bogus.stderr).to.match(/passcode/).and.not.match(/denied by/);
    // Sent along with a program the blacklist denies (or one that is not there), the passcode is not redeemed: its one use is left.
    const refusedFirst = await asUser(['elevate', '--passcode', 'once.ascpass', '--', 'uname', '-a']);
    expect(refusedFirst.status).to.equal(1);
    expect(refusedFirst.stderr.trim()).to.equal('Error: /usr/bin/uname is not elevated: denied by no uname -a');
    const missing = await asUser(['elevate', '--passcode', 'once.ascpass', '--', '/usr/bin/no-such-program-h23']);
    expect(missing.status).to.not.equal(0);
    expect(missing.stderr).to.not.match(/passcode/);
    // Nor with a scheduler, which no session elevates (its queued work would run outside it).
    const scheduler = await asUser(['elevate', '--passcode', 'once.ascpass', '--', '/usr/bin/crontab', '-l']);
    expect(scheduler.status).to.equal(1);
    expect(scheduler.stderr.trim()).to.equal('Error: /usr/bin/crontab is not elevated: crontab would queue work that runs outside the elevation, where its rules are not checked');
    const redeemed = await asUser(['tse', 'redeem', 'once.ascpass', '--json']);
    expect(redeemed.status, redeemed.stderr).to.equal(0);
    expect(JSON.parse(redeemed.stdout)).to.include({ user: USER, usesLeft: 0 });
    // In the session anything runs elevated, except what the blacklist denies.
    const anything = await asUser(['elevate', '--', 'ls', '-d', '/root']);
    expect(anything.status, anything.stderr).to.equal(0);
    const blacklisted = await asUser(['elevate', '--', 'uname', '-a']);
    expect(blacklisted.status).to.equal(1);
    expect(blacklisted.stderr.trim()).to.equal('Error: /usr/bin/uname is not elevated: denied by no uname -a');
    // Spent here: refused on this machine's own count, also after a restart of the agent.
    const again = await asUser(['tse', 'redeem', 'once.ascpass']);
    expect(again.stderr.trim()).to.match(/^Error: passcode "one use" \(\S+\): it was used 1 of 1 allowed times$/);
    agent?.kill('SIGTERM');
    await new Promise((r) => agent?.once('exit', r));
    await startAgent();
    const afterRestart = await asUser(['tse', 'redeem', 'once.ascpass']);
    expect(afterRestart.stderr.trim()).to.match(/it was used 1 of 1 allowed times$/);
    const status = JSON.parse((await asUser(['tse', 'status', '--json'])).stdout);
    expect(status.active).to.have.length(1);

    // A second passcode with the collector down: offline use is not allowed, so it is refused.
    run('passcode', 'new', '--title', 'offline', '--max-uses', '5', '--duration', '10m', '--out', 'offline.ascpass');
    chmodSync(path.join(tmp, 'offline.ascpass'), 0o644);
    run('server', 'passcode', 'register', 'offline.ascpass', '--server', url, '--token-file', adminToken);
    await stopCollector();
    const offline = await asUser(['tse', 'redeem', 'offline.ascpass']);
    expect(offline.status).to.equal(1);
    expect(offline.stderr.trim()).to.match(/offline passcodes are not enabled for this computer and the collector could not confirm it .*\(connect to the network so the collector can confirm the passcode\)$/);
    await startCollector(port);
  });

  it('kill -9 of the agent during an elevation and a collector outage: the orphaned account is removed, every event arrives once', async () => {
    const before = storedElevations().length;
    await stopCollector();
    // Three elevations while the collector is down: their events wait in the spool.
    for (let i = 0; i < 3; i++) expect((await asUser(['elevate', '--', 'id', '-u'])).status).to.equal(0);
    // Their accounts are removed after their results: gone before the one below is counted.
    expect(await accountsGone(prefix)).to.deep.equal([]);
    // An elevation in flight when the agent is killed leaves its account behind.
    const inFlight = asUser(['elevate', '--', 'sleep', '300'], 60_000);
    // Killed once the program runs and its event is in the spool (not merely once its account exists).
    // A generous deadline that fails when it passes (it once gave up silently after 10 s, and a kill before the program ran left no event to count).
    for (let i = 0; i < 600 && !spooledTypes(stateDir).includes('process-elevated:/usr/bin/sleep'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(spooledTypes(stateDir), 'the elevation is on record before the kill').to.include('process-elevated:/usr/bin/sleep');
    expect(accountsWithPrefix(prefix)).to.have.length(1);
    agent?.kill('SIGKILL');
    await new Promise((r) => agent?.once('exit', r));
    await inFlight;
    // Both back: the collector on its port, the agent on its state folder.
    await startCollector(port);
    await startAgent();
    expect(accountsWithPrefix(prefix), 'the orphan is removed at start').to.deep.equal([]);
    let rows: { eventId: string; processPath: string }[] = [];
    for (let i = 0; i < 60; i++) {
      rows = storedElevations();
      if (rows.length >= before + 4) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(rows.length).to.equal(before + 4);
    expect(new Set(rows.map((r) => r.eventId)).size).to.equal(rows.length);
    expect(rows.filter((r) => r.processPath === '/usr/bin/sleep')).to.have.length(1);
  });
});
