/**
 * Issue 19, deliver 2, through a real agent (`ascend agent run`, the built CLI) and a real
 * user: a rule on the Debian package publisher `deb:coreutils` elevates /usr/bin/true (dpkg
 * lists it as /bin/true; the agent checks its MD5 through the descriptor it runs), and refuses
 * a copy of it and a modified copy (root's, in a root-only folder, so the program is trusted
 * and only the publisher refuses it). The agent books the lookup as the phase "publisher",
 * and only while a rule names a package publisher. `ascend rules test` gives the same answers.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { expect } from 'chai';
import { requireComponent } from '../support/components.js';
import { ascend, cliEnv, requireBuiltCli } from '../passcode-cli/support.js';
import { addUser, AgentProcess, asUser, cleanupDir, removeUsersWithPrefix, rule, tempDir, until, writePolicy } from './h6-support.js';

const USER = 'ascdebu';

describe('Debian package publisher through a real agent (issue 19)', function () {
  this.timeout(180_000);
  const prefix = `ascdeb${randomBytes(2).toString('hex')}_`;
  let tmp = '';
  let optDir = '';
  let copy = '';
  let modified = '';
  let env: NodeJS.ProcessEnv = {};
  let agent: AgentProcess | undefined;
  const policy = (): string => path.join(tmp, 'Registry.pol');
  const rules = [rule('true of coreutils', { action: 'allow', match: { path: 'true', publisher: 'deb:coreutils' } }), rule('sleep', { action: 'allow', match: { path: '/usr/bin/sleep' } })];

  before(async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent creates accounts)', 'run the tests as root');
    requireComponent(this, spawnSync('dpkg-query', ['-S', '/bin/true']).status === 0, "dpkg's database listing /bin/true (Debian)", 'run on Debian');
    requireBuiltCli();
    tmp = tempDir('ascdeb');
    env = cliEnv(tmp);
    addUser(USER);
    // Not under /tmp (others may write it): a folder only root may change, so the copies are trusted programs.
    optDir = mkdtempSync('/opt/ascdeb-');
    chmodSync(optDir, 0o755);
    copy = path.join(optDir, 'true');
    copyFileSync('/usr/bin/true', copy);
    chmodSync(copy, 0o755);
    const modDir = path.join(optDir, 'mod');
    spawnSync('mkdir', ['-m', '0755', modDir]);
    modified = path.join(modDir, 'true');
    copyFileSync('/usr/bin/true', modified);
    appendFileSync(modified, Buffer.from([0]));
    chmodSync(modified, 0o755);
    writePolicy(policy(), rules, [], prefix);
    agent = new AgentProcess(path.join(tmp, 'agent.sock'), path.join(tmp, 'state'), policy(), env);
    await agent.start();
  });

  after(async () => {
    await agent?.stop();
    removeUsersWithPrefix(prefix);
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    cleanupDir(tmp);
    if (optDir) rmSync(optDir, { recursive: true, force: true });
  });

  it('a deb:coreutils rule elevates /usr/bin/true, and the lookup is booked as the phase "publisher"', async () => {
    const a = agent as AgentProcess;
    const r = await asUser(USER, ['elevate', '--', '/usr/bin/true'], a.socket, tmp);
    expect(r.status, r.stderr + a.log.text).to.equal(0);
    await until(() => /elevation ended[^\n]*"publisher"/.test(a.log.text), 'the elevation to end with a publisher phase');
  });

  it('refuses a copy of /usr/bin/true (same bytes, a path no package lists) and a modified copy', async () => {
    const a = agent as AgentProcess;
    for (const p of [copy, modified]) {
      const r = await asUser(USER, ['elevate', '--', p], a.socket, tmp);
      expect(r.status, r.stdout + r.stderr).to.not.equal(0);
      expect(r.stderr).to.match(/not elevated: no elevation rule matches/);
      await until(() => a.events().some((e) => e.type === 'elevation-denied' && e.processPath === p), `the refusal of ${p} on record`);
    }
  });

  it('`ascend rules test` resolves the package as the agent does', () => {
    const ok = ascend(['rules', 'test', '--policy', policy(), '--user', USER, '--computer', 'H6-PC', '--app', '/usr/bin/true', '--json'], env);
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.json).to.include({ decision: 'allow', debPublisher: 'deb:coreutils' });
    const no = ascend(['rules', 'test', '--policy', policy(), '--user', USER, '--computer', 'H6-PC', '--app', modified], env);
    expect(no.status, no.stderr).to.equal(0);
    expect(no.stdout).to.match(/^NOT ELEVATED/);
    expect(no.stdout).to.match(/no package publisher: .*no installed package lists/);
  });

  it('without a deb: rule the agent does not look the package up (no "publisher" phase)', async () => {
    const a = agent as AgentProcess;
    await a.stop();
    writePolicy(policy(), [rule('sleep', { action: 'allow', match: { path: '/usr/bin/sleep' } })], [], prefix);
    await a.start();
    const r = await asUser(USER, ['elevate', '--', '/usr/bin/sleep', '0'], a.socket, tmp);
    expect(r.status, r.stderr + a.log.text).to.equal(0);
    await until(() => /elevation ended/.test(a.log.text), 'the elevation to end');
    expect(a.log.text).to.not.match(/"publisher"/);
  });
});
