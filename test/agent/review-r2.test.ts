/**
 * Review R2 of issue 12 (finding 3): the set-id sweep as an attacker sees it. A process that
 * ran a leftover (so runs with the removed uid) can make a new leftover in a folder the walk
 * has already passed; one walk then reports "complete" and the journal entry is dropped with
 * the new leftover still set-uid. And FUSE mounts of every type are left out of the walk.
 * (As root: the files belong to a removed id.)
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ID_EPOCH_MS, IdAllocator, parseSubordinateIds } from '../../agent/executor/ids.js';
import { isSweptMount, parseMountinfo, processesWithIds, SetidSweeper } from '../../agent/executor/setid-sweep.js';
import { commandWorks, requireComponent } from '../support/components.js';

const mode = (file: string): number => statSync(file).mode & 0o7777;

describe('review R2: set-id sweep (issue 12, finding 3)', function () {
  this.timeout(60_000);
  let tmp = '';
  const children: ChildProcess[] = [];

  before(function () {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    requireComponent(this, isRoot && commandWorks('find', ['--version']) && commandWorks('setpriv', ['--version']), 'root with find and setpriv', 'run as root; apt-get install findutils util-linux');
    tmp = mkdtempSync('/tmp/r2t-');
    chmodSync(tmp, 0o755);
  });

  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('a leftover made behind the walk (by a process that runs with the removed uid) is still cleared, and such processes end before the walk', async () => {
    // A removed id nobody has (from the top of the default range, which the allocator reaches last).
    const dead = 0x7ffd0000 + randomInt(0, 0xffff);
    const state = path.join(tmp, 'state');
    mkdirSync(state, { mode: 0o700 });
    const area = path.join(tmp, 'area');
    mkdirSync(area, { mode: 0o755 });
    const first = path.join(area, 'first');
    copyFileSync('/usr/bin/true', first);
    chownSync(first, dead, dead);
    chmodSync(first, 0o6755);
    // A process that already runs with the removed uid when the sweep starts (it ran a leftover).
    const runner = spawn('setpriv', [`--reuid=${dead}`, `--regid=${dead}`, '--clear-groups', 'sleep', '300'], { stdio: 'ignore' });
    children.push(runner);
    // Until setpriv has switched to the removed uid (it must have, before the sweep starts: a
    // bound too short for a loaded machine made this test fail now and then, the sweep not yet
    // seeing the process it is about).
    const switched = () => new RegExp(`^Uid:\\s+${dead}\\b`, 'm').test(readFileSync(`/proc/${runner.pid}/status`, 'utf8'));
    for (let i = 0; i < 1200 && !switched(); i++) await new Promise((r) => setTimeout(r, 25));
    expect(switched(), 'the runner runs with the removed uid before the sweep').to.equal(true);
    // find, as the sweep runs it, then what such a process does meanwhile: a new set-uid copy in
    // the folder the walk has passed (made once). It also notes whether the runner still lived.
    const behind = path.join(area, 'behind');
    const made = path.join(tmp, 'made-once');
    const seenAlive = path.join(tmp, 'runner-alive');
    const fakeFind = path.join(tmp, 'find.sh');
    writeFileSync(
      fakeFind,
      [
        '#!/bin/sh',
        // A zombie has ended. (The state letter follows the tab: "[[:space:]]*[^ZX]" let the tab itself
        // match, so a killed process not yet reaped by this test counted as alive, now and then.)
        `if grep -qs '^State:[[:space:]]*[^ZX[:space:]]' /proc/${runner.pid}/status; then : > '${seenAlive}'; fi`,
        '/usr/bin/find "$@"; rc=$?',
        `if [ ! -e '${made}' ]; then : > '${made}'; cp /usr/bin/true '${behind}'; chown ${dead}:${dead} '${behind}'; chmod 4755 '${behind}'; fi`,
        'exit $rc',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    writeFileSync(path.join(state, 'setid-sweeps.json'), `${JSON.stringify({ pending: [{ uid: dead, gid: dead, elevationId: randomUUID() }] })}\n`, { mode: 0o600 });
    const sweeper = new SetidSweeper(state, () => undefined, { find: fakeFind, targets: () => [area] });
    const report = await sweeper.runOnce();
    expect(mode(first)).to.equal(0o755);
    expect(existsSync(behind)).to.equal(true);
    expect(mode(behind), 'the leftover made behind the walk').to.equal(0o755);
    expect(report.complete).to.equal(true);
    expect(existsSync(seenAlive), 'a process with the removed uid was still running while the walk ran').to.equal(false);
    expect(report.endedPids).to.include(runner.pid);
    expect(JSON.parse(readFileSync(path.join(state, 'setid-sweeps.json'), 'utf8'))).to.deep.equal({ pending: [] });
  });

  it("counts a process that holds the swept group only as a supplementary group (it became another user through a set-uid file, keeping the account's group)", async function () {
    requireComponent(this, process.getuid?.() === 0 && commandWorks('setpriv', ['--version']), 'root with setpriv', 'run as root; apt-get install util-linux');
    const gid = 2_000_000_000 + randomInt(1_000_000);
    const holder = spawn('setpriv', ['--reuid=65534', '--regid=65534', `--groups=${gid}`, 'sleep', '30'], { stdio: 'ignore' });
    try {
      let found: number[] = [];
      for (let i = 0; i < 100 && !found.includes(holder.pid as number); i++) {
        await new Promise((r) => setTimeout(r, 20));
        found = processesWithIds(new Set(), new Set([gid]));
      }
      expect(found).to.deep.equal([holder.pid]);
      expect(processesWithIds(new Set(), new Set([gid + 1]))).to.deep.equal([]);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('leaves out every FUSE mount, fuseblk with a subtype included', () => {
    const info = [
      '40 22 0:40 / /media/u/stick rw,nosuid,nodev - fuseblk /dev/sdb1 rw,user_id=0',
      '41 22 0:41 / /media/u/ntfs rw,nosuid,nodev - fuseblk.ntfs-3g /dev/sdc1 rw,user_id=1000',
      '42 22 0:42 / /home/u/mnt rw,nosuid,nodev - fuse.sshfs u@h: rw',
      '43 22 0:43 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw',
    ].join('\n');
    expect(parseMountinfo(info).filter(isSweptMount).map((m) => m.mountPoint)).to.deep.equal(['/tmp']);
  });
});

describe('review R2: ephemeral ids and subordinate ids (issue 12, finding 3)', function () {
  this.timeout(30_000);
  let tmp = '';
  before(function () {
    requireComponent(this, typeof process.getuid === 'function' && process.getuid() === 0, 'root', 'run as root');
    tmp = mkdtempSync('/tmp/r2t-ids-');
    chmodSync(tmp, 0o755);
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("never hands out an id of a user's subordinate range (/etc/subuid, /etc/subgid): a rootless container runs with those ids", async () => {
    const range = { first: 0x70000000, last: 0x70000000 + 1_000_000 };
    const state = path.join(tmp, 'state');
    const claims = path.join(tmp, 'claims');
    mkdirSync(state, { mode: 0o700 });
    const subuid = path.join(tmp, 'subuid');
    const subgid = path.join(tmp, 'subgid');
    // bob's containers run as range.first .. +65535 on the host; carol's gids a bit above.
    writeFileSync(subuid, `bob:${range.first}:65536\n# a comment\nbroken line\n`);
    writeFileSync(subgid, `carol:${range.first + 65536}:10\n`);
    const alloc = new IdAllocator(state, range, () => undefined, () => ID_EPOCH_MS, claims, [subuid, subgid, path.join(tmp, 'missing')]);
    const id = await alloc.allocate(() => []);
    expect(id).to.equal(range.first + 65536 + 10);
    expect(await alloc.allocate(() => [])).to.equal(id + 1);
    expect(parseSubordinateIds('a:5:0\nb:10:2\n')).to.deep.equal([{ first: 10, last: 11 }]);
  });
});
