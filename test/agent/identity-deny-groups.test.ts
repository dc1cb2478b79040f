/**
 * A deny rule's group is asked of the name service by its name before a decision
 * (agent/daemon/deny-groups.ts): the account's group list (getgrouplist) keeps only what the
 * sources that answered gave, so a directory group missing from it must not let its member
 * past a deny rule, and a group whose source is down must not be taken as "not a member".
 * A real name-service module (test/agent/fixtures/nss-ascendtest.c, built here with cc and
 * named on the group line of /etc/nsswitch.conf for this suite only) plays the directory: it
 * answers the group h22dpart (listing h22dusr) by name and id, never in the user's group
 * list, and fails (UNAVAIL, EIO) for the group h22ddown. A real root agent, the user's real
 * client. Accounts: prefix `h22d`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { bin, requireBuiltCli, root } from '../passcode-cli/support.js';
import { startClientAgent, type ClientAgent } from '../support/client-agent.js';
import { commandWorks, requireComponent } from '../support/components.js';

const USER = 'h22dusr';
const NSSWITCH = '/etc/nsswitch.conf';
const SERVICE = 'ascendtest';
const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/lib64'];
const rule = (name: string, json: object) => ({ name, value: JSON.stringify(json) });

/** /etc/nsswitch.conf without this suite's source on any line (a run that died left it there). */
function withoutService(text: string): string {
  return text
    .split('\n')
    .map((l) => (/^\s*group\s*:/.test(l) ? l.replace(new RegExp(`\\s+${SERVICE}\\b`, 'g'), '') : l))
    .join('\n');
}

describe('agent: the groups deny rules name are asked of the name service by name (fail closed)', function () {
  this.timeout(120_000);
  let agent: ClientAgent | undefined;
  let module = '';
  let original = '';

  before(async function () {
    requireComponent(this, process.getuid?.() === 0 && commandWorks('cc', ['--version']) && commandWorks('setpriv', ['--version']), 'root with a C compiler and setpriv', 'run the tests as root; apt-get install build-essential util-linux');
    requireBuiltCli();
    const libDir = LIB_DIRS.find((d) => existsSync(path.join(d, 'libnss_files.so.2')));
    requireComponent(this, libDir !== undefined && existsSync(NSSWITCH), "glibc's name-service modules and /etc/nsswitch.conf", 'a glibc system');
    module = path.join(libDir as string, `libnss_${SERVICE}.so.2`);
    const cc = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', module, path.join(root, 'test', 'agent', 'fixtures', 'nss-ascendtest.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).to.equal(0);
    original = withoutService(readFileSync(NSSWITCH, 'utf8'));
    const named = original.split('\n').map((l) => (/^\s*group\s*:/.test(l) ? `${l.trimEnd()} ${SERVICE}` : l));
    writeFileSync(NSSWITCH, named.join('\n'));
    // The scenario as the system sees it: the group, by name, lists the user; the user's group list does not have it.
    expect(spawnSync('getent', ['group', 'h22dpart'], { encoding: 'utf8' }).stdout.trim()).to.equal(`h22dpart:x:3999985:${USER}`);
    agent = await startClientAgent({
      user: USER,
      prefix: 'h22d',
      computer: 'H22D-PC',
      extraRules: [
        rule('no true for part', { action: 'deny', match: { path: '/usr/bin/true' }, target: { groups: ['h22dpart'] } }),
        rule('no echo for down', { action: 'deny', match: { path: '/usr/bin/echo' }, target: { groups: ['h22ddown'] } }),
      ],
    });
    expect(spawnSync('id', ['-Gn', USER], { encoding: 'utf8' }).stdout.split(/\s+/)).to.not.include('h22dpart');
  });

  after(async () => {
    await agent?.stop();
    if (original) writeFileSync(NSSWITCH, original);
    else if (existsSync(NSSWITCH)) writeFileSync(NSSWITCH, withoutService(readFileSync(NSSWITCH, 'utf8')));
    if (module) rmSync(module, { force: true });
  });

  it('a member that the group lists, missing from its group list, is denied by the rule on that group', async () => {
    const r = await (agent as ClientAgent).asUser([process.execPath, bin, 'elevate', '--', '/usr/bin/true']);
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr).to.include('/usr/bin/true is not elevated: denied by no true for part');
  });

  it('a deny rule whose group cannot be read refuses what it would deny, naming the group and the error', async () => {
    const r = await (agent as ClientAgent).asUser([process.execPath, bin, 'elevate', '--', '/usr/bin/echo', 'hi']);
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr.split('\n')[0]).to.equal(
      'Error: /usr/bin/echo is not elevated: the group h22ddown that a deny rule names could not be read from the name service (Input/output error), so the rules that name users and groups cannot be checked (try again; if it persists, an administrator should check the name service: sssd, winbind, /etc/group)',
    );
    expect(r.stdout).to.equal('');
  });

  it('a program no rule on those groups would deny still runs', async () => {
    const a = agent as ClientAgent;
    const r = await a.asUser([process.execPath, bin, 'elevate', '--', path.join(a.rootOwned, 'both.sh')]);
    expect(r.status, r.stderr.slice(-300)).to.equal(3);
    expect(r.stdout.split('\n').length).to.be.greaterThan(3000);
  });
});
