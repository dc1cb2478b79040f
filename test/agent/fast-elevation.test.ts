/**
 * The fast elevation path (issue 16, Deliver 3), as root with the real account files: the
 * accounts the executor writes directly (agent/executor/pwdb.ts) are the lines shadow-utils
 * writes, the tools read them (pwck, grpck, getent, id), shadow-utils' locks are honoured both
 * ways, a crash between the files leaves only what the orphan cleanup removes, a second
 * elevation sees nothing of a first, and each elevation's phases are in the agent's log line.
 * Accounts: prefix `asf`.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LinuxExecutor, markerFor, type ElevationSpec } from '../../agent/executor/index.js';
import { PasswdDb, addAccount, dayNumber, removeAccount, type Db } from '../../agent/executor/pwdb.js';
import { commandWorks, requireComponent } from '../support/components.js';

const PREFIX = 'asfx_';
const MINE = /^asf/;
const FILES = ['passwd', 'shadow', 'group', 'gshadow'] as const;

function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * What the four files say of `name`: its own lines, and "member of G" for each group whose
 * member list holds it (other members are left out: other suites may add theirs meanwhile).
 */
function linesOf(name: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of FILES) {
    out[f] = readFileSync(`/etc/${f}`, 'utf8')
      .split('\n')
      .flatMap((l) => {
        const fields = l.split(':');
        if (fields[0] === name) return [l];
        return (f === 'group' || f === 'gshadow') && (fields[3] ?? '').split(',').includes(name) ? [`member of ${fields[0]}`] : [];
      });
  }
  return out;
}

function collect(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    stream.on('data', (d: Buffer) => (s += d.toString()));
    stream.on('end', () => resolve(s));
  });
}

/** Live (not zombie) processes whose real, effective or saved uid is `uid`. */
function liveOfUid(uid: number): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^[0-9]+$/.test(n))) {
    let status = '';
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue;
    }
    const state = /^State:\s+(\S)/m.exec(status)?.[1];
    const uids = (/^Uid:\s+(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).slice(0, 3).map(Number);
    if (state !== 'Z' && state !== 'X' && uids.includes(uid)) out.push(Number(pid));
  }
  return out;
}

function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

describe('fast elevation: accounts written under the shadow-utils locks (root, real /etc)', function () {
  this.timeout(60_000);
  let tmp: string;
  const children: ChildProcess[] = [];

  before(function () {
    const isRoot = process.getuid?.() === 0;
    requireComponent(this, isRoot && commandWorks('setpriv', ['--version']) && existsSync('/usr/sbin/useradd') && existsSync('/usr/sbin/pwck') && existsSync('/usr/bin/python3'), 'root with useradd, pwck (passwd), setpriv and python3', 'run as root; apt-get install passwd util-linux python3');
    tmp = mkdtempSync('/tmp/asf-');
    chmodSync(tmp, 0o755);
  });

  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid] = line.split(':');
      if (!name || !MINE.test(name)) continue;
      if (Number(uid) > 0) spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '/bin/sh', '-c', 'kill -KILL -1']);
      spawnSync('userdel', [name]);
    }
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const name = line.split(':')[0];
      if (name && MINE.test(name)) spawnSync('groupdel', [name]);
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('writes the very lines useradd --system and groupadd write, the tools read them, and removal restores the files', async () => {
    const name = 'asfcmp';
    const id = 2013265001 + Math.floor(Math.random() * 1000);
    const home = path.join(tmp, name);
    const gecos = markerFor(randomUUID(), Date.now(), 'instance1');
    // shadow-utils' own lines.
    expect(sh('groupadd', ['--system', '--gid', String(id), name]).status).to.equal(0);
    const add = sh('useradd', ['--system', '--uid', String(id), '--gid', String(id), '--no-create-home', '--no-log-init', '--home-dir', home, '--shell', '/usr/sbin/nologin', '--comment', gecos, '--groups', 'sudo', name]);
    expect(add.status, add.stderr).to.equal(0);
    const theirs = linesOf(name);
    expect(sh('userdel', [name]).status).to.equal(0);
    expect(linesOf(name)).to.deep.equal({ passwd: [], shadow: [], group: [], gshadow: [] });

    const db = new PasswdDb();
    await db.edit((d) => ({ db: addAccount(d, { name, uid: id, gid: id, gecos, home, shell: '/usr/sbin/nologin', groups: ['sudo'], lastChangeDay: dayNumber(Date.now()) }), value: undefined }), 'passwd-first');
    expect(linesOf(name)).to.deep.equal(theirs);
    for (const f of FILES) expect(existsSync(`/etc/${f}.lock`), `${f}.lock left`).to.equal(false);
    expect(statSync('/etc/shadow').mode & 0o777).to.equal(0o640);
    const pwck = sh('pwck', ['-r', '-q']);
    const grpck = sh('grpck', ['-r']);
    // pwck complains about the home folder that was not made; nothing about the lines themselves.
    expect(pwck.stdout + pwck.stderr).to.not.match(new RegExp(`${name}.*(invalid|duplicate|no matching|bad)`, 'i'));
    expect(grpck.status, grpck.stdout + grpck.stderr).to.equal(0);
    expect(sh('getent', ['passwd', name]).stdout.trim()).to.equal(`${name}:x:${id}:${id}:${gecos}:${home}:/usr/sbin/nologin`);
    const ids = sh('id', [name]).stdout.trim();
    expect(ids).to.match(new RegExp(`^uid=${id}\\(${name}\\) gid=${id}\\(${name}\\) groups=${id}\\(${name}\\),27\\(sudo\\)$`));

    await db.edit((d) => ({ db: removeAccount(d, name, id), value: undefined }), 'passwd-last');
    expect(linesOf(name)).to.deep.equal({ passwd: [], shadow: [], group: [], gshadow: [] });
    expect(sh('getent', ['passwd', name]).status).to.equal(2);
    // Every other line stays byte for byte (checked on the pure core: other tests may edit /etc meanwhile).
    const now = await db.read();
    expect(removeAccount(addAccount(now, { name, uid: id, gid: id, gecos, home, shell: '/usr/sbin/nologin', groups: ['sudo'], lastChangeDay: 1 }), name, id)).to.deep.equal(now);
  });

  it('removes an account useradd made with --user-group, its memberships and nothing of another group', () => {
    const db: Db = {
      passwd: 'root:x:0:0:root:/root:/bin/bash\nasfu:x:900:900::/h:/usr/sbin/nologin\n',
      shadow: 'root:*:19000:0:99999:7:::\nasfu:!:20000::::::\n',
      group: 'root:x:0:\nsudo:x:27:alice,asfu\nasfu:x:900:\nshared:x:901:asfu,bob\nasfv:x:902:asfu\n',
      gshadow: 'root:*::\nsudo:*:asfu:alice,asfu\nasfu:!::\nshared:!::asfu,bob\nasfv:!::asfu\n',
    };
    const out = removeAccount(db, 'asfu', 900);
    expect(out.passwd).to.equal('root:x:0:0:root:/root:/bin/bash\n');
    expect(out.shadow).to.equal('root:*:19000:0:99999:7:::\n');
    expect(out.group).to.equal('root:x:0:\nsudo:x:27:alice\nshared:x:901:bob\nasfv:x:902:\n');
    expect(out.gshadow).to.equal('root:*::\nsudo:*::alice\nshared:!::bob\nasfv:!::\n');
    // A group of that name with another member stays (as userdel leaves it).
    const kept = removeAccount({ ...db, group: 'asfu:x:900:carol\n', gshadow: 'asfu:!::carol\n' }, 'asfu', 900);
    expect(kept.group).to.equal('asfu:x:900:carol\n');
    expect(kept.gshadow).to.equal('asfu:!::carol\n');
  });

  it('refuses a taken name or id, a missing group, and a field that would split a line', () => {
    const db: Db = { passwd: 'asfa:x:900:900::/h:/bin/sh\n', shadow: '', group: 'asfa:x:900:\nsudo:x:27:\n', gshadow: null };
    const base = { uid: 901, gid: 901, gecos: 'x', home: '/h', shell: '/usr/sbin/nologin', groups: [] as string[], lastChangeDay: 1 };
    expect(() => addAccount(db, { ...base, name: 'asfa' })).to.throw(/exists already/);
    expect(() => addAccount(db, { ...base, name: 'asfb', uid: 900, gid: 900 })).to.throw(/in use/);
    expect(() => addAccount(db, { ...base, name: 'asfb', groups: ['nosuch'] })).to.throw(/does not exist/);
    expect(() => addAccount(db, { ...base, name: 'asfb', gecos: 'a:b' })).to.throw(/may not hold/);
    expect(() => addAccount(db, { ...base, name: 'asfb', home: '/h\nroot::0:0::/:/bin/sh' })).to.throw(/may not hold/);
    expect(() => addAccount(db, { ...base, name: 'Asf/b' })).to.throw(/not a valid user name/);
    const ok = addAccount(db, { ...base, name: 'asfb', groups: ['sudo'] });
    expect(ok.gshadow).to.equal(null);
    expect(ok.group).to.equal('asfa:x:900:\nsudo:x:27:asfb\nasfb:x:901:\n');
  });

  it('holds lckpwdf: a concurrent useradd waits until the edit is written, and neither change is lost', async () => {
    const db = new PasswdDb();
    let release!: () => void;
    const holding = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const edit = db.edit(async (d) => {
      entered();
      await holding;
      return { db: addAccount(d, { name: 'asflock1', uid: 2013266001, gid: 2013266001, gecos: 'x', home: '/nonexistent', shell: '/usr/sbin/nologin', groups: [], lastChangeDay: dayNumber(Date.now()) }), value: undefined };
    }, 'passwd-first');
    await inside;
    const useradd = spawn('useradd', ['--system', '--no-create-home', '--no-log-init', 'asflock2'], { stdio: 'ignore' });
    children.push(useradd);
    const exited = new Promise<number | null>((r) => useradd.once('exit', (c) => r(c)));
    // useradd is blocked on the lock: it writes nothing while the edit holds it.
    await new Promise((r) => setTimeout(r, 1500));
    expect(useradd.exitCode, 'useradd ran while the agent held the lock').to.equal(null);
    expect(readFileSync('/etc/passwd', 'utf8')).to.not.match(/^asflock2:/m);
    release();
    await edit;
    expect(await exited).to.equal(0);
    const passwd = readFileSync('/etc/passwd', 'utf8');
    expect(passwd).to.match(/^asflock1:/m);
    expect(passwd).to.match(/^asflock2:/m);
    await db.edit((d) => ({ db: removeAccount(d, 'asflock1', 2013266001), value: undefined }), 'passwd-last');
    expect(sh('userdel', ['asflock2']).status).to.equal(0);
  });

  it('waits while another process holds lckpwdf or a live .lock file, and removes a stale .lock file', async () => {
    // A copy of the files in a folder of this test: the locks of the real /etc are not played with.
    const etc = path.join(tmp, 'etc');
    mkdirSync(etc);
    for (const f of FILES) writeFileSync(path.join(etc, f), readFileSync(`/etc/${f}`));
    const copied = readFileSync(path.join(etc, 'passwd'), 'utf8');
    // lckpwdf as glibc takes it: an fcntl lock on .pwd.lock (python's lockf is fcntl).
    const holder = spawn('python3', ['-c', `import fcntl,sys,time\nf=open(${JSON.stringify(path.join(etc, '.pwd.lock'))},"w")\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint("locked", flush=True)\ntime.sleep(60)`], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(holder);
    await new Promise<void>((resolve) => holder.stdout?.on('data', () => resolve()));
    const short = new PasswdDb(etc, 400);
    let wrote = false;
    const refused = await short.edit((d) => ((wrote = true), { db: d, value: 'ran' }), 'passwd-first').catch((e: Error) => e.message);
    expect(refused).to.match(/locked by another program/);
    expect(wrote).to.equal(false);
    const waiting = new PasswdDb(etc, 30_000).edit((d) => ({ db: d, value: 'ran' }), 'passwd-first');
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(settled).to.equal(false);
    holder.kill('SIGKILL');
    expect(await waiting).to.equal('ran');

    // A .lock file of a live process (a vipw of old) is waited for; one of a dead process is removed.
    const live = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(live);
    const groupLock = path.join(etc, 'group.lock');
    writeFileSync(groupLock, String(live.pid));
    expect(await short.edit((d) => ({ db: d, value: 'ran' }), 'passwd-first').catch((e: Error) => e.message)).to.match(/group is locked by another program/);
    expect(readFileSync(groupLock, 'utf8')).to.equal(String(live.pid));
    live.kill('SIGKILL');
    writeFileSync(groupLock, '999999999');
    // And a half-written new file a crash left (`<file>+`) is written over, never used.
    writeFileSync(path.join(etc, 'passwd+'), 'half a file');
    const name = 'asfstale';
    expect(await short.edit((d) => ({ db: addAccount(d, { name, uid: 2013268001, gid: 2013268001, gecos: 'x', home: '/nonexistent', shell: '/usr/sbin/nologin', groups: [], lastChangeDay: 1 }), value: 'ran' }), 'passwd-first')).to.equal('ran');
    expect(existsSync(groupLock)).to.equal(false);
    expect(existsSync(path.join(etc, 'passwd+'))).to.equal(false);
    expect(readFileSync(path.join(etc, 'passwd'), 'utf8')).to.equal(`${copied}${name}:x:2013268001:2013268001:x:/nonexistent:/usr/sbin/nologin\n`);
  });

  describe('with the executor', () => {
    let executor: LinuxExecutor;
    let stateDir: string;
    let homeRoot: string;
    const logged: { msg: string; fields?: Record<string, unknown> }[] = [];
    const made: LinuxExecutor[] = [];
    const make = (): LinuxExecutor => {
      const ex = new LinuxExecutor({ accountPrefix: PREFIX, homeRoot, stateDir, maxLifetimeMs: 3_600_000, leftoverGraceMs: 300, log: (_l, msg, fields) => logged.push({ msg, ...(fields ? { fields } : {}) }) });
      made.push(ex);
      return ex;
    };
    const spec = (command: string[]): ElevationSpec => ({ elevationId: randomUUID(), requester: { uid: 0, gid: 0, name: 'root' }, command, cwd: '/', groups: ['S-1-5-32-544'], integrity: 'High', stdio: 'pipe' });

    before(() => {
      stateDir = path.join(tmp, 'state');
      homeRoot = path.join(tmp, 'homes');
      executor = make();
    });
    after(async function () {
      this.timeout(120_000);
      // The set-id sweeps of the removed accounts walk every local filesystem: stopped, not waited for (the state folder goes with tmp).
      for (const ex of made) await ex.close();
      for (const ex of made) await ex.sweepsIdle();
    });

    it('a crash between the files leaves a marked account, which the cleanup after restart removes from every file', async () => {
      await (executor as unknown as { accounts: { ensureHomeRoot(): Promise<void> } }).accounts.ensureHomeRoot();
      const elevationId = randomUUID();
      const name = executor.accountName(elevationId);
      const id = 2013267001 + Math.floor(Math.random() * 1000);
      const home = path.join(executor.homeFolder, name);
      mkdirSync(home, { mode: 0o700 });
      // The state a kill -9 leaves after the first rename of a creation: passwd written (it goes
      // first), shadow, group and gshadow not; and shadow-utils' leftovers of the dead process.
      // Computed from the files as read under the lock (other suites edit /etc meanwhile).
      await new PasswdDb().edit((d) => {
        const full = addAccount(d, { name, uid: id, gid: id, gecos: markerFor(elevationId, Date.now(), executor.instanceId), home, shell: '/usr/sbin/nologin', groups: ['sudo'], lastChangeDay: 1 });
        return { db: { ...d, passwd: full.passwd }, value: undefined };
      }, 'passwd-first');
      expect(linesOf(name).passwd).to.have.length(1);
      // The agent starts again: a new executor on the same state folder.
      executor = make();
      const report = await executor.cleanupOrphans(new Set());
      expect(report.removedAccounts).to.include(name);
      expect(report.problems).to.deep.equal([]);
      expect(linesOf(name)).to.deep.equal({ passwd: [], shadow: [], group: [], gshadow: [] });
      expect(existsSync(home)).to.equal(false);
      // The state after the last rename of a removal started (group gone, passwd not yet): the same.
      const again = randomUUID();
      const n2 = executor.accountName(again);
      const e2 = await (executor as unknown as { accounts: { create(n: string, e: string, g: string[]): Promise<{ uid: number; gid: number }> } }).accounts.create(n2, again, ['sudo']);
      await new PasswdDb().edit((d) => {
        const gone2 = removeAccount(d, n2, e2.gid);
        return { db: { ...gone2, passwd: d.passwd }, value: undefined };
      }, 'passwd-last');
      expect(linesOf(n2).passwd).to.have.length(1);
      expect(linesOf(n2).group).to.deep.equal([]);
      executor = make();
      expect((await executor.cleanupOrphans(new Set())).removedAccounts).to.include(n2);
      expect(linesOf(n2)).to.deep.equal({ passwd: [], shadow: [], group: [], gshadow: [] });
    });

    it('a second elevation sees nothing of the first: account, id, processes, files, memberships', async () => {
      const first = await executor.start(spec(['/bin/sh', '-c', 'umask 077; echo secret > "$HOME/f"; echo left > /tmp/asf-left-$$; setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $$; id -u']));
      const out1 = await collect(first.stdout);
      const d1 = await first.done;
      expect(d1.code).to.equal(0);
      expect(d1.accountRemoved).to.equal(true);
      const [, uid1] = out1.trim().split('\n');
      const account1 = first.account as string;
      expect(linesOf(account1)).to.deep.equal({ passwd: [], shadow: [], group: [], gshadow: [] });
      // Nothing of the first uid runs any more (the setsid sleep included).
      // Nothing of the first uid is alive (a zombie waits only to be reaped, on hosts where nothing reaps orphans).
      expect(liveOfUid(Number(uid1))).to.deep.equal([]);
      const second = await executor.start(spec(['/bin/sh', '-c', 'id -u; id -Gn; if cat /tmp/asf-left-* >/dev/null 2>&1; then echo readable; else echo unreadable; fi; ls -A "$HOME"']));
      const out2 = await collect(second.stdout);
      expect((await second.done).code).to.equal(0);
      const [uid2, groups2, readable, ...homeList] = out2.trim().split('\n');
      expect(readable).to.equal('unreadable');
      expect(uid2).to.not.equal(uid1);
      expect(Number(uid2)).to.be.greaterThan(Number(uid1));
      expect(groups2?.split(' ').sort()).to.deep.equal([second.account as string, 'sudo'].sort());
      expect(homeList.filter(Boolean)).to.deep.equal([]);
      spawnSync('sh', ['-c', 'rm -f /tmp/asf-left-*']);
    });

    it('logs the phases of each elevation on its "elevation ended" line, not in what start() returns', async () => {
      logged.length = 0;
      const r = await executor.start(spec(['true']));
      await collect(r.stdout);
      const done = await r.done;
      expect(Object.keys(done)).to.not.include('phases');
      const line = logged.find((l) => l.msg === 'elevation ended');
      const phases = line?.fields?.phases as Record<string, number> | undefined;
      expect(phases, JSON.stringify(logged)).to.be.an('object');
      for (const p of ['prepare', 'account', 'spawn', 'run', 'account-remove']) expect(phases?.[p], p).to.be.a('number').and.at.least(0);
      expect(gone(r.pid)).to.equal(true);
    });
  });
});
