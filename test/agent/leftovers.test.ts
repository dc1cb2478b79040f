/**
 * Issue 12, finding 3 (leftovers and reused ids) and finding 10 (several agents on one
 * machine): as root, real accounts, real processes, real set-id files.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LinuxExecutor, findCgroup2Mount, type ElevationSpec, type RunningElevation } from '../../agent/executor/index.js';
import { DEFAULT_ID_RANGE, ID_EPOCH_MS, ID_TIME_STEP_MS, IdAllocator, nextId, timeFloor } from '../../agent/executor/ids.js';
import { parseMountinfo, sweepTargets } from '../../agent/executor/setid-sweep.js';
import { commandWorks, requireComponent } from '../support/components.js';
import { bin, requireBuiltCli, root } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';

const PREFIX = 'h3tx_';
const TEST_NAMES = /^h3t/;

function firstLines(stream: Readable, n: number): Promise<string[]> {
  return new Promise((resolve) => {
    let s = '';
    stream.on('data', (d: Buffer) => {
      s += d.toString();
      const lines = s.split('\n');
      if (lines.length > n) resolve(lines.slice(0, n));
    });
  });
}

function accountExists(name: string): boolean {
  return spawnSync('getent', ['passwd', name]).status === 0;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function mode(file: string): number {
  return statSync(file).mode & 0o7777;
}

/** Waits for the executor's background set-id sweeps (today's code has none: then nothing to wait for). */
async function sweepsIdle(ex: LinuxExecutor): Promise<void> {
  const idle = (ex as unknown as { sweepsIdle?: () => Promise<void> }).sweepsIdle;
  if (idle) await idle.call(ex);
}

describe('Leftovers and ids of ephemeral accounts (issue 12 findings 3 and 10; as root)', function () {
  this.timeout(120_000);
  let tmp = '';
  let homeRoot = '';
  const started: RunningElevation[] = [];
  const executors: LinuxExecutor[] = [];
  const cgroupsToRemove: string[] = [];
  const scratch: string[] = [];

  function spec(over: Partial<ElevationSpec> = {}): ElevationSpec {
    return { elevationId: randomUUID(), requester: { uid: 0, gid: 0, name: 'root' }, command: ['true'], cwd: '/', groups: ['S-1-5-32-544'], integrity: 'High', stdio: 'pipe', ...over };
  }
  function executor(stateDir: string, over: Record<string, unknown> = {}): LinuxExecutor {
    const ex = new LinuxExecutor({ accountPrefix: PREFIX, homeRoot, stateDir, maxLifetimeMs: 3_600_000, leftoverGraceMs: 300, ...over });
    executors.push(ex);
    return ex;
  }
  async function start(ex: LinuxExecutor, s: ElevationSpec): Promise<RunningElevation> {
    const r = await ex.start(s);
    started.push(r);
    return r;
  }
  /** Runs `id -u; id -g` elevated and returns both. */
  async function ids(ex: LinuxExecutor): Promise<{ uid: number; gid: number }> {
    const r = await start(ex, spec({ command: ['sh', '-c', 'id -u; id -g'] }));
    const [u, g] = await firstLines(r.stdout, 2);
    await r.done;
    return { uid: Number(u), gid: Number(g) };
  }

  before(function () {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    requireComponent(this, isRoot && commandWorks('setpriv', ['--version']) && existsSync('/usr/sbin/useradd') && commandWorks('find', ['--version']), 'root with setpriv, useradd and find', 'run as root; apt-get install util-linux passwd findutils');
    tmp = mkdtempSync('/tmp/h3t-');
    chmodSync(tmp, 0o755);
    homeRoot = path.join(tmp, 'homes');
    if (!accountExists('h3tother')) sh('useradd', ['--system', '--user-group', '--no-create-home', 'h3tother']);
  });

  after(async function () {
    this.timeout(120_000);
    for (const r of started) await r.endTree(200).catch(() => undefined);
    await Promise.all(started.map((r) => r.done.catch(() => undefined)));
    for (const ex of executors) await sweepsIdle(ex).catch(() => undefined);
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid] = line.split(':');
      if (!name || !TEST_NAMES.test(name)) continue;
      if (Number(uid) > 0) spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '/bin/sh', '-c', 'kill -KILL -1']);
      spawnSync('userdel', [name]);
      if (accountExists(name)) spawnSync('userdel', ['--force', name]);
    }
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const name = line.split(':')[0];
      if (name && TEST_NAMES.test(name)) spawnSync('groupdel', [name]);
    }
    for (const dir of cgroupsToRemove) {
      try {
        rmSync(dir, { recursive: false });
      } catch {
        spawnSync('rmdir', [dir]);
      }
    }
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('ids are never reused (finding 3)', () => {
    it('two elevations one after another never share a uid or gid, nor after a restart or with the state file deleted', async () => {
      const state = path.join(tmp, 'state-ids');
      const a = executor(state);
      const first = await ids(a);
      const second = await ids(a);
      expect(second.uid).to.not.equal(first.uid);
      expect(second.gid).to.not.equal(first.gid);
      expect(second.uid).to.be.greaterThan(first.uid);
      expect(second.gid).to.be.greaterThan(first.gid);
      expect(first.uid).to.equal(first.gid); // uid = gid, from the reserved range
      expect(first.uid).to.be.within(DEFAULT_ID_RANGE.first, DEFAULT_ID_RANGE.last);
      // A restart: a new executor on the same state folder.
      const third = await ids(executor(state));
      expect(third.uid).to.be.greaterThan(second.uid);
      expect(third.gid).to.be.greaterThan(second.gid);
      // The state file gone (its accounts are deleted, so passwd shows nothing either).
      rmSync(path.join(state, 'ephemeral-ids.json'), { force: true });
      const fourth = await ids(executor(state));
      expect([first.uid, second.uid, third.uid]).to.not.include(fourth.uid);
      expect(fourth.uid).to.be.greaterThan(third.uid);
      await sweepsIdle(a);
    });

    it('a fresh install (no state, no claims) starts above the ids an earlier install used: the clock floor', async () => {
      const t0 = Date.UTC(2027, 5, 1);
      const oldState = mkdtempSync('/tmp/h3t-ids-');
      const oldClaims = path.join(oldState, 'claims');
      scratch.push(oldState);
      const old = new IdAllocator(oldState, DEFAULT_ID_RANGE, undefined, () => t0, oldClaims);
      const used = [await old.allocate(() => []), await old.allocate(() => []), await old.allocate(() => [])];
      expect(used[0]).to.equal(timeFloor(DEFAULT_ID_RANGE, t0));
      expect(used[2]).to.be.greaterThan(used[1] as number);
      // Everything is gone; the new install starts a minute later.
      rmSync(oldState, { recursive: true, force: true });
      const fresh = new IdAllocator(oldState, DEFAULT_ID_RANGE, undefined, () => t0 + 60_000, oldClaims);
      const next = await fresh.allocate(() => []);
      expect(next).to.be.greaterThan(Math.max(...used));
      // Once a mark is saved the clock is not consulted: a clock set back does not matter.
      const back = new IdAllocator(oldState, DEFAULT_ID_RANGE, undefined, () => ID_EPOCH_MS, oldClaims);
      expect(await back.allocate(() => [])).to.equal(next + 1);
    });

    it('nextId: mark + 1, passwd/group + 1, the machine-wide claims, the clock only without a mark, null when used up', () => {
      const r = { first: 100_000, last: 100_010 };
      const now = ID_EPOCH_MS + 3 * ID_TIME_STEP_MS;
      expect(nextId(r, [], null, now)).to.equal(100_003);
      expect(nextId(r, [{ first: 100_000, mark: 100_001 }], null, now)).to.equal(100_002);
      expect(nextId(r, [{ first: 100_000, mark: 100_001 }], 100_005, now)).to.equal(100_006);
      expect(nextId(r, [{ first: 100_000, mark: 100_001 }], null, now, 100_007)).to.equal(100_008);
      expect(nextId(r, [{ first: 50_000, mark: 100_004 }], null, 0)).to.equal(100_005); // an older, overlapping range
      expect(nextId(r, [{ first: 100_000, mark: 100_010 }], null, now)).to.equal(null);
      expect(nextId(r, [], null, ID_EPOCH_MS + 1000 * ID_TIME_STEP_MS)).to.equal(null);
    });
  });

  describe('set-id leftovers are made harmless (finding 3, Deliver 2)', () => {
    it('a set-uid/set-gid copy of sh in /tmp and a set-gid file of group sudo in /dev/shm lose their bits when the elevation ends; nothing else is touched', async () => {
      const logged: { msg: string; fields?: Record<string, unknown> }[] = [];
      const ex = executor(path.join(tmp, 'state-sweep'), { log: (_l: string, msg: string, fields?: Record<string, unknown>) => logged.push({ msg, fields }) });
      const r = await start(ex, spec({ command: ['sh', '-c', 'echo ready; read x'] }));
      await firstLines(r.stdout, 1);
      const uid = r.uid;
      const gid = Number(spawnSync('id', ['-g', r.account as string], { encoding: 'utf8' }).stdout.trim());
      expect(uid).to.be.greaterThan(0);
      // What the user would leave: a copy of an interpreter, set-uid and set-gid, owned by the
      // ephemeral uid and gid; a set-gid file of the admin group it owns, on a tmpfs.
      const dirA = mkdtempSync('/tmp/h3t-left-');
      const dirB = mkdtempSync('/dev/shm/h3t-left-');
      scratch.push(dirA, dirB);
      const shCopy = path.join(dirA, 'sh');
      copyFileSync('/usr/bin/sh', shCopy);
      chownSync(shCopy, uid, gid);
      chmodSync(shCopy, 0o6755);
      const sudoGid = Number(spawnSync('getent', ['group', 'sudo'], { encoding: 'utf8' }).stdout.split(':')[2]);
      const adminFile = path.join(dirB, 'admin');
      writeFileSync(adminFile, '#!/bin/sh\nid\n');
      chownSync(adminFile, uid, sudoGid);
      chmodSync(adminFile, 0o2755);
      // Not the elevation's: a set-uid file of another user, and a link to it, stay as they are.
      const otherUid = Number(spawnSync('id', ['-u', 'h3tother'], { encoding: 'utf8' }).stdout.trim());
      const other = path.join(dirA, 'other');
      copyFileSync('/usr/bin/true', other);
      chownSync(other, otherUid, otherUid);
      chmodSync(other, 0o4755);
      symlinkSync(other, path.join(dirA, 'link-to-other'));
      expect(mode(shCopy)).to.equal(0o6755);
      r.stdin.end('\n');
      const done = await r.done;
      expect(done.accountRemoved).to.equal(true);
      await sweepsIdle(ex);
      expect(mode(shCopy)).to.equal(0o755);
      expect(mode(adminFile)).to.equal(0o755);
      expect(statSync(shCopy).uid).to.equal(uid); // only the bits change
      expect(mode(other)).to.equal(0o4755);
      const fixedLogged = logged.filter((l) => /made harmless/.test(l.msg)).map((l) => l.fields?.file);
      expect(fixedLogged).to.include.members([shCopy, adminFile]);
      // Nothing is left pending.
      expect(JSON.parse(readFileSync(path.join(tmp, 'state-sweep', 'setid-sweeps.json'), 'utf8'))).to.deep.equal({ pending: [] });
    });

    it('a sweep recorded before a crash is completed when a new executor starts its cleanup', async () => {
      const state = path.join(tmp, 'state-crash');
      mkdirSync(state, { mode: 0o700 });
      // A dead id of this agent: claimed (so never handed out again), its account gone.
      const dead = await new IdAllocator(state, DEFAULT_ID_RANGE).allocate(() => []);
      const dir = mkdtempSync('/tmp/h3t-crash-');
      scratch.push(dir);
      const left = path.join(dir, 'left');
      copyFileSync('/usr/bin/true', left);
      chownSync(left, dead, dead);
      chmodSync(left, 0o6755);
      // A name no text encoding round-trips (a newline and a byte that is not UTF-8): fixed by its bytes.
      const odd = Buffer.concat([Buffer.from(`${dir}/odd\nname-`), Buffer.from([0xff])]);
      writeFileSync(odd, 'x');
      chownSync(odd, dead, dead);
      chmodSync(odd, 0o2755);
      const otherUid = Number(spawnSync('id', ['-u', 'h3tother'], { encoding: 'utf8' }).stdout.trim());
      const other = path.join(dir, 'other');
      copyFileSync('/usr/bin/true', other);
      chownSync(other, otherUid, otherUid);
      chmodSync(other, 0o6755);
      // The agent crashed after recording the sweep and removing the account.
      writeFileSync(path.join(state, 'setid-sweeps.json'), `${JSON.stringify({ pending: [{ uid: dead, gid: dead, elevationId: randomUUID() }] })}\n`, { mode: 0o600 });
      const ex = executor(state);
      await ex.cleanupOrphans(new Set());
      await sweepsIdle(ex);
      expect(mode(left)).to.equal(0o755);
      expect(statSync(odd).mode & 0o7777).to.equal(0o755);
      expect(mode(other)).to.equal(0o6755);
      expect(JSON.parse(readFileSync(path.join(state, 'setid-sweeps.json'), 'utf8'))).to.deep.equal({ pending: [] });
    });

    it('chooses local, writable filesystems: tmpfs yes; proc, cgroup, nfs, fuse and read-only mounts no; one walk per device', () => {
      const info = [
        '22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
        '23 22 0:21 / /proc rw,nosuid - proc proc rw',
        '24 22 0:5 / /dev rw,nosuid shared:2 - devtmpfs udev rw,size=1k',
        '25 24 0:25 / /dev/shm rw,nosuid,nodev - tmpfs tmpfs rw',
        '26 22 0:26 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw',
        '27 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw',
        '28 22 0:28 / /mnt/nfs rw - nfs4 srv:/x rw',
        '29 22 0:29 / /home/u/fuse rw,nosuid,nodev - fuse.sshfs u@h: rw',
        '30 22 252:2 / /boot ro,relatime - ext4 /dev/vda2 ro',
        '31 22 252:1 /srv/data /mnt/bind rw,relatime - ext4 /dev/vda1 rw',
        '32 22 252:3 /sub /mnt/my\\040data rw - xfs /dev/vdb rw',
        '33 22 0:30 / /run rw - tmpfs tmpfs rw',
      ].join('\n');
      expect(sweepTargets(parseMountinfo(info)).sort()).to.deep.equal(['/', '/dev', '/dev/shm', '/mnt/my data', '/run', '/tmp'].sort());
    });
  });

  describe('several agents on one machine (finding 10)', () => {
    it("agent B's cleanup leaves agent A's running elevations (account, home, System cgroup) and an old marker's account alone", async () => {
      const a = executor(path.join(tmp, 'state-a'));
      const b = executor(path.join(tmp, 'state-b'));
      const sys = await start(a, spec({ integrity: 'System', command: ['sh', '-c', 'echo ready; exec sleep 300'] }));
      const acc = await start(a, spec({ command: ['sh', '-c', 'echo ready; exec sleep 300'] }));
      await Promise.all([firstLines(sys.stdout, 1), firstLines(acc.stdout, 1)]);
      const mount = findCgroup2Mount();
      const cgroupOf = (pid: number): string => {
        const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
        return line && mount ? path.join(mount, line.slice(3)) : '';
      };
      const sysCgroup = cgroupOf(sys.pid);
      if (sys.tracking === 'cgroup') cgroupsToRemove.push(sysCgroup, path.dirname(sysCgroup));
      const home = (readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${acc.account}:`)) ?? '').split(':')[5] ?? '';
      expect(existsSync(home)).to.equal(true);
      // An account of an older agent (marker without an instance id): nobody's to remove.
      const oldId = randomUUID();
      const oldName = b.accountName(oldId);
      sh('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', '--comment', `ascend-ephemeral ${oldId} ${Date.now()}`, oldName]);
      const logs: string[] = [];
      const b2 = executor(path.join(tmp, 'state-b'), { log: (_l: string, m: string) => logs.push(m) });
      await b.cleanupOrphans(new Set());
      await b2.cleanupOrphans(new Set());
      await b2.cleanupOrphans(new Set());
      expect(alive(sys.pid)).to.equal(true);
      expect(alive(acc.pid)).to.equal(true);
      expect(accountExists(acc.account as string)).to.equal(true);
      expect(existsSync(home)).to.equal(true);
      if (sys.tracking === 'cgroup') expect(existsSync(sysCgroup)).to.equal(true);
      expect(accountExists(oldName)).to.equal(true);
      expect(logs.filter((m) => m.includes('without an instance id'))).to.have.length(1);
      await sys.endTree(500);
      await acc.endTree(500);
      await Promise.all([sys.done, acc.done]);
      expect(accountExists(acc.account as string)).to.equal(false);
      spawnSync('userdel', [oldName]);
    });
  });
});

/** Polls until pred holds; fails after ms naming what it waited for. */
async function until(pred: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('several real agents on one machine (finding 10, end to end; root, built CLI)', function () {
  this.timeout(120_000);
  const USER = 'h3tuser';
  const prefix = 'h3te_';
  let tmp = '';
  let policy = '';
  const agents: ChildProcess[] = [];
  let client: ChildProcess | undefined;

  function accounts(): string[] {
    return readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((l) => l.split(':')[0] ?? '')
      .filter((n) => n.startsWith(prefix));
  }

  /** `ascend agent run` on its own state folder and socket; resolves once it listens (its start-up cleanup is done then). */
  async function startAgent(tag: string): Promise<ChildProcess> {
    const log = { text: '' };
    const child = spawn(process.execPath, [bin, 'agent', 'run', '--state-dir', path.join(tmp, `state-${tag}`), '--socket', path.join(tmp, `${tag}.sock`), '--policy', policy, '--computer', 'H3-PC'], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', ASCEND_HOME: path.join(tmp, 'ascend-home') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agents.push(child);
    child.stderr?.on('data', (d: Buffer) => (log.text += d.toString()));
    child.stdout?.on('data', (d: Buffer) => (log.text += d.toString()));
    await until(() => /agent listening on/.test(log.text) || child.exitCode !== null, `agent ${tag} to listen`, 60_000);
    if (child.exitCode !== null) throw new Error(`agent ${tag} exited: ${log.text}`);
    return child;
  }

  async function stop(child: ChildProcess | undefined): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent creates accounts)', 'run the tests as root');
    requireBuiltCli();
    tmp = mkdtempSync('/tmp/h3t-e2e-');
    chmodSync(tmp, 0o755);
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    sh('useradd', ['--create-home', '--shell', '/bin/sh', USER]);
    policy = path.join(tmp, 'Registry.pol');
    const entries = [
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
        Rules: [{ name: 'sleep for everyone', value: JSON.stringify({ action: 'allow', match: { path: '/usr/bin/sleep' } }) }],
      }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: prefix, MaxLifetimeMinutes: 60, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
    ];
    writeFileSync(policy, writeRegistryPol(entries), { mode: 0o644 });
  });

  after(async function () {
    this.timeout(60_000);
    client?.kill('SIGKILL');
    for (const a of agents) await stop(a);
    for (const name of accounts()) {
      const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim();
      if (Number(uid) > 0) spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '/bin/sh', '-c', 'kill -KILL -1']);
      spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
    }
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("a second agent's start-up cleanup leaves the first agent's running elevation and its account alone", async () => {
    const a = await startAgent('a');
    client = spawn('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', '--', process.execPath, bin, 'elevate', '--', 'sleep', '300'], {
      cwd: tmp,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: tmp, NO_COLOR: '1', ASCEND_AGENT_SOCKET: path.join(tmp, 'a.sock') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let clientErr = '';
    client.stderr?.on('data', (d: Buffer) => (clientErr += d.toString()));
    await until(() => accounts().length === 1 || client?.exitCode !== null, "agent A's ephemeral account");
    expect(accounts(), clientErr).to.have.length(1);
    const name = accounts()[0] as string;
    const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
    const sleeper = (): number | undefined => {
      const r = spawnSync('pgrep', ['-u', String(uid), '-x', 'sleep'], { encoding: 'utf8' });
      return r.stdout.trim() ? Number(r.stdout.trim().split('\n')[0]) : undefined;
    };
    await until(() => sleeper() !== undefined, 'the elevated sleep');
    const pid = sleeper() as number;

    const b = await startAgent('b'); // its start-up cleanup has run once it listens
    expect(accountExists(name)).to.equal(true);
    expect(alive(pid)).to.equal(true);
    expect(client.exitCode).to.equal(null);

    await stop(b);
    await stop(a); // A ends its own elevation and removes its account
    expect(accountExists(name)).to.equal(false);
  });
});
