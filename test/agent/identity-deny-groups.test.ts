/**
 * A deny rule's group is asked of the name service by its name before a decision, for the
 * first program of an elevation and for every later exec of its tree
 * (agent/daemon/deny-groups.ts): the account's group list (getgrouplist) keeps only what the
 * sources that answered gave, so a directory group missing from it must not let its member
 * past a deny rule, and a group whose source is down or that no source knows must not be
 * taken as "not a member".
 * A real name-service module (test/agent/fixtures/nss-ascendtest.c, built here with cc) plays
 * the directory: it answers the group h22dpart (listing h22dusr) by name and id, never in the
 * user's group list, fails (UNAVAIL, EIO) for the group h22ddown, and knows no other group.
 * Only the agent sees it: the agent runs in a private mount namespace whose
 * /etc/nsswitch.conf (bind-mounted) adds the module to the group line, found through
 * LD_LIBRARY_PATH; nothing of the system is changed. A real root agent, the user's real
 * client. Accounts: prefix `h22d`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { bin, requireBuiltCli, root } from '../passcode-cli/support.js';
import { startClientAgent, type ClientAgent } from '../support/client-agent.js';
import { commandWorks, requireComponent } from '../support/components.js';

const USER = 'h22dusr';
const SERVICE = 'ascendtest';
const rule = (name: string, json: object) => ({ name, value: JSON.stringify(json) });

describe('agent: the groups deny rules name are asked of the name service by name (fail closed)', function () {
  this.timeout(120_000);
  let agent: ClientAgent | undefined;
  let dir = '';
  /** Runs argv in a private mount namespace that sees the module, as the agent does. */
  let inNamespace: (argv: string[]) => string[] = (argv) => argv;

  before(async function () {
    requireComponent(
      this,
      process.getuid?.() === 0 && commandWorks('cc', ['--version']) && commandWorks('setpriv', ['--version']) && commandWorks('unshare', ['--version']) && existsSync('/etc/nsswitch.conf'),
      'root with a C compiler, setpriv, unshare and /etc/nsswitch.conf (glibc)',
      'run the tests as root; apt-get install build-essential util-linux',
    );
    requireBuiltCli();
    dir = mkdtempSync('/tmp/h22d-nss-');
    chmodSync(dir, 0o755);
    const cc = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', path.join(dir, `libnss_${SERVICE}.so.2`), path.join(root, 'test', 'agent', 'fixtures', 'nss-ascendtest.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).to.equal(0);
    const nsswitch = readFileSync('/etc/nsswitch.conf', 'utf8')
      .split('\n')
      .map((l) => (/^\s*group\s*:/.test(l) ? `${l.trimEnd()} ${SERVICE}` : l));
    writeFileSync(path.join(dir, 'nsswitch.conf'), nsswitch.join('\n'), { mode: 0o644 });
    const script = `set -e; mount --make-rprivate /; mount --bind ${dir}/nsswitch.conf /etc/nsswitch.conf; export LD_LIBRARY_PATH=${dir}; exec "$@"`;
    inNamespace = (argv) => ['/usr/bin/unshare', '-m', '/bin/sh', '-c', script, 'sh', ...argv];
    const [cmd, ...args] = inNamespace(['/usr/bin/getent', 'group', 'h22dpart']);
    // The scenario as the agent sees it: the group, by name, lists the user; the user's group list does not have it.
    expect(spawnSync(cmd as string, args, { encoding: 'utf8' }).stdout.trim()).to.equal(`h22dpart:x:3999985:${USER}`);
    agent = await startClientAgent({
      user: USER,
      prefix: 'h22d',
      computer: 'H22D-PC',
      wrapAgent: inNamespace,
      extraRules: [
        rule('ls for everyone', { action: 'allow', match: { path: '/usr/bin/ls' } }),
        rule('env for everyone', { action: 'allow', match: { path: '/usr/bin/env' } }),
        rule('no true for part', { action: 'deny', match: { path: '/usr/bin/true' }, target: { groups: ['h22dpart'] } }),
        rule('no id for part', { action: 'deny', match: { path: '/usr/bin/id' }, target: { groups: ['h22dpart'] } }),
        rule('no echo for down', { action: 'deny', match: { path: '/usr/bin/echo' }, target: { groups: ['h22ddown'] } }),
        rule('no ls for ghosts', { action: 'deny', match: { path: '/usr/bin/ls' }, target: { groups: ['h22dghost'] } }),
      ],
    });
    const [c2, ...a2] = inNamespace(['/usr/bin/id', '-Gn', USER]);
    expect(spawnSync(c2 as string, a2, { encoding: 'utf8' }).stdout.split(/\s+/)).to.not.include('h22dpart');
  });

  after(async () => {
    await agent?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const elevate = (...argv: string[]) => (agent as ClientAgent).asUser([process.execPath, bin, 'elevate', '--', ...argv]);

  it('a member that the group lists, missing from its group list, is denied by the rule on that group', async () => {
    const r = await elevate('/usr/bin/true');
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr).to.include('/usr/bin/true is not elevated: denied by no true for part');
  });

  it('the same inside an elevated tree: a later exec its rule denies is refused (the exec guard asks too)', async () => {
    const r = await elevate('/usr/bin/env', '/usr/bin/id', '-u');
    expect(r.stdout, r.stderr).to.not.match(/^\d+\s*$/m);
    expect(r.status, r.stderr).to.not.equal(0);
    expect(r.stderr).to.match(/Operation not permitted|Permission denied|not permitted/);
  });

  it('a deny rule whose group cannot be read refuses what it would deny, naming the group and the error', async () => {
    const r = await elevate('/usr/bin/echo', 'hi');
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr.split('\n')[0]).to.equal(
      'Error: /usr/bin/echo is not elevated: the group h22ddown that a deny rule names could not be read from the name service (Input/output error), so the rules that name users and groups cannot be checked (try again; if it persists, an administrator should check the name service: sssd, winbind, /etc/group)',
    );
    expect(r.stdout).to.equal('');
  });

  it('a deny rule whose group no source knows refuses what it would deny (a source that is down may say "not found")', async () => {
    const r = await elevate('/usr/bin/ls', '/');
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr).to.include('/usr/bin/ls is not elevated: the group h22dghost that a deny rule names is not known to the name service');
  });

  it('the admin is told at the policy change of each deny rule group the name service cannot give, with the rules that name it', async () => {
    const a = agent as ClientAgent;
    const warned = () => a.log.text.split('\n').filter((l) => / warn deny rule group /.test(l));
    for (let i = 0; i < 100 && warned().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const lines = warned();
    expect(lines.some((l) => l.includes('deny rule group h22dghost is not known to the name service: what no ls for ghosts would deny is refused to everyone'))).to.equal(true, lines.join('\n'));
    expect(lines.some((l) => l.includes('deny rule group h22ddown could not be read from the name service (Input/output error): what no echo for down would deny'))).to.equal(true, lines.join('\n'));
    // The group that exists is not named.
    expect(lines.join('\n')).to.not.include('h22dpart');
    expect(lines).to.have.length(2);
  });

  it('a program no rule on those groups would deny still runs', async () => {
    const a = agent as ClientAgent;
    const r = await a.asUser([process.execPath, bin, 'elevate', '--', path.join(a.rootOwned, 'both.sh')]);
    expect(r.status, r.stderr.slice(-300)).to.equal(3);
    expect(r.stdout.split('\n').length).to.be.greaterThan(3000);
  });
});
