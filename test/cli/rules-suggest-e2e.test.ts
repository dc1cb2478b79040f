/**
 * Issue 19, "Done when": a test user's real sudo commands flow agent -> collector ->
 * `ascend rules suggest` -> rules (a GPO's on the run's real Samba DC, and a local policy
 * file) -> `ascend rules test` allows them, and still refuses a modified copy of the program.
 *
 * Real parts throughout (as root): accounts made with useradd, a sudoers drop-in scoped to
 * the test user that writes sudo's JSON log, the real sudo, the built agent following that
 * log (the Discovery policy), a real collector (`ascend server start`), the built CLI. The
 * modified copy is bind-mounted over the package's file in a private mount namespace
 * (unshare -m), so dpkg's checksum of the file at that path fails for `rules test` alone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { commandWorks, requireComponent } from '../support/components.js';
import { requireTestDc } from '../support/samba-dc.js';
import { ascend, bin, cliEnv, requireBuiltCli, root, type Run } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';

const USER = 'ascsug_u1';
const SUDOERS = `/etc/sudoers.d/ascsug-${process.pid}`;
const COMPUTER = 'SUG-E2E';
const WHOAMI = '/usr/bin/whoami';
const GETENT = '/usr/bin/getent';

function waitFor(child: ChildProcess, re: RegExp, timeoutMs: number, seen: { text: string }): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const m = re.exec(seen.text);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        resolve(m);
      }
    };
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}:\n${seen.text}`)), timeoutMs);
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    check();
  });
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Suggested {
  index: number;
  rule: { name: string; match: Record<string, string> };
  risky: boolean;
  generalised?: boolean;
  runs: number;
  users: number;
  basis: string;
}

describe('discovery to rules: real sudo -> agent -> collector -> rules suggest -> rules test (root)', function () {
  this.timeout(300_000);
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let url = '';
  let adminToken: string;
  let collector: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  const agentLog = { text: '' };
  const run = (...args: string[]): Run => ascend(args, env, tmp);
  const ok = (...args: string[]): Run => {
    const r = run(...args);
    expect(r.status, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).to.equal(0);
    return r;
  };

  /** `sudo -n ARGS` as the test user. */
  function sudo(...args: string[]): void {
    const r = spawnSync('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', '--', '/usr/bin/sudo', '-n', ...args], { cwd: tmp, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    expect(r.status, `sudo ${args.join(' ')}: ${r.stderr}`).to.equal(0);
  }

  /** `ascend rules test` for the test user on the test computer, with the program's package looked up in this machine's dpkg database. */
  function decision(target: string[], app: string, args: string): string {
    const r = ok('rules', 'test', ...target, '--user', USER, '--computer', COMPUTER, '--app', app, `--args=${args}`, '--json');
    return r.json.decision as string;
  }

  /** The same, in a private mount namespace where `app` is a modified copy of itself. */
  function decisionOfModifiedCopy(target: string[], app: string, args: string): { decision: string; debPublisher?: string } {
    const copy = path.join(tmp, `modified-${path.basename(app)}`);
    copyFileSync(app, copy);
    writeFileSync(copy, Buffer.concat([readFileSync(copy), Buffer.from('\nmodified\n')]));
    const r = spawnSync(
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" "$2" && shift 2 && exec "$@"', 'sh', copy, app, process.execPath, bin, 'rules', 'test', ...target, '--user', USER, '--computer', COMPUTER, '--app', app, `--args=${args}`, '--json'],
      { cwd: tmp, encoding: 'utf8', env },
    );
    expect(r.status, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as { decision: string; debPublisher?: string };
  }

  before(async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (sudoers drop-in, test accounts, mount namespaces)', 'run the tests as root');
    requireComponent(this, existsSync('/usr/bin/sudo') && commandWorks('/usr/bin/sudo', ['-V']), 'sudo', 'apt-get install sudo');
    requireComponent(this, commandWorks('unshare', ['--version']), 'unshare (util-linux)', 'apt-get install util-linux');
    requireBuiltCli();
    tmp = mkdtempSync(path.join(tmpdir(), 'ascsug-'));
    chmodSync(tmp, 0o755);
    const stateDir = path.join(tmp, 'state');
    const policyFile = path.join(tmp, 'agent.pol');
    const dataDir = path.join(tmp, 'collector');
    const logDir = path.join(tmp, 'sudo-log');
    mkdirSync(logDir, { mode: 0o755 });
    const logFile = path.join(logDir, 'sudo.json');
    env = cliEnv(tmp, { ASCEND_CA_FILE: path.join(dataDir, 'tls', 'ca.pem') });
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    const add = spawnSync('useradd', ['--no-create-home', '--shell', '/bin/sh', USER], { encoding: 'utf8' });
    expect(add.status, add.stderr).to.equal(0);
    const drop = `Defaults:${USER} log_format=json, logfile=${logFile}, !syslog\n${USER} ALL=(root) NOPASSWD: ${WHOAMI}, ${GETENT}\n`;
    const candidate = path.join(tmp, 'sudoers');
    writeFileSync(candidate, drop, { mode: 0o440 });
    const check = spawnSync('visudo', ['-cf', candidate], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).to.equal(0);
    writeFileSync(SUDOERS, drop, { mode: 0o440 });
    // The agent's policy: Discovery on, no rules yet.
    writeFileSync(policyFile, writeRegistryPol([...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'Discovery'), 'enabled', { Source: 'sudo-json-log', LogFile: logFile })]));

    collector = spawn(process.execPath, [bin, 'server', 'start', '--port', '0', '--data', dataDir], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const seen = { text: '' };
    collector.stdout?.on('data', (d: Buffer) => (seen.text += d.toString()));
    collector.stderr?.on('data', (d: Buffer) => (seen.text += d.toString()));
    url = (await waitFor(collector, /listening on (https:\/\/127\.0\.0\.1:\d+)/, 60_000, seen))[1] as string;
    adminToken = path.join(dataDir, 'bootstrap-admin-token');
    const enroll = ok('server', 'enroll-token', 'create', '--server', url, '--token-file', adminToken, '--json');
    writeFileSync(path.join(tmp, 'enroll-token'), enroll.json.token, { mode: 0o600 });
    agent = spawn(
      process.execPath,
      [bin, 'agent', 'run', '--state-dir', stateDir, '--socket', path.join(tmp, 'agent.sock'), '--policy', policyFile, '--computer', COMPUTER, '--collector', url, '--enroll-token-file', path.join(tmp, 'enroll-token')],
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    agent.stdout?.on('data', (d: Buffer) => (agentLog.text += d.toString()));
    agent.stderr?.on('data', (d: Buffer) => (agentLog.text += d.toString()));
    await waitFor(agent, /agent listening on/, 60_000, agentLog);

    // What the user does with sudo today.
    sudo(WHOAMI);
    sudo(WHOAMI);
    sudo(GETENT, 'passwd', 'root');
    sudo(GETENT, 'passwd', 'daemon');
    sudo(GETENT, 'group', 'root');
    await until('5 discovered commands at the collector', () => {
      const r = run('report', 'discovery', '--server', url, '--token-file', adminToken, '--computer', COMPUTER, '--json');
      return r.status === 0 && (r.json.rows as unknown[]).length >= 5 ? true : undefined;
    });
  });

  after(async () => {
    for (const child of [agent, collector]) {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    }
    rmSync(SUDOERS, { force: true });
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('suggests rules from what arrived: one per program and subcommand, pinned by the package dpkg verified', () => {
    const r = ok('rules', 'suggest', '--server', url, '--token-file', adminToken, '--computer', COMPUTER, '--json');
    const s = r.json.suggestions as Suggested[];
    expect(r.json.runs, agentLog.text).to.equal(5);
    const by = (p: string, args: string) => s.find((x) => x.rule.match.path === p && x.rule.match.args === args);
    expect(by(WHOAMI, ''), JSON.stringify(s)).to.deep.include({ runs: 2, users: 1, basis: 'publisher', risky: false });
    expect(by(WHOAMI, '')?.rule.match.publisher).to.equal('deb:coreutils');
    // Generalised (its * matches any words, options included): written only when selected.
    expect(by(GETENT, 'passwd *')).to.deep.include({ runs: 2, basis: 'publisher', generalised: true, risky: true });
    expect(by(GETENT, 'group root')).to.deep.include({ runs: 1, risky: false });
    expect(s).to.have.length(3);
  });

  it('into a local policy file: rules test allows what the user ran and refuses a modified copy', () => {
    const pol = path.join(tmp, 'suggested.pol');
    const r = ok('rules', 'suggest', '--server', url, '--token-file', adminToken, '--computer', COMPUTER, '--apply', '--policy', pol, '--yes', '--select', '1,2,3', '--json');
    expect(r.json.applied.rules).to.have.length(3);
    const target = ['--policy', pol];
    expect(decision(target, WHOAMI, '')).to.equal('allow');
    expect(decision(target, GETENT, 'passwd nobody')).to.equal('allow');
    expect(decision(target, GETENT, 'group root')).to.equal('allow');
    expect(decision(target, GETENT, 'shadow root')).to.equal('not-elevated');
    expect(decisionOfModifiedCopy(target, WHOAMI, '')).to.deep.include({ decision: 'not-elevated' });
  });

  it("into a GPO's rules on the real DC: rules test --gpo allows what the user ran and refuses a modified copy", async function () {
    const dc = await requireTestDc(this);
    const pw = path.join(tmp, 'ldap-password');
    writeFileSync(pw, dc.password, { mode: 0o600 });
    Object.assign(env, { ASCEND_LDAP_URL: dc.url, ASCEND_LDAP_USER: dc.bindDn, ASCEND_LDAP_PASSWORD_FILE: pw, ASCEND_LDAP_TLS_INSECURE: '1', ASCEND_SYSVOL: dc.smbUrl });
    delete env.ASCEND_LDAP_PASSWORD;
    const gpo = `Ascend Suggest ${randomBytes(3).toString('hex')}`;
    ok('gpo', 'create', gpo, '--json');
    try {
      const r = ok('rules', 'suggest', '--server', url, '--token-file', adminToken, '--computer', COMPUTER, '--apply', '--gpo', gpo, '--yes', '--select', '1,2,3', '--json');
      expect(r.json.applied).to.deep.equal({ target: `GPO "${gpo}"`, rules: r.json.applied.rules });
      expect(r.json.applied.rules).to.have.length(3);
      const listed = ok('rules', 'list', '--gpo', gpo, '--json').json.rules as { name: string }[];
      expect(listed.map((x) => x.name).sort()).to.deep.equal([...(r.json.applied.rules as string[])].sort());
      const lint = run('rules', 'lint', '--gpo', gpo, '--fail-on', 'high');
      expect(lint.status, lint.stdout + lint.stderr).to.equal(0);
      const target = ['--gpo', gpo];
      expect(decision(target, WHOAMI, '')).to.equal('allow');
      expect(decision(target, GETENT, 'passwd nobody')).to.equal('allow');
      expect(decision(target, GETENT, 'shadow root')).to.equal('not-elevated');
      expect(decisionOfModifiedCopy(target, WHOAMI, '')).to.deep.include({ decision: 'not-elevated' });
    } finally {
      run('gpo', 'delete', gpo);
    }
  });
});
