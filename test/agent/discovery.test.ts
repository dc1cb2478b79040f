/**
 * Discovery end to end, as root, with real parts: a test user runs commands through the real
 * sudo (a sudoers drop-in scoped to the test users writes sudo's JSON log), the built agent
 * (`ascend agent run --policy FILE` with the Discovery policy) follows the log and reports to
 * a real collector (`ascend server start`), read back through the Discovery report.
 * Each command arrives once, with its user, program, arguments, folder, run-as user and what
 * the rules would decide; a restart neither repeats nor loses; a forged record is not
 * reported; a rotated log is read from its start; the policy turns it off and on.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { commandWorks, requireComponent } from '../support/components.js';
import { ascend, bin, cliEnv, requireBuiltCli, root, type Run } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';

const USER = 'ascdisc_u1';
const FORGER = 'ascdisc_f1';
const SUDOERS = `/etc/sudoers.d/ascdisc-${process.pid}`;

interface Row {
  time: string;
  computer: string;
  user: string;
  runAs: string;
  processPath: string;
  args: string;
  cwd: string;
  result: string;
  rule: string | null;
  controls: string[] | string | null;
  publisher: string | null;
  sha256: string | null;
  source: string;
  eventId: string;
}

function waitFor(child: ChildProcess, re: RegExp, timeoutMs: number, seen: { text: string }): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
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

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('discovery: real sudo, real agent, real collector (root)', function () {
  this.timeout(180_000);
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let stateDir: string;
  let socket: string;
  let policyFile: string;
  let logFile: string;
  let workDir: string;
  let dataDir: string;
  let adminToken: string;
  let url = '';
  let collector: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  const agentLog = { text: '' };
  const run = (...args: string[]): Run => ascend(args, env, tmp);

  /** `sudo -n ARGS` as the test user, in `cwd`. */
  function sudo(cwd: string, ...args: string[]): void {
    const r = spawnSync('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', '--', '/usr/bin/sudo', '-n', ...args], { cwd, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    expect(r.status, `sudo ${args.join(' ')}: ${r.stderr}`).to.equal(0);
  }

  function writePolicy(discovery: 'enabled' | 'disabled'): void {
    writeFileSync(
      policyFile,
      writeRegistryPol([
        ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'Discovery'), discovery, discovery === 'enabled' ? { Source: 'sudo-json-log', LogFile: logFile } : {}),
        ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
          Rules: [{ name: 'id with a reason', value: JSON.stringify({ action: 'allow', match: { path: '/usr/bin/id' }, controls: ['justify'] }) }],
        }),
        ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'BlacklistRules'), 'enabled', {
          Rules: [{ name: 'no env', value: JSON.stringify({ action: 'deny', match: { path: '/usr/bin/env' } }) }],
        }),
      ]),
    );
  }

  async function startAgent(): Promise<void> {
    agentLog.text = '';
    agent = spawn(process.execPath, [bin, 'agent', 'run', '--state-dir', stateDir, '--socket', socket, '--policy', policyFile, '--computer', 'DISC-PC', '--collector', url, ...(existsSync(path.join(stateDir, 'enrollment.json')) ? [] : ['--enroll-token-file', path.join(tmp, 'enroll-token')])], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout?.on('data', (d: Buffer) => (agentLog.text += d.toString()));
    agent.stderr?.on('data', (d: Buffer) => (agentLog.text += d.toString()));
    await waitFor(agent, /agent listening on/, 60_000, agentLog);
  }

  async function stopAgent(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((r) => agent?.once('exit', r));
      agent.kill(signal);
      await exited;
    }
  }

  /** What the collector holds: the Discovery report of DISC-PC. */
  function rows(): Row[] {
    const r = run('report', 'discovery', '--server', url, '--token-file', adminToken, '--computer', 'DISC-PC', '--json');
    expect(r.status, r.stderr).to.equal(0);
    return r.json.rows as Row[];
  }

  /** Waits until the collector holds `n` discovered commands, and that none is there twice. */
  async function arrived(n: number): Promise<Row[]> {
    const got = await until(`${n} discovered commands at the collector`, () => {
      const r = rows();
      return r.length >= n ? r : undefined;
    });
    expect(got.length, JSON.stringify(got, null, 1) + agentLog.text).to.equal(n);
    expect(new Set(got.map((r) => r.eventId)).size).to.equal(n);
    return got;
  }

  const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

  before(async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (sudoers drop-in, test accounts)', 'run the tests as root');
    requireComponent(this, existsSync('/usr/bin/sudo') && commandWorks('/usr/bin/sudo', ['-V']), 'sudo', 'apt-get install sudo');
    requireBuiltCli();
    tmp = mkdtempSync(path.join(tmpdir(), 'ascdisc-'));
    chmodSync(tmp, 0o755);
    stateDir = path.join(tmp, 'state');
    socket = path.join(tmp, 'agent.sock');
    policyFile = path.join(tmp, 'Registry.pol');
    dataDir = path.join(tmp, 'collector');
    const logDir = path.join(tmp, 'sudo-log');
    mkdirSync(logDir, { mode: 0o755 });
    logFile = path.join(logDir, 'sudo.json');
    // A folder whose name reads like sudo's fields: the JSON form carries it intact.
    workDir = path.join(tmp, 'work ; USER=root ; COMMAND=x');
    mkdirSync(workDir, { mode: 0o755 });
    env = cliEnv(tmp, { ASCEND_CA_FILE: path.join(dataDir, 'tls', 'ca.pem') });
    for (const u of [USER, FORGER]) {
      spawnSync('userdel', ['-r', u], { stdio: 'ignore' });
      const add = spawnSync('useradd', ['--no-create-home', '--shell', '/bin/sh', u], { encoding: 'utf8' });
      expect(add.status, add.stderr).to.equal(0);
    }
    const drop = `Defaults:${USER} log_format=json, logfile=${logFile}, !syslog\n${USER} ALL=(root) NOPASSWD: /usr/bin/id, /usr/bin/true, /usr/bin/env\n`;
    const candidate = path.join(tmp, 'sudoers');
    writeFileSync(candidate, drop, { mode: 0o440 });
    const check = spawnSync('visudo', ['-cf', candidate], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).to.equal(0);
    writeFileSync(SUDOERS, drop, { mode: 0o440 });
    writePolicy('enabled');

    collector = spawn(process.execPath, [bin, 'server', 'start', '--port', '0', '--data', dataDir], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const seen = { text: '' };
    collector.stdout?.on('data', (d: Buffer) => (seen.text += d.toString()));
    collector.stderr?.on('data', (d: Buffer) => (seen.text += d.toString()));
    url = (await waitFor(collector, /listening on (https:\/\/127\.0\.0\.1:\d+)/, 30_000, seen))[1] as string;
    adminToken = path.join(dataDir, 'bootstrap-admin-token');
    const enroll = run('server', 'enroll-token', 'create', '--server', url, '--token-file', adminToken, '--json');
    expect(enroll.status, enroll.stderr).to.equal(0);
    writeFileSync(path.join(tmp, 'enroll-token'), enroll.json.token, { mode: 0o600 });
    await startAgent();
  });

  after(async () => {
    await stopAgent();
    if (collector && collector.exitCode === null) {
      const exited = new Promise((r) => collector?.once('exit', r));
      collector.kill('SIGTERM');
      await exited;
    }
    rmSync(SUDOERS, { force: true });
    for (const u of [USER, FORGER]) spawnSync('userdel', ['-r', u], { stdio: 'ignore' });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('reports each command the user ran through sudo once: user, program, arguments, folder, run-as user, and what the rules would decide', async () => {
    sudo(workDir, '/usr/bin/id', '-u', 'root');
    sudo(tmp, 'true', 'a b');
    sudo(tmp, '/usr/bin/env', 'FOO=1', '/usr/bin/true');
    const got = await arrived(3);
    const byPath = new Map(got.map((r) => [`${r.processPath} ${r.args}`, r]));
    const id = byPath.get('/usr/bin/id -u root');
    expect(id, JSON.stringify(got)).to.not.equal(undefined);
    expect(id).to.include({ user: USER, runAs: 'root', cwd: workDir, result: 'would-allow', rule: 'id with a reason', source: 'sudo-json-log', sha256: sha('/usr/bin/id'), computer: 'DISC-PC' });
    expect(String(id?.controls)).to.include('justify');
    // The package publisher, when dpkg's checksum matched the file.
    expect(id?.publisher).to.equal('deb:coreutils');
    const t = byPath.get('/usr/bin/true "a b"');
    expect(t, JSON.stringify(got)).to.include({ user: USER, runAs: 'root', cwd: tmp, result: 'no-rule', processPath: '/usr/bin/true' });
    const e = byPath.get('/usr/bin/env FOO=1 /usr/bin/true');
    expect(e, JSON.stringify(got)).to.include({ result: 'would-deny', rule: 'no env' });
    // sudo's own time, not the upload's.
    for (const r of got) expect(Math.abs(Date.parse(r.time) - Date.now())).to.be.below(10 * 60_000);
  });

  it('neither repeats nor loses a command across restarts; read again from the start, each is still stored once', async () => {
    await stopAgent('SIGTERM');
    sudo(tmp, '/usr/bin/id', '-g');
    sudo(tmp, '/usr/bin/id', '-n', '-u');
    await startAgent();
    const after = await arrived(5);
    expect(after.map((r) => r.args)).to.include.members(['-g', '-n -u']);
    // Killed, and its saved position gone: the whole log is read again, with the same ids.
    await stopAgent('SIGKILL');
    rmSync(path.join(stateDir, 'spool', 'discovery-position.json'), { force: true });
    sudo(tmp, '/usr/bin/id', '-G');
    await startAgent();
    const again = await arrived(6);
    expect(again.filter((r) => r.args === '-G')).to.have.length(1);
    await until('the agent to save its position after the re-read', () => (existsSync(path.join(stateDir, 'spool', 'discovery-position.json')) ? true : undefined));
    expect(statSync(path.join(stateDir, 'spool', 'discovery-position.json')).mode & 0o077).to.equal(0);
    expect(rows()).to.have.length(6);
  });

  it('does not report a record another user wrote: a log made writable by others, a link to a user file', async () => {
    // The log made writable by everyone, and a forged event appended by another user.
    chmodSync(logFile, 0o666);
    await until('the agent to refuse the writable log', () => (/is not read: only a regular file owned by root/.test(agentLog.text) ? true : undefined));
    const forged = ',\n    "accept": {"submituser": "ascdisc_forged", "command": "/usr/bin/forged", "runuser": "root", "runcwd": "/", "runargv": ["forged"]}\n}\n';
    const r = spawnSync('setpriv', ['--reuid', FORGER, '--regid', FORGER, '--init-groups', '--', '/usr/bin/python3', '-c', `import os,sys\nf=os.open(sys.argv[1], os.O_WRONLY)\nos.lseek(f, -3, 2)\nos.write(f, sys.argv[2].encode())`, logFile, forged], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    chmodSync(logFile, 0o600);
    await until('the agent to skip what the log held while it was writable', () => (/was writable by others; what it held up to offset/.test(agentLog.text) ? true : undefined));
    sudo(tmp, '/usr/bin/true', 'after-forgery');
    const got = await arrived(7);
    expect(got.map((x) => x.processPath)).to.not.include('/usr/bin/forged');
    expect(got.map((x) => x.user)).to.not.include('ascdisc_forged');
    expect(got.filter((x) => x.args === 'after-forgery')).to.have.length(1);

    // The path made a link to a file the forger owns: not followed.
    const aside = `${logFile}.real`;
    renameSync(logFile, aside);
    const fake = path.join(tmp, 'fake.json');
    writeFileSync(fake, `{\n${forged.slice(2)}`);
    spawnSync('chown', [FORGER, fake]);
    symlinkSync(fake, logFile);
    await until('the agent to refuse the link', () => (/cannot be opened \(it is a symbolic link\)/.test(agentLog.text) ? true : undefined));
    unlinkSync(logFile);
    renameSync(aside, logFile);
    expect(rows().map((x) => x.processPath)).to.not.include('/usr/bin/forged');
  });

  it('reads a rotated log from its start, and a truncated one', async () => {
    renameSync(logFile, `${logFile}.1`);
    sudo(tmp, '/usr/bin/true', 'rotated');
    const got = await arrived(8);
    expect(got.filter((x) => x.args === 'rotated')).to.have.length(1);
    // Truncated in place (same inode, shorter than the saved offset).
    writeFileSync(logFile, '');
    sudo(tmp, '/usr/bin/true', 'truncated');
    const more = await arrived(9);
    expect(more.filter((x) => x.args === 'truncated')).to.have.length(1);
  });

  it('turns off and on with the policy on a refresh', async () => {
    writePolicy('disabled');
    expect(run('agent', 'refresh', '--socket', socket).status).to.equal(0);
    await until('discovery to stop', () => (/discovery is off/.test(agentLog.text) ? true : undefined));
    writePolicy('enabled');
    expect(run('agent', 'refresh', '--socket', socket).status).to.equal(0);
    await until('discovery to follow the log again', () => (agentLog.text.split(`discovery follows ${logFile}`).length >= 3 ? true : undefined));
    sudo(tmp, '/usr/bin/true', 'after-refresh');
    const got = await arrived(10);
    expect(got.filter((x) => x.args === 'after-refresh')).to.have.length(1);
  });
});
