/**
 * Who asks (agent/daemon/identity.ts): the name service read in the agent's own process
 * (native/peercred.c lookupAccount) answers exactly what getent and id answer, for real local
 * accounts with supplementary groups, root, nobody and a uid nobody has.
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { lookupInProcess, requesterByForks, requesterOf } from '../../agent/daemon/identity.js';
import { askInProcess, getentLookup, nssLookup, releaseNssSlot, takeNssSlot } from '../../agent/executor/nss.js';
import { requireComponent } from '../support/components.js';
import { editEtc, setPrimaryGid } from '../support/passwd-edit.js';

const PREFIX = 'ascidn';

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

const UNNAMED_GID = 3_999_998;

const SPACED = `${PREFIX} spaced group`;
const SPACED_GID = 3_999_990;
const DUPLICATE_UID = 3_999_991;
/** Removes the lines the tests wrote directly: a group whose name has blanks, a second account of the same name. */
async function removeWritten(): Promise<void> {
  await editEtc('group', (lines) => lines.filter((l) => !l.startsWith(`${SPACED}:`)));
  await editEtc('passwd', (lines) => lines.filter((l) => l.split(':')[2] !== String(DUPLICATE_UID)));
}

async function removeAll(): Promise<void> {
  await removeWritten();
  spawnSync('userdel', ['-r', `${PREFIX}u`], { stdio: 'ignore' });
  spawnSync('userdel', [`${PREFIX}x`], { stdio: 'ignore' });
  spawnSync('groupdel', [`${PREFIX}x`], { stdio: 'ignore' });
  for (const g of ['g1', 'g2', 'u']) spawnSync('groupdel', [`${PREFIX}${g}`], { stdio: 'ignore' });
}

describe('agent identity: the name service in the agent process, as getent and id answer', function () {
  this.timeout(60_000);
  let uid = 0;
  let gid = 0;

  before(async function () {
    requireComponent(this, process.platform === 'linux' && process.getuid?.() === 0, 'root on Linux (useradd, groupadd)', 'run the tests as root');
    await removeAll();
    sh('groupadd', [`${PREFIX}g1`]);
    sh('groupadd', [`${PREFIX}g2`]);
    sh('useradd', ['-M', '-d', '/nonexistent-ascidn', '-G', `${PREFIX}g2,${PREFIX}g1`, `${PREFIX}u`]);
    const id = spawnSync('id', ['-u', `${PREFIX}u`], { encoding: 'utf8' });
    const g = spawnSync('id', ['-g', `${PREFIX}u`], { encoding: 'utf8' });
    uid = Number(id.stdout.trim());
    gid = Number(g.stdout.trim());
  });
  after(removeAll);

  it('answers in process where the addon is built (no fork per request)', async () => {
    const p = lookupInProcess(0, 0);
    expect(p, 'lookupAccount of build/native/peercred.node').to.not.equal(undefined);
    await p;
  });

  it('the same name, home, groups (primary first) and gids as getent and id, for a user with supplementary groups, root and nobody', async () => {
    for (const [u, g] of [
      [uid, gid],
      [0, 0],
      [65534, 65534],
      [uid, 0], // a peer whose gid is not its account's primary group
    ] as const) {
      const inProcess = await lookupInProcess(u, g);
      const forks = await requesterByForks(u, g);
      expect(inProcess, `uid ${u} gid ${g}`).to.deep.equal(forks);
    }
    const r = await requesterOf(uid, gid);
    expect(r.name).to.equal(`${PREFIX}u`);
    expect(r.home).to.equal('/nonexistent-ascidn');
    expect(r.groups[0]).to.equal(`${PREFIX}u`);
    expect([...r.groups].sort()).to.deep.equal([`${PREFIX}g1`, `${PREFIX}g2`, `${PREFIX}u`]);
  });

  it('a uid the name service does not know stands for itself, with only the peer gid', async () => {
    const unknown = 3_999_999_999;
    const r = await lookupInProcess(unknown, 4242);
    expect(r).to.deep.equal(await requesterByForks(unknown, 4242));
    expect(r).to.deep.equal({ uid: unknown, gid: 4242, name: `uid:${unknown}`, home: null, groups: [], gids: [4242], unresolved: `uid ${unknown} is not known to the name service` });
  });

  it('an account with a group the name service cannot name is unresolved, naming that group id, both ways', async () => {
    // The primary group of a second account set to an id no group has (useradd would refuse it: written directly).
    sh('useradd', ['-M', '-d', '/nonexistent-ascidn', '-G', `${PREFIX}g1`, `${PREFIX}x`]);
    try {
      const xuid = Number(spawnSync('id', ['-u', `${PREFIX}x`], { encoding: 'utf8' }).stdout.trim());
      await setPrimaryGid(`${PREFIX}x`, UNNAMED_GID);
      const inProcess = await lookupInProcess(xuid, UNNAMED_GID);
      expect(inProcess).to.deep.equal(await requesterByForks(xuid, UNNAMED_GID));
      expect(inProcess?.name).to.equal(`${PREFIX}x`);
      expect(inProcess?.unresolved).to.equal(`group id ${UNNAMED_GID} of ${PREFIX}x has no name in the name service`);
      // A complete identity has none.
      expect(await requesterOf(uid, gid)).to.not.have.property('unresolved');
    } finally {
      // userdel leaves the account's own group once its primary gid was changed: removed too.
      spawnSync('userdel', [`${PREFIX}x`], { stdio: 'ignore' });
      spawnSync('groupdel', [`${PREFIX}x`], { stdio: 'ignore' });
    }
  });

  it('a group whose name has blanks (as directory groups do) is one group, both ways', async () => {
    // groupadd refuses such a name; the files module reads it, as sssd or winbind would give it.
    await editEtc('group', (lines) => [...lines.filter((l) => l !== ''), `${SPACED}:x:${SPACED_GID}:${PREFIX}u`, '']);
    try {
      const inProcess = await lookupInProcess(uid, gid);
      expect(inProcess?.groups).to.include(SPACED);
      expect(inProcess?.gids).to.include(SPACED_GID);
      expect(inProcess).to.not.have.property('unresolved');
      expect(await requesterByForks(uid, gid)).to.deep.equal(inProcess);
    } finally {
      await removeWritten();
    }
  });

  it('a name that the name service gives another uid for is unresolved, both ways (the groups by that name would be the other account\'s)', async () => {
    // A second passwd line with the same name and another uid: getent passwd UID names it, id NAME finds the first.
    await editEtc('passwd', (lines) => [...lines.filter((l) => l !== ''), `${PREFIX}u:x:${DUPLICATE_UID}:${gid}::/nonexistent-ascidn:/usr/sbin/nologin`, '']);
    try {
      const forks = await requesterByForks(DUPLICATE_UID, gid);
      expect(forks.name).to.equal(`${PREFIX}u`);
      expect(forks.unresolved).to.equal(`the name service gave the name ${PREFIX}u for uid ${DUPLICATE_UID}, and another uid for that name`);
      // In process too: the other account's supplementary groups are not given to this uid.
      const inProcess = await lookupInProcess(DUPLICATE_UID, gid);
      expect(inProcess).to.deep.equal(forks);
      expect(forks.groups).to.deep.equal([]);
      expect(forks.gids).to.deep.equal([gid]);
      // The account that owns the name is still itself.
      expect((await lookupInProcess(uid, gid))?.unresolved).to.equal(undefined);
    } finally {
      await removeWritten();
    }
  });

  it('a group removed after the fact is no longer among the groups of the next request', async () => {
    sh('gpasswd', ['-d', `${PREFIX}u`, `${PREFIX}g2`]);
    const r = await requesterOf(uid, gid);
    expect(r.groups).to.not.include(`${PREFIX}g2`);
    expect(r).to.deep.equal(await requesterByForks(uid, gid));
  });

  it('whether a name or id is taken (ephemeral accounts): in process, the same answers as getent', async () => {
    for (const [db, key] of [
      ['passwd', 'root'],
      ['passwd', '0'],
      ['group', '0'],
      ['group', 'nogroup'],
      ['passwd', `${PREFIX}u`],
      ['passwd', String(uid)],
      ['group', String(gid)],
      ['group', `${PREFIX}g1`],
      ['passwd', `${PREFIX}-nobody-has-this`],
      ['group', `${PREFIX}-nobody-has-this`],
      ['passwd', '2013277999'],
      ['group', '2013277999'],
      ['passwd', '01'],
    ] as const) {
      expect(await nssLookup(db, key), `${db} ${key}`).to.equal(await getentLookup(db, key));
    }
  });

  it('two unanswered lookups (a hung name service) of either kind use up the shared limit: the next ones fork, and still answer the same', async () => {
    expect(takeNssSlot()).to.equal(true);
    expect(takeNssSlot()).to.equal(true);
    try {
      expect(lookupInProcess(uid, gid), 'no third pool thread').to.equal(undefined);
      expect(await requesterOf(uid, gid)).to.deep.equal(await requesterByForks(uid, gid));
      expect(await nssLookup('passwd', 'root')).to.equal(true);
    } finally {
      releaseNssSlot();
      releaseNssSlot();
    }
    const again = lookupInProcess(0, 0);
    expect(again).to.not.equal(undefined);
    // Answered before the next test, which counts the slots.
    await again;
  });

  it("a background check (deny rules' groups at a policy change) asks in process only while no request's lookup is out", async () => {
    const ask = (cb: (err: Error | null, value: number) => void): void => cb(null, 7);
    expect(takeNssSlot()).to.equal(true);
    try {
      expect(askInProcess(ask, 1000, 1), 'the check forks while a request holds a slot').to.equal(undefined);
    } finally {
      releaseNssSlot();
    }
    expect(await askInProcess(ask, 1000, 1)).to.deep.equal({ ok: true, value: 7 });
  });
});
