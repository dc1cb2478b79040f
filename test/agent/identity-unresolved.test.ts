/**
 * Fail closed on who asks (agent/daemon/identity.ts `unresolved`): rules name users and groups,
 * so an identity the name service cannot give in full is refused an elevation and a passcode
 * redemption, with one line naming why, and an `elevation-denied` event with reason
 * `identity-unresolved`. Before, such a requester was judged with no groups, and a deny rule on
 * one of its groups did not apply. A real root agent, real accounts, the user's real client.
 * Accounts: prefix `h22u`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Spool } from '../../agent/spool/spool.js';
import { Discovery } from '../../agent/discovery/discovery.js';
import { denyRuleGroups } from '../../agent/daemon/deny-groups.js';
import { compileRules, parseRule } from '../../src/rules/index.js';
import type { EventFields } from '../../src/collector-api/events.js';
import { bin, requireBuiltCli } from '../passcode-cli/support.js';
import { startClientAgent, type ClientAgent, type Outcome } from '../support/client-agent.js';
import { commandWorks, requireComponent } from '../support/components.js';
import { setPrimaryGid } from '../support/passwd-edit.js';

const USER = 'h22uusr';
const GROUP = 'h22ugrp';
const UNNAMED_GID = 3_999_997;
const UNKNOWN_UID = 3_999_996;
const rule = (name: string, json: object) => ({ name, value: JSON.stringify(json) });

describe('agent: an identity the name service cannot give in full is refused (fail closed)', function () {
  this.timeout(120_000);
  let agent: ClientAgent | undefined;
  let userGid = 0;
  let groupGid = 0;

  /** Runs the Node client as any uid and gid (setpriv: no account needed), in the agent's folder. */
  const asIds = (uid: number, gid: number, args: readonly string[]): Promise<Outcome> =>
    new Promise((resolve) => {
      const a = agent as ClientAgent;
      const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', process.execPath, bin, ...args], {
        cwd: a.tmp,
        env: { PATH: '/usr/bin:/bin', HOME: a.tmp, NO_COLOR: '1', ASCEND_AGENT_SOCKET: a.socket },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });

  before(async function () {
    requireComponent(this, process.getuid?.() === 0 && commandWorks('setpriv', ['--version']), 'root with setpriv (util-linux)', 'run the tests as root; apt-get install util-linux');
    requireBuiltCli();
    requireComponent(this, existsSync(path.join(path.dirname(bin), '..', 'build', 'native', 'peercred.node')), 'the addon build/native/peercred.node', 'npm run build');
    spawnSync('groupdel', [GROUP], { stdio: 'ignore' });
    expect(spawnSync('groupadd', [GROUP]).status).to.equal(0);
    groupGid = Number(spawnSync('getent', ['group', GROUP], { encoding: 'utf8' }).stdout.split(':')[2]);
    agent = await startClientAgent({
      user: USER,
      prefix: 'h22u',
      computer: 'H22U-PC',
      extraRules: [rule('no true for the group', { action: 'deny', match: { path: '/usr/bin/true' }, target: { groups: [GROUP] } })],
    });
    expect(spawnSync('usermod', ['-aG', GROUP, USER]).status).to.equal(0);
    userGid = Number(spawnSync('id', ['-g', USER], { encoding: 'utf8' }).stdout.trim());
  });

  after(async () => {
    await agent?.stop();
    spawnSync('groupdel', [GROUP], { stdio: 'ignore' });
  });

  it('the deny rule on a group applies to a member whose groups are all named (the control)', async () => {
    const r = await (agent as ClientAgent).asUser([process.execPath, bin, 'elevate', '--', '/usr/bin/true']);
    expect(r.status, r.stderr).to.not.equal(0);
    expect(r.stderr).to.include('denied by no true for the group');
  });

  it('a member of that group whose primary group has no name is refused, naming the group id, not judged without groups', async () => {
    await setPrimaryGid(USER, UNNAMED_GID);
    try {
      const r = await (agent as ClientAgent).asUser([process.execPath, bin, 'elevate', '--', '/usr/bin/true']);
      expect(r.status, r.stderr).to.equal(1);
      expect(r.stderr.trim().split('\n')[0]).to.equal(
        `Error: /usr/bin/true is not elevated: group id ${UNNAMED_GID} of ${USER} has no name in the name service, so the rules that name users and groups cannot be checked (try again; if it persists, an administrator should check the name service: sssd, winbind, /etc/group)`,
      );
      // The native client, which users run from the package, says the same.
      const native = path.join(path.dirname(bin), '..', 'build', 'native', 'ascend-elevate');
      {
        const n = await (agent as ClientAgent).asUser([native, 'elevate', '--', '/usr/bin/true']);
        expect(n.status, n.stderr).to.equal(1);
        expect(n.stderr).to.include(`group id ${UNNAMED_GID} of ${USER} has no name in the name service`);
      }
    } finally {
      await setPrimaryGid(USER, userGid);
    }
  });

  it('a uid the name service does not know is refused an elevation and a redemption, whatever its gid; status is still answered', async () => {
    const r = await asIds(UNKNOWN_UID, groupGid, ['elevate', '--', '/usr/bin/true']);
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr).to.include(`/usr/bin/true is not elevated: uid ${UNKNOWN_UID} is not known to the name service`);
    // Any passcode text reaches the agent's check (the agent refuses before it verifies anything).
    const file = path.join((agent as ClientAgent).tmp, 'h22u.ascpass');
    writeFileSync(file, 'h22u.not-a-real.passcode\n');
    chmodSync(file, 0o644);
    const redeem = await asIds(UNKNOWN_UID, groupGid, ['tse', 'redeem', file]);
    expect(redeem.status, redeem.stderr).to.not.equal(0);
    expect(redeem.stderr).to.include(`the passcode is not redeemed: uid ${UNKNOWN_UID} is not known to the name service`);
    // The program is not opened before the refusal: the name it was asked by is shown escaped.
    const odd = await asIds(UNKNOWN_UID, groupGid, ['elevate', '--', '/nonexistent/h22u\u001b[2J\u202eodd']);
    expect(odd.status, odd.stderr).to.equal(1);
    expect(odd.stderr).to.include(`uid ${UNKNOWN_UID} is not known to the name service`);
    expect(odd.stderr).to.not.match(/[\u0000-\u0009\u000b-\u001f\u202e]/);
    const status = await asIds(UNKNOWN_UID, groupGid, ['agent', 'status']);
    expect(status.status, status.stderr).to.equal(0);
  });

  it("discovery judges a sudo user as an elevation would: refused (would-deny, identity-unresolved) when a group has no name, or a deny rule's group is unknown", async () => {
    const tmp = (agent as ClientAgent).tmp;
    // A new Discovery for each look: one keeps a user's groups for a minute.
    const allowTrue = parseRule('true for everyone', JSON.stringify({ action: 'allow', match: { path: '/usr/bin/true' } }), 'ElevationRules');
    const judge = async (rules = [allowTrue]): Promise<EventFields> =>
      (
        await new Discovery({
          spoolDir: tmp,
          computer: 'H22U-PC',
          collections: [],
          rules: () => compileRules(rules),
          denyGroups: () => denyRuleGroups(rules),
          record: async () => true,
          log: () => undefined,
          publisherOf: null,
        }).eventOf({ kind: 'accept', user: USER, runAs: 'root', command: '/usr/bin/true', argv: [] }, 'journal')
      ).fields;
    expect(await judge()).to.include({ result: 'would-allow', rule: 'true for everyone' });
    // A deny rule's group is asked by its name, as for an elevation: one the user is not in
    // changes nothing; one the name service does not know refuses what that rule would deny.
    const denyTo = (group: string) => parseRule(`no true for ${group}`, JSON.stringify({ action: 'deny', match: { path: '/usr/bin/true' }, target: { groups: [group] } }), 'ElevationRules');
    expect(await judge([allowTrue, denyTo('root')])).to.include({ result: 'would-allow', rule: 'true for everyone' });
    const ghost = await judge([allowTrue, denyTo('h22ughostgrp')]);
    expect(ghost).to.include({ result: 'would-deny', reason: 'identity-unresolved' });
    expect(ghost).to.not.have.property('rule');
    await setPrimaryGid(USER, UNNAMED_GID);
    try {
      const fields = await judge();
      expect(fields).to.include({ result: 'would-deny', reason: 'identity-unresolved' });
      expect(fields).to.not.have.property('rule');
    } finally {
      await setPrimaryGid(USER, userGid);
    }
  });

  it('each refusal is an event for the collector, with reason identity-unresolved', async () => {
    const a = agent as ClientAgent;
    agent = undefined;
    await a.stop({ keepState: true });
    try {
      const spool = await Spool.open(path.join(a.tmp, 'state', 'spool'));
      const { events } = await spool.read();
      await spool.close();
      const refused = events.filter((e) => (e as { reason?: string }).reason === 'identity-unresolved');
      const kinds = refused.map((e) => `${e.type} ${String((e as { user?: string }).user)}`).sort();
      expect(kinds).to.deep.equal([`elevation-denied ${USER}`, `elevation-denied ${USER}`, `elevation-denied uid:${UNKNOWN_UID}`, `elevation-denied uid:${UNKNOWN_UID}`, `passcode-refused uid:${UNKNOWN_UID}`]);
    } finally {
      rmSync(a.tmp, { recursive: true, force: true });
    }
  });
});
