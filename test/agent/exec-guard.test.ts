/**
 * The exec guard end to end (issue 12, finding 6): a real agent (`ascend agent run`, the built
 * CLI), an unprivileged user running `ascend elevate`, real ephemeral accounts. Allow rules
 * elevate env, sh, find and xargs; a deny rule names bash (by name) and another its SHA-256.
 * Every program the elevated tree starts is decided again, so `env bash`, `sh -c bash`,
 * `find -exec bash`, `xargs bash` and a renamed copy of bash (by its hash) are refused inside
 * the tree, each with an elevation-denied event; other nested programs still run, and exit
 * codes and signals still pass through.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { requireComponent } from '../support/components.js';
import { bin, cliEnv, requireBuiltCli, root } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';
import { spooledEvents } from '../support/spool-events.js';

const USER = 'h2tuser';
const PREFIX = 'h2te_';
const SCRIPT_DIR = '/var/lib/ascend-test-guard';

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

function rule(name: string, json: object): { name: string; value: string } {
  return { name, value: JSON.stringify(json) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('exec guard: deny rules on every exec of an elevated tree (root, real agent)', function () {
  this.timeout(120_000);
  let tmp = '';
  let socket = '';
  let stateDir = '';
  let agent: ChildProcess | undefined;
  const log = { text: '' };
  let copyOfBash = '';

  const asUser = (args: string[]): Promise<Outcome> =>
    new Promise((resolve) => {
      const child = spawn('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', '--', process.execPath, bin, ...args], {
        cwd: tmp,
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: tmp, NO_COLOR: '1', ASCEND_AGENT_SOCKET: socket },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });

  /** The events the agent spooled (it has no collector: they stay there). */
  function events(): Record<string, unknown>[] {
    return spooledEvents(stateDir);
  }

  const refusedInTree = (processPath: string): Record<string, unknown>[] =>
    events().filter((e) => e.type === 'elevation-denied' && e.reason === 'denied-in-elevated-tree' && e.processPath === processPath);

  before(async function () {
    requireComponent(this, process.getuid?.() === 0 && process.arch === 'x64', 'root on x86_64 (the agent creates accounts)', 'run the tests as root');
    requireComponent(this, existsSync(path.join(root, 'build', 'native', 'ascend-launch')), 'the launcher build/native/ascend-launch', 'npm run build');
    requireBuiltCli();
    tmp = mkdtempSync('/tmp/h2t-guard-');
    chmodSync(tmp, 0o755);
    socket = path.join(tmp, 'agent.sock');
    stateDir = path.join(tmp, 'state');
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    const add = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', USER], { encoding: 'utf8' });
    expect(add.status, add.stderr).to.equal(0);
    // A renamed copy of bash in a root-owned folder: no name rule knows it, its hash does.
    mkdirSync(path.join(tmp, 'bin'), { mode: 0o755 });
    copyOfBash = path.join(tmp, 'bin', 'myshell');
    copyFileSync('/usr/bin/bash', copyOfBash);
    chmodSync(copyOfBash, 0o755);
    const bashHash = createHash('sha256').update(readFileSync('/usr/bin/bash')).digest('hex');
    // A root-owned script in a root-owned folder (a rule may elevate it) whose interpreter is bash.
    rmSync(SCRIPT_DIR, { recursive: true, force: true });
    mkdirSync(SCRIPT_DIR, { mode: 0o755 });
    writeFileSync(path.join(SCRIPT_DIR, 'viabash'), '#!/usr/bin/bash\nid -un\n', { mode: 0o755 });
    // An interpreter by a relative name: the kernel finds it from the folder the program starts in.
    writeFileSync(path.join(SCRIPT_DIR, 'viarelative'), '#!usr/bin/bash\nid -un\n', { mode: 0o755 });
    const entries = [
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
        Rules: ['/usr/bin/env', '/usr/bin/dash', '/usr/bin/find', '/usr/bin/xargs', '/usr/bin/crontab', path.join(SCRIPT_DIR, 'viabash'), path.join(SCRIPT_DIR, 'viarelative')].map((p) => rule(`allow ${path.basename(p)}`, { action: 'allow', match: { path: p } })),
      }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'BlacklistRules'), 'enabled', {
        Rules: [rule('no bash', { action: 'deny', match: { path: 'bash' } }), rule('no bash by hash', { action: 'deny', match: { sha256: bashHash } })],
      }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: PREFIX, MaxLifetimeMinutes: 60, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
    ];
    const policy = path.join(tmp, 'Registry.pol');
    writeFileSync(policy, writeRegistryPol(entries), { mode: 0o644 });
    agent = spawn(process.execPath, [bin, 'agent', 'run', '--state-dir', stateDir, '--socket', socket, '--policy', policy, '--computer', 'H2-PC'], {
      cwd: root,
      env: cliEnv(tmp),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stderr?.on('data', (d: Buffer) => (log.text += d.toString()));
    agent.stdout?.on('data', (d: Buffer) => (log.text += d.toString()));
    const exited = new Promise((resolve) => agent?.once('exit', resolve));
    await Promise.race([until(() => /agent listening on/.test(log.text), 'the agent to listen', 60_000), exited.then(() => Promise.reject(new Error(`the agent exited:\n${log.text}`)))]);
  });

  after(async () => {
    rmSync(SCRIPT_DIR, { recursive: true, force: true });
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((r) => agent?.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const name = line.split(':')[0];
      if (name?.startsWith(PREFIX)) spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses `env bash`, `sh -c bash`, `find -exec bash` and `xargs bash` inside the tree, with an event each', async () => {
    // Each case runs bash with other arguments: repeated identical denials are aggregated.
    const cases: [string, string[]][] = [
      ['env', ['env', 'bash', '-c', 'echo BASH-RAN env']],
      ['sh', ['sh', '-c', 'bash -c "echo BASH-RAN sh"']],
      ['find', ['find', '/', '-maxdepth', '0', '-exec', 'bash', '-c', 'echo BASH-RAN find', ';']],
      ['xargs', ['xargs', 'bash', '-c', 'echo BASH-RAN xargs']],
    ];
    for (const [name, argv] of cases) {
      const before = refusedInTree('/usr/bin/bash').length;
      const r = await asUser(['elevate', '--', ...argv]);
      expect(r.stdout, `${name}: ${r.stderr}\n${log.text}`).to.not.include('BASH-RAN');
      // find reports the failed -exec and goes on (its status stays 0); the others fail.
      if (name !== 'find') expect(r.status, `${name}: ${r.stderr}`).to.not.equal(0);
      expect(r.stderr, name).to.match(/Operation not permitted|Permission denied|not permitted/);
      await until(() => refusedInTree('/usr/bin/bash').length > before, `the ${name} denial event`);
    }
    const e = refusedInTree('/usr/bin/bash')[0] as { user?: string; rule?: string; args?: string; data?: { elevationId?: unknown; pid?: unknown } };
    expect(e.user).to.equal(USER);
    expect(e.rule).to.include('no bash');
    expect(e.args).to.equal('-c "echo BASH-RAN env"');
    expect(e.data?.elevationId).to.be.a('string');
    expect(e.data?.pid).to.be.a('number');
  });

  it('refuses a renamed copy of bash by its hash', async () => {
    const r = await asUser(['elevate', '--', 'sh', '-c', `${copyOfBash} -c "echo BASH-RAN"`]);
    expect(r.stdout).to.not.include('BASH-RAN');
    expect(r.status).to.not.equal(0);
    await until(() => refusedInTree(copyOfBash).length > 0, 'the denial of the copy');
    expect(refusedInTree(copyOfBash)[0]?.rule).to.equal('no bash by hash');
  });

  it('still runs nested programs no deny rule names, and passes exit codes and signals through', async () => {
    const ok = await asUser(['elevate', '--', 'sh', '-c', '/usr/bin/id -un; exit 3']);
    expect(ok.stdout.trim(), ok.stderr).to.match(new RegExp(`^${PREFIX}[0-9a-f]{12}$`));
    expect(ok.status).to.equal(3);
    const killed = await asUser(['elevate', '--', 'sh', '-c', 'kill -TERM $$']);
    expect(killed.status, killed.stderr).to.equal(128 + 15);
  });

  it('judges what the kernel runs for the first program too: a script whose #! interpreter is denied is not elevated', async () => {
    const r = await asUser(['elevate', '--', path.join(SCRIPT_DIR, 'viabash')]);
    expect(r.status, r.stdout).to.equal(1);
    expect(r.stdout).to.not.match(new RegExp(PREFIX));
    expect(r.stderr.trim()).to.match(/^Error: \/var\/lib\/ascend-test-guard\/viabash is not elevated: denied by no bash.* \(it is what .*viabash.* runs\)$/);
  });

  it('refuses a first program whose #! interpreter is a relative name (a rule elevates it only when the interpreter is known)', async () => {
    const r = await asUser(['elevate', '--', path.join(SCRIPT_DIR, 'viarelative')]);
    expect(r.status, r.stdout).to.equal(1);
    expect(r.stdout).to.not.match(new RegExp(PREFIX));
    expect(r.stderr.trim()).to.match(/^Error: \/var\/lib\/ascend-test-guard\/viarelative is not elevated: its interpreter usr\/bin\/bash is a relative path/);
  });

  it('an elevated process cannot ask the agent for another elevation', async () => {
    const r = await asUser(['elevate', '--', 'sh', '-c', `${process.execPath} ${bin} elevate --socket ${socket} -- /usr/bin/id; echo inner=$?`]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/inner=1/);
    expect(r.stderr).to.match(/is an ephemeral account of an elevation; an elevated process cannot ask the agent for another/);
  });

  it('refuses cron inside an elevation, as the first program and nested (by file identity), and removes a crontab the account left', async function () {
    requireComponent(this, existsSync('/usr/bin/crontab'), 'cron (crontab)', 'apt-get install cron');
    // As the first program: a rule allows crontab, the agent still refuses it.
    const first = await asUser(['elevate', '--', '/usr/bin/crontab', '-l']);
    expect(first.status, first.stdout).to.equal(1);
    expect(first.stderr.trim()).to.equal('Error: /usr/bin/crontab is not elevated: crontab would queue work that runs outside the elevation, where its rules are not checked');
    // Nested, and through a hard link under another name in a root-owned folder.
    const link = path.join(tmp, 'bin', 'notcron');
    spawnSync('ln', ['-f', '/usr/bin/crontab', link]);
    const nested = await asUser(['elevate', '--', 'env', 'crontab', '-l']);
    expect(nested.status).to.not.equal(0);
    expect(nested.stderr).to.match(/Operation not permitted/);
    const linked = await asUser(['elevate', '--', 'env', link, '-l']);
    expect(linked.status).to.not.equal(0);
    expect(linked.stderr).to.match(/Operation not permitted/);
    await until(() => events().some((e) => e.reason === 'denied-in-elevated-tree' && e.processPath === link), 'the event of the linked crontab');
    expect(events().some((e) => e.reason === 'scheduler-outside-elevation' && e.processPath === '/usr/bin/crontab')).to.equal(true);
    // A crontab an account had anyway (written here by root while the elevation runs) goes with the account.
    // The earlier elevations' accounts are removed after their results: gone before this one is looked for.
    await until(() => !readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(PREFIX)), 'the earlier accounts to be removed', 60_000);
    const running = asUser(['elevate', '--', 'sh', '-c', 'sleep 4']);
    let account = '';
    await until(() => {
      account = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')[0] ?? '').find((n) => n.startsWith(PREFIX)) ?? '';
      return account !== '';
    }, 'the ephemeral account');
    const crontab = path.join('/var/spool/cron/crontabs', account);
    mkdirSync('/var/spool/cron/crontabs', { recursive: true });
    writeFileSync(crontab, '* * * * * id > /tmp/x\n', { mode: 0o600 });
    spawnSync('chown', [account, crontab]);
    const done = await running;
    expect(done.status).to.equal(0);
    await until(() => !existsSync(crontab), 'the crontab to be removed with the account');
  });
});
