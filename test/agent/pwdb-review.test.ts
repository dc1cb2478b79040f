/**
 * From the review of the direct account-file edits (agent/executor/pwdb.ts, linux-accounts.ts,
 * nss.ts, procfs.ts), as root: stale shadow-utils lock files as shadow-utils writes them
 * ("<pid>\0") and the agent's own are removed, leftovers of a crashed edit are removed, /etc is
 * flushed after the renames, SELinux labels and ACLs are kept, a removal waits out a lock held a while, an id or name the name
 * service knows is not used, and a process whose main thread exited still counts as live.
 * Lock files are only played with in copies of /etc under a folder of this test.
 * Accounts: prefix `asfr`.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LinuxAccounts } from '../../agent/executor/linux-accounts.js';
import { getentLookup, type NssLookup } from '../../agent/executor/nss.js';
import { liveProcsOfUid, readProc, isLive } from '../../agent/executor/procfs.js';
import { PasswdDb, addAccount, lockIsStale, lockPid } from '../../agent/executor/pwdb.js';
import { commandWorks, requireComponent } from '../support/components.js';

const FILES = ['passwd', 'shadow', 'group', 'gshadow'] as const;
const MINE = /^asfr/;

describe('pwdb review: stale locks, leftovers, removal retries, name service ids, live threads (root)', function () {
  this.timeout(60_000);
  let tmp: string;
  const children: ChildProcess[] = [];

  before(function () {
    requireComponent(this, process.getuid?.() === 0 && commandWorks('setpriv', ['--version']) && existsSync('/usr/bin/getent') && existsSync('/usr/bin/strace') && existsSync('/usr/bin/setfacl') && existsSync('/usr/bin/python3') && commandWorks('cc', ['--version']), 'root with setpriv, getent, strace, setfacl, python3 and cc', 'run as root; apt-get install util-linux libc-bin strace acl python3 gcc');
    tmp = mkdtempSync('/tmp/asfr-');
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

  /** A copy of the account files in a folder of this test. */
  function etcCopy(name: string): string {
    const etc = path.join(tmp, name);
    mkdirSync(etc);
    for (const f of FILES) writeFileSync(path.join(etc, f), readFileSync(`/etc/${f}`));
    return etc;
  }

  function sleeper(): ChildProcess {
    const c = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(c);
    return c;
  }

  it('reads the pid of a lock file up to its NUL or line break, digits only', () => {
    expect(lockPid('1234\0')).to.equal(1234);
    expect(lockPid('1234\n')).to.equal(1234);
    expect(lockPid('1234')).to.equal(1234);
    expect(lockPid('0\0')).to.equal(null);
    expect(lockPid('')).to.equal(null);
    expect(lockPid('12x4')).to.equal(null);
    expect(lockPid(' 1234')).to.equal(null);
    const alive = (pid: number): boolean => pid === 77;
    expect(lockIsStale('77\0', 1, alive)).to.equal(false);
    expect(lockIsStale('78\0', 1, alive)).to.equal(true);
    expect(lockIsStale('77\0', 77, alive)).to.equal(true); // this process's own
    expect(lockIsStale('garbage', 1, alive)).to.equal(true);
  });

  it('removes a .lock that shadow-utils left ("<pid>\\0" of a dead process) and one of its own pid; waits for a live one', async () => {
    const etc = etcCopy('locks');
    const short = new PasswdDb(etc, 400);
    const passwdLock = path.join(etc, 'passwd.lock');
    const live = sleeper();
    writeFileSync(passwdLock, `${String(live.pid)}\0`);
    expect(await short.edit((d) => ({ db: d, value: 'ran' }), 'passwd-first').catch((e: Error) => e.message)).to.match(/passwd is locked by another program/);
    expect(existsSync(passwdLock)).to.equal(true);
    live.kill('SIGKILL');
    await new Promise((r) => live.once('exit', r));

    writeFileSync(passwdLock, '999999\0'); // chfn killed by SIGXFSZ leaves this
    writeFileSync(path.join(etc, 'shadow.lock'), `${process.pid}\0`);
    const name = 'asfrstale';
    expect(await short.edit((d) => ({ db: addAccount(d, { name, uid: 2013278001, gid: 2013278001, gecos: 'x', home: '/nonexistent', shell: '/usr/sbin/nologin', groups: [], lastChangeDay: 1 }), value: 'ran' }), 'passwd-first')).to.equal('ran');
    expect(existsSync(passwdLock)).to.equal(false);
    expect(existsSync(path.join(etc, 'shadow.lock'))).to.equal(false);
    expect(readFileSync(path.join(etc, 'passwd'), 'utf8')).to.contain(`\n${name}:x:2013278001:`);
  });

  it('removes what a crashed edit left (<file>+, <file>.<dead pid>) at the next edit, and nothing else', async () => {
    const etc = etcCopy('leftovers');
    const live = sleeper();
    const files: Record<string, string> = {
      'shadow+': 'root:$6$hash:19000:0:99999:7:::\n',
      'gshadow+': 'x',
      'passwd.999999': '999999\0',
      [`group.${String(live.pid)}`]: `${String(live.pid)}\0`, // a live shadow-utils taking its lock
      'passwd.20240101': 'an admin copy\n', // not ours: its content is no pid
      'passwd-': 'the backup shadow-utils keeps\n',
    };
    for (const [f, text] of Object.entries(files)) writeFileSync(path.join(etc, f), text);
    expect(await new PasswdDb(etc, 400).edit((d) => ({ db: d, value: 'ran' }), 'passwd-first')).to.equal('ran');
    expect(existsSync(path.join(etc, 'shadow+'))).to.equal(false);
    expect(existsSync(path.join(etc, 'gshadow+'))).to.equal(false);
    expect(existsSync(path.join(etc, 'passwd.999999'))).to.equal(false);
    expect(existsSync(path.join(etc, `group.${String(live.pid)}`))).to.equal(true);
    expect(existsSync(path.join(etc, 'passwd.20240101'))).to.equal(true);
    expect(existsSync(path.join(etc, 'passwd-'))).to.equal(true);
  });

  it('flushes the folder after renaming passwd (creation) and again before returning', () => {
    const etc = etcCopy('fsync');
    const trace = path.join(tmp, 'fsync.trace');
    const script = `import { PasswdDb, addAccount } from ${JSON.stringify(path.resolve('dist/agent/executor/pwdb.js'))};
await new PasswdDb(${JSON.stringify(etc)}, 5000).edit((d) => ({ db: addAccount(d, { name: 'asfrsync', uid: 2013278002, gid: 2013278002, gecos: 'x', home: '/nonexistent', shell: '/usr/sbin/nologin', groups: [], lastChangeDay: 1 }), value: 0 }), 'passwd-first');`;
    const r = spawnSync('strace', ['-f', '-qq', '-o', trace, '-e', 'trace=openat,rename,renameat,renameat2,fsync,fdatasync', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const lines = readFileSync(trace, 'utf8').split('\n');
    // What each fd was last opened on, and the order of the renames and of the flushes of the folder.
    const opened = new Map<string, string>();
    const events: string[] = [];
    for (const l of lines) {
      const open = /openat\(AT_FDCWD, "([^"]+)", .*\)\s+= ([0-9]+)$/.exec(l);
      if (open?.[1] && open[2]) opened.set(open[2], open[1]);
      const ren = /rename(?:at2?)?\(.*?"([^"]+)\+".*\)\s+= 0$/.exec(l);
      if (ren?.[1]) events.push(`rename ${path.basename(ren[1])}`);
      const sync = /fsync\(([0-9]+)\)\s+= 0$/.exec(l);
      if (sync?.[1] && opened.get(sync[1]) === etc) events.push('sync dir');
    }
    expect(events).to.deep.equal(['rename passwd', 'sync dir', 'rename shadow', 'rename group', 'rename gshadow', 'sync dir']);
  });

  it('keeps the SELinux label and the ACL of each file it rewrites', async () => {
    const etc = etcCopy('xattrs');
    const label = 'system_u:object_r:passwd_file_t:s0';
    for (const f of ['passwd', 'shadow']) {
      const file = path.join(etc, f);
      const set = spawnSync('python3', ['-c', `import os,sys\nos.setxattr(sys.argv[1], "security.selinux", sys.argv[2].encode() + b"\\0")`, file, label], { encoding: 'utf8' });
      expect(set.status, set.stderr).to.equal(0);
      expect(spawnSync('setfacl', ['-m', 'u:nobody:r', file]).status).to.equal(0);
    }
    const inode = statSync(path.join(etc, 'passwd')).ino;
    await new PasswdDb(etc, 5000).edit((d) => ({ db: addAccount(d, { name: 'asfrxattr', uid: 2013278004, gid: 2013278004, gecos: 'x', home: '/nonexistent', shell: '/usr/sbin/nologin', groups: [], lastChangeDay: 1 }), value: 0 }), 'passwd-first');
    expect(statSync(path.join(etc, 'passwd')).ino).to.not.equal(inode); // a new file
    for (const f of ['passwd', 'shadow']) {
      const file = path.join(etc, f);
      const got = spawnSync('python3', ['-c', 'import os,sys\nsys.stdout.write(os.getxattr(sys.argv[1], "security.selinux").decode())', file], { encoding: 'utf8' });
      expect(got.stdout, `${f}: ${got.stderr}`).to.equal(`${label}\0`);
      expect(spawnSync('getfacl', ['-cp', file], { encoding: 'utf8' }).stdout).to.contain('user:nobody:r--');
    }
  });

  it('a removal tries again while another program holds the lock, and removes the account once it is let go', async () => {
    const etc = etcCopy('retry');
    const name = 'asfrretry';
    const db = new PasswdDb(etc, 300);
    await db.edit((d) => ({ db: addAccount(d, { name, uid: 2013278003, gid: 2013278003, gecos: 'x', home: '/nonexistent', shell: '/usr/sbin/nologin', groups: [], lastChangeDay: 1 }), value: 0 }), 'passwd-first');
    const holder = sleeper();
    writeFileSync(path.join(etc, 'group.lock'), `${String(holder.pid)}\0`);
    const logs: string[] = [];
    const state = mkdtempSync(path.join(tmp, 'state-'));
    const accounts = new LinuxAccounts({
      homeRoot: path.join(tmp, 'homes-retry'),
      stateDir: state,
      idRange: { first: 2013279000, last: 2013279999 }, // not the account's: no set-id sweep is recorded
      instanceId: () => 'asfr-retry',
      log: (level, message) => {
        logs.push(`${level} ${message}`);
        if (/trying again/.test(message)) holder.kill('SIGKILL');
      },
      accountFiles: db,
    });
    const removed = await accounts.remove({ name, uid: 2013278003, gid: 2013278003, gecos: 'x', home: '/nonexistent', shell: '/usr/sbin/nologin' });
    expect(logs.some((l) => /^warn .*trying again/.test(l)), logs.join('\n')).to.equal(true);
    expect(removed, logs.join('\n')).to.equal(true);
    expect(readFileSync(path.join(etc, 'passwd'), 'utf8')).not.to.contain(`${name}:`);
    expect(readFileSync(path.join(etc, 'group'), 'utf8')).not.to.contain(`${name}:`);
  });

  it('getent answers for names and ids of the local files and not for unknown ones', async () => {
    expect(await getentLookup('passwd', '0')).to.equal(true);
    expect(await getentLookup('passwd', 'root')).to.equal(true);
    expect(await getentLookup('group', '0')).to.equal(true);
    expect(await getentLookup('passwd', '2013277999')).to.equal(false);
    expect(await getentLookup('group', 'asfr-no-such-group')).to.equal(false);
  });

  it('never gives an ephemeral account an id or a name the name service knows (a directory account)', async () => {
    const asked: string[] = [];
    let takenId: string | null = null;
    const nss: NssLookup = (db, key) => {
      asked.push(`${db} ${key}`);
      if (/^[0-9]+$/.test(key)) {
        takenId ??= key; // the first id asked is a directory user's
        return Promise.resolve(key === takenId);
      }
      return Promise.resolve(key === 'asfrdirectory');
    };
    const logs: string[] = [];
    const homeRoot = path.join(tmp, 'homes-nss');
    const accounts = new LinuxAccounts({
      homeRoot,
      stateDir: mkdtempSync(path.join(tmp, 'state-')),
      idRange: { first: 2013265920, last: 2147352575 }, // the default range: ids are claimed machine-wide
      instanceId: () => 'asfr-nss',
      log: (level, message) => logs.push(`${level} ${message}`),
      nss,
    });
    await accounts.ensureHomeRoot();
    const err = await accounts.create('asfrdirectory', 'el-dir', []).catch((e: Error) => e.message);
    expect(err).to.match(/exists already in the name service/);
    expect(readFileSync('/etc/passwd', 'utf8')).not.to.contain('asfrdirectory:');

    const entry = await accounts.create('asfrnss1', 'el-nss1', []);
    try {
      expect(takenId).to.not.equal(null);
      expect(String(entry.uid)).to.not.equal(takenId);
      expect(asked).to.include(`passwd ${String(entry.uid)}`);
      expect(asked).to.include(`group ${String(entry.uid)}`);
      expect(logs.some((l) => /taken in the name service/.test(l))).to.equal(true);
    } finally {
      expect(await accounts.remove(entry)).to.equal(true);
      await accounts.sweepsIdle();
    }
  });

  it('counts a process whose main thread exited while another thread runs as live', async () => {
    const src = path.join(tmp, 'mainexit.c');
    const bin = path.join(tmp, 'mainexit');
    writeFileSync(src, '#include <pthread.h>\n#include <unistd.h>\nstatic void *run(void *a) { (void)a; sleep(60); return 0; }\nint main(void) { pthread_t t; pthread_create(&t, 0, run, 0); pthread_exit(0); }\n');
    const cc = spawnSync('cc', ['-pthread', '-o', bin, src], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).to.equal(0);
    chmodSync(bin, 0o755);
    const uid = 2013277001;
    const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', bin], { stdio: 'ignore' });
    children.push(child);
    const pid = child.pid as number;
    // setpriv execs the program in place: wait until its main thread has exited (state Z, 2 threads).
    for (const deadline = Date.now() + 20_000; ; ) {
      const p = readProc(pid);
      if (p && p.state === 'Z' && p.uids[0] === uid && p.threads > 1) break;
      if (Date.now() > deadline) throw new Error(`the main thread of ${pid} did not exit: ${JSON.stringify(p)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(isLive(readProc(pid) as NonNullable<ReturnType<typeof readProc>>)).to.equal(true);
    expect(liveProcsOfUid(uid)).to.include(pid);
    child.kill('SIGKILL');
    for (const deadline = Date.now() + 20_000; liveProcsOfUid(uid).length > 0; ) {
      if (Date.now() > deadline) throw new Error('the process did not end');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
