/**
 * End to end on Linux, as root, with real parts only: the Samba DC of the test run holds a
 * GPO with TSE Enabled and a trusted key; the collector runs as `ascend server start`; the
 * agent runs as `ascend agent run --domain` (the GPOs that apply to its computer account,
 * read over LDAPS and SMB), enrolled with an enrollment token. An unprivileged user redeems
 * a passcode and elevates `id -Gn` (an ephemeral account in the admin group) and a long
 * `sleep` (ended when the session expires); the collector's TSE Usage Report shows both,
 * and the ephemeral accounts are gone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { requireTestDc, type TestDc } from '../support/samba-dc.js';
import { requireComponent } from '../support/components.js';
import { Directory } from '../../src/directory/index.js';
import { ascend, bin, cliEnv, requireBuiltCli, root, type Run } from '../passcode-cli/support.js';

const TEST_USER = 'asce2euser';

function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${text}`)), timeoutMs);
    const onData = (d: Buffer) => {
      text += d.toString();
      const m = re.exec(text);
      if (m) {
        clearTimeout(timer);
        child[stream]?.off('data', onData);
        resolve(m);
      }
    };
    child[stream]?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${re}:\n${text}`));
    });
  });
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

describe('agent end to end: GPO with TSE, enrolled agent, redeem, elevate, expiry, TSE Usage Report (root)', function () {
  this.timeout(300_000);
  const tag = randomBytes(3).toString('hex');
  const gpoName = `Ascend Agent E2E ${tag}`;
  const computer = `E2E${tag}`.toUpperCase().slice(0, 15);
  const prefix = `e2e${tag}_`;
  let dc: TestDc;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let collector: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  let agentLog = '';
  let url = '';
  let adminTokenFile = '';
  let socket = '';
  let ou = '';
  const machinePassword = `Aa1!${randomBytes(18).toString('base64url')}`;
  let machinePasswordFile = '';
  let agentEnv: NodeJS.ProcessEnv;
  const run = (...args: string[]): Run => ascend(args, env, tmp);
  /** The CLI run as the unprivileged test user (its uid is what the agent sees). */
  const asUser = (args: string[], timeoutMs = 60_000): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn('setpriv', ['--reuid', TEST_USER, '--regid', TEST_USER, '--init-groups', '--', process.execPath, bin, ...args], {
        cwd: tmp,
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: tmp, NO_COLOR: '1', ASCEND_AGENT_SOCKET: socket, SECRET_OF_THE_TEST: 'must-not-pass' },
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

  before(async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent creates accounts)', 'run the tests as root');
    dc = await requireTestDc(this);
    requireBuiltCli();
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-agent-e2e-'));
    chmodSync(tmp, 0o755); // the test user reaches the socket and the passcode file
    socket = path.join(tmp, 'agent.sock');
    spawnSync('userdel', ['-r', TEST_USER], { stdio: 'ignore' });
    const add = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', TEST_USER], { encoding: 'utf8' });
    expect(add.status, add.stderr).to.equal(0);
    const pw = path.join(tmp, 'password');
    writeFileSync(pw, dc.password, { mode: 0o600 });
    ou = `OU=AscendAgentE2E${tag},${dc.baseDn}`;
    machinePasswordFile = path.join(tmp, 'machine-password');
    writeFileSync(machinePasswordFile, machinePassword, { mode: 0o600 });
    // The test DC's certificate names DC1.corp.example.test, not 127.0.0.1.
    env = cliEnv(tmp, { ASCEND_LDAP_URL: dc.url, ASCEND_LDAP_USER: dc.bindDn, ASCEND_LDAP_PASSWORD_FILE: pw, ASCEND_LDAP_TLS_INSECURE: '1', ASCEND_SYSVOL: dc.smbUrl, ASCEND_CA_FILE: path.join(tmp, 'collector', 'tls', 'ca.pem') });
    delete env.ASCEND_LDAP_PASSWORD;
    // The agent binds as the computer account (flags), nothing of the admin's.
    agentEnv = { ...env };
    delete agentEnv.ASCEND_LDAP_USER;
    delete agentEnv.ASCEND_LDAP_PASSWORD_FILE;
  });

  after(async () => {
    for (const child of [agent, collector]) {
      if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
    if (dc && tmp) {
      run('gpo', 'delete', gpoName);
      const dir = await Directory.connect({ url: dc.url, bindDn: dc.bindDn, password: dc.password, tlsInsecure: true }).catch(() => undefined);
      if (dir) {
        await dir.delete(`CN=${computer},${ou}`).catch(() => undefined);
        await dir.delete(ou).catch(() => undefined);
        await dir.close();
      }
    }
    spawnSync('userdel', ['-r', TEST_USER], { stdio: 'ignore' });
    for (const name of accountsWithPrefix(prefix)) spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('runs the whole path and reports it', async () => {
    // 1. The domain: an OU with the computer account (its password only "the machine" knows),
    //    and a GPO linked to the OU with TSE Enabled, a trusted key and an account prefix.
    const dir = await Directory.connect({ url: dc.url, bindDn: dc.bindDn, password: dc.password, tlsInsecure: true });
    try {
      await dir.add(ou, { objectClass: ['top', 'organizationalUnit'] });
      await dir.add(`CN=${computer},${ou}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user', 'computer'],
        sAMAccountName: `${computer}$`,
        userAccountControl: '4096',
        unicodePwd: Buffer.from(`"${machinePassword}"`, 'utf16le'),
      });
    } finally {
      await dir.close();
    }
    const created = run('gpo', 'create', gpoName, '--json');
    expect(created.status, created.stderr).to.equal(0);
    expect(run('gpo', 'set', gpoName, 'TemporarySessionElevation', '--state', 'enabled').status).to.equal(0);
    expect(run('gpo', 'set', gpoName, 'EphemeralAccounts', '--state', 'enabled', '--value', `AccountPrefix=${prefix}`).status).to.equal(0);
    expect(run('keys', 'init', '--key-file', 'signing.pem').status).to.equal(0);
    const pub = run('keys', 'publish', '--gpo', gpoName);
    expect(pub.status, pub.stderr).to.equal(0);
    const link = run('gpo', 'link', gpoName, ou);
    expect(link.status, link.stderr).to.equal(0);

    // 2. The collector, and an enrollment token for the agent.
    const data = path.join(tmp, 'collector');
    collector = spawn(process.execPath, [bin, 'server', 'start', '--port', '0', '--data', data], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    url = (await waitForLine(collector, 'stdout', /listening on (https:\/\/127\.0\.0\.1:\d+)/, 30_000))[1] as string;
    adminTokenFile = path.join(data, 'bootstrap-admin-token');
    const enroll = run('server', 'enroll-token', 'create', '--server', url, '--token-file', adminTokenFile, '--json');
    expect(enroll.status, enroll.stderr).to.equal(0);
    const enrollFile = path.join(tmp, 'enroll-token');
    writeFileSync(enrollFile, enroll.json.token, { mode: 0o600 });

    // 3. The agent, reading the GPOs of its computer account from the domain.
    agent = spawn(
      process.execPath,
      [bin, 'agent', 'run', '--state-dir', path.join(tmp, 'state'), '--socket', socket, '--domain', '--computer', computer, '--collector', url, '--enroll-token-file', enrollFile,
        '--ldap-user', `${computer}$@${dc.dnsDomain}`, '--password-file', machinePasswordFile],
      { cwd: root, env: agentEnv, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    agent.stderr?.on('data', (d: Buffer) => (agentLog += d.toString()));
    await waitForLine(agent, 'stderr', /agent listening on/, 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${agentLog}`);
    });
    const status = await asUser(['agent', 'status', '--json']);
    expect(status.status, status.stderr).to.equal(0);
    const st = JSON.parse(status.stdout);
    expect(st.tse.enabled, JSON.stringify(st)).to.equal(true);
    expect(st.policy.gpos).to.include(gpoName);
    expect(st.collector.enrolled).to.equal(true);

    // Without a session nothing is elevated.
    const before = await asUser(['elevate', '--', 'id', '-un']);
    expect(before.status).to.equal(1);
    expect(before.stderr.trim()).to.match(/^Error: \/usr\/bin\/id is not elevated: no elevation rule matches and no TSE session is active/);

    // 4. A passcode: 12 s, two uses, ends the processes at expiry; registered so the collector counts it.
    const issued = run('passcode', 'new', '--title', 'E2E helpdesk', '--max-uses', '2', '--duration', '12s', '--end-processes', '--out', 'e2e.ascpass', '--json');
    expect(issued.status, issued.stderr).to.equal(0);
    chmodSync(path.join(tmp, 'e2e.ascpass'), 0o644);
    expect(run('server', 'passcode', 'register', 'e2e.ascpass', '--server', url, '--token-file', adminTokenFile).status).to.equal(0);
    const redeemed = await asUser(['tse', 'redeem', 'e2e.ascpass', '--json']);
    expect(redeemed.status, redeemed.stderr + agentLog).to.equal(0);
    const session = JSON.parse(redeemed.stdout);
    expect(session).to.include({ user: TEST_USER, passcodeTitle: 'E2E helpdesk', endProcesses: true, usesLeft: 1 });

    // 5. id -Gn runs as an ephemeral account in the admin group, with a clean environment.
    const id = await asUser(['elevate', '--', 'sh', '-c', 'id -un; id -Gn; echo "secret=${SECRET_OF_THE_TEST:-none}"']);
    expect(id.status, id.stderr + agentLog).to.equal(0);
    const [account, groups, secret] = id.stdout.trim().split('\n');
    expect(account).to.match(new RegExp(`^${prefix}`));
    expect(groups?.split(' ')).to.include('sudo');
    expect(secret).to.equal('secret=none');
    expect(await accountsGone(prefix), 'the account is removed after the program ends').to.deep.equal([]);

    // 6. A long sleep inside the session ends when the session expires: SIGTERM from the agent
    //    (had nothing ended it, this test's own limit would SIGKILL the client: no status), and
    //    not before the session's end (the report below says it was ended by the expiry).
    const sleep = await asUser(['elevate', '--', 'sleep', '300'], 120_000);
    expect(sleep.status, sleep.stderr).to.equal(128 + 15);
    expect(Date.now(), `ended at the session's end (${session.endsAt}), not before`).to.be.at.least(Date.parse(session.endsAt) - 1000);
    expect(await accountsGone(prefix)).to.deep.equal([]);
    const after = await asUser(['tse', 'status', '--json']);
    expect(JSON.parse(after.stdout).active).to.deep.equal([]);

    // 7. The TSE Usage Report on the collector shows both elevations in the session, ended by expiry.
    let rows: any[] = [];
    for (let i = 0; i < 40; i++) {
      const report = run('report', 'tse-usage', '--server', url, '--token-file', adminTokenFile, '--passcode', session.passcodeId, '--json');
      expect(report.status, report.stderr).to.equal(0);
      rows = report.json.rows;
      if (rows.length >= 2 && rows.every((r: any) => r.sessionEnd !== null)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(rows.map((r: any) => r.processPath)).to.deep.equal(['/usr/bin/dash', '/usr/bin/sleep']);
    for (const r of rows) {
      expect(r).to.include({ computer, user: TEST_USER, passcodeTitle: 'E2E helpdesk', elevatedBy: 'tse', endedByExpiry: true, sessionId: session.sessionId });
    }
  });
});
