/**
 * The local account databases (/etc/passwd, /etc/shadow, /etc/group, /etc/gshadow) edited the
 * way shadow-utils edits them, without forking useradd/groupadd/userdel for each elevation.
 *
 * Locking, as shadow-utils 4.x does it (lib/commonio.c with lckpwdf), so that useradd, vipw,
 * passwd ... and the agent never write at the same time:
 *   1. lckpwdf(): an fcntl write lock on /etc/.pwd.lock (made 0600 when missing), waited for up
 *      to 15 s as glibc does (a concurrent useradd waits on the same lock); taken through the
 *      native addon (native/peercred.c tryWriteLock), as Node has no fcntl locks;
 *   2. then, per file, `<file>.lock` made by linking `<file>.<pid>` (holding the pid) to it; a
 *      lock file whose pid is not alive (or unreadable, or this process) is stale and removed.
 * Every file is rewritten through `<file>+` (same owner and mode, flushed) renamed over it, as
 * shadow-utils does; lines other than the edited ones stay byte for byte.
 *
 * The pure core (addAccount, removeAccount) keeps the order that makes a crash harmless: on
 * creation passwd is written first (its GECOS marker is what the orphan cleanup looks for, and
 * it removes the lines of the other files with it); on removal passwd is written last, so a
 * crash leaves either nothing or a marked account the cleanup removes. /etc is flushed after
 * the passwd rename (creation) or before it (removal), and before edit() returns.
 *
 * Caches: nscd (when its socket exists) is told to drop passwd and group, as useradd does; sssd
 * only serves these files through its implicit files domain, whose cache is invalidated when it
 * exists (sss_cache -U -G).
 */
import { execFile } from 'node:child_process';
import { closeSync, constants as fsc, existsSync, promises as fsp, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { AscendError } from '../../src/errors.js';
import { SerialQueue } from '../../src/serial-queue.js';
import { addonPath } from '../ipc/peer.js';
import { SAFE_PATH, sleep } from './common.js';
import type { PasswdEntry } from './linux-host.js';

export type DbFile = 'passwd' | 'shadow' | 'group' | 'gshadow';
/** The text of each file, or null when the file does not exist (gshadow on some systems). */
export type Db = Record<DbFile, string | null>;

/** A passwd entry (its fields as linux-host reads them), with what creation adds. */
export interface NewAccount extends PasswdEntry {
  /** Supplementary groups (existing groups by name) the account becomes a member of. */
  groups: readonly string[];
  /** The day of the last password change (days since 1970-01-01), as useradd writes it. */
  lastChangeDay: number;
}

const NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
/** How long lckpwdf() waits for the lock (glibc: 15 s). */
const LOCK_WAIT_MS = 15_000;

function field(value: string, what: string): string {
  if (/[:\n\r\0]/.test(value)) throw new AscendError('ASC_EXEC_FAILED', `The ${what} of an account may not hold ':' or a line break.`);
  return value;
}

/** The lines of a file (without the line breaks), and whether it ended with one. */
function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function textOf(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function nameOf(line: string): string {
  const at = line.indexOf(':');
  return at < 0 ? line : line.slice(0, at);
}

/** A file's lines with `member` added to (or removed from) the list at field `index` of the lines named in `groups`. */
function editMembers(lines: readonly string[], index: number, pick: (name: string) => boolean, edit: (members: string[]) => string[]): string[] {
  return lines.map((line) => {
    if (!pick(nameOf(line))) return line;
    const f = line.split(':');
    if (f.length <= index) return line;
    const before = (f[index] ?? '').split(',').filter(Boolean);
    const after = edit(before);
    if (after.length === before.length && after.every((m, i) => m === before[i])) return line;
    f[index] = after.join(',');
    return f.join(':');
  });
}

/**
 * The files with the account added (pure): its passwd and shadow lines (password '!', locked,
 * no aging fields, as `useradd --system` without --password writes them), its own group (uid =
 * gid) in group and gshadow, and its name appended to the member lists of `groups`. Refuses a
 * name or id that is taken, and a group of `groups` that does not exist.
 */
export function addAccount(db: Db, a: NewAccount): Db {
  if (!NAME.test(a.name)) throw new AscendError('ASC_EXEC_FAILED', `Account name ${a.name} is not a valid user name.`);
  for (const id of [a.uid, a.gid]) if (!Number.isInteger(id) || id <= 0 || id > 0x7ffffffe) throw new AscendError('ASC_EXEC_FAILED', `Account id ${String(id)} is out of range.`);
  const gecos = field(a.gecos, 'comment');
  const home = field(a.home, 'home folder');
  const shell = field(a.shell, 'shell');
  if (db.passwd === null || db.group === null) throw new AscendError('ASC_EXEC_FAILED', '/etc/passwd and /etc/group must exist.');
  const passwd = linesOf(db.passwd);
  const group = linesOf(db.group);
  const idsOf = (lines: string[], at: number[]): number[] => lines.flatMap((l) => at.map((i) => Number(l.split(':')[i])));
  if (passwd.some((l) => nameOf(l) === a.name) || group.some((l) => nameOf(l) === a.name)) throw new AscendError('ASC_EXEC_FAILED', `Account ${a.name} exists already.`);
  if (idsOf(passwd, [2, 3]).includes(a.uid) || idsOf(passwd, [2, 3]).includes(a.gid) || idsOf(group, [2]).includes(a.gid) || idsOf(group, [2]).includes(a.uid)) {
    throw new AscendError('ASC_EXEC_FAILED', `Id ${a.uid} is in use already.`);
  }
  const known = new Set(group.map(nameOf));
  for (const g of a.groups) if (!known.has(g)) throw new AscendError('ASC_EXEC_FAILED', `Group ${g} does not exist.`);
  const member = new Set(a.groups);
  const add = (members: string[]): string[] => (members.includes(a.name) ? members : [...members, a.name]);
  const out: Db = { ...db };
  out.passwd = textOf([...passwd, `${a.name}:x:${a.uid}:${a.gid}:${gecos}:${home}:${shell}`]);
  if (db.shadow !== null) out.shadow = textOf([...linesOf(db.shadow).filter((l) => nameOf(l) !== a.name), `${a.name}:!:${a.lastChangeDay}::::::`]);
  out.group = textOf([...editMembers(group, 3, (n) => member.has(n), add), `${a.name}:x:${a.gid}:`]);
  if (db.gshadow !== null) out.gshadow = textOf([...editMembers(linesOf(db.gshadow).filter((l) => nameOf(l) !== a.name), 3, (n) => member.has(n), add), `${a.name}:!::`]);
  return out;
}

/**
 * The files with the account `name` removed (pure), as userdel does it: its passwd and shadow
 * lines, its name in every member (and gshadow administrator) list, and its own group (same
 * name, its gid) when no one else is a member. Nothing else changes; a missing line is no error.
 */
export function removeAccount(db: Db, name: string, gid: number): Db {
  const drop = (members: string[]): string[] => members.filter((m) => m !== name);
  const any = (): boolean => true;
  const out: Db = { ...db };
  const own = (line: string): boolean => {
    const f = line.split(':');
    return f[0] === name && Number(f[2]) === gid && (f[3] ?? '').split(',').filter((m) => m && m !== name).length === 0;
  };
  let ownGroupGone = false;
  if (db.group !== null) {
    const lines = editMembers(linesOf(db.group), 3, any, drop);
    const kept = lines.filter((l) => !own(l));
    ownGroupGone = kept.length !== lines.length;
    out.group = textOf(kept);
  }
  if (db.gshadow !== null) {
    let lines = editMembers(editMembers(linesOf(db.gshadow), 3, any, drop), 2, any, drop);
    if (ownGroupGone) lines = lines.filter((l) => nameOf(l) !== name);
    out.gshadow = textOf(lines);
  }
  if (db.shadow !== null) out.shadow = textOf(linesOf(db.shadow).filter((l) => nameOf(l) !== name));
  if (db.passwd !== null) out.passwd = textOf(linesOf(db.passwd).filter((l) => nameOf(l) !== name));
  return out;
}

/** The day number useradd writes as the last password change (UTC days since the epoch). */
export function dayNumber(nowMs: number): number {
  return Math.floor(nowMs / 86_400_000);
}

interface LockAddon {
  tryWriteLock(fd: number): boolean;
  copySecurityXattrs(from: number, to: number): void;
}

let addon: LockAddon | undefined;
function lockAddon(): LockAddon {
  if (addon) return addon;
  const file = addonPath();
  const mod = createRequire(import.meta.url)(file) as Partial<LockAddon>;
  if (typeof mod.tryWriteLock !== 'function' || typeof mod.copySecurityXattrs !== 'function') {
    throw new AscendError('ASC_AGENT_CONFIG', `${file} does not export tryWriteLock and copySecurityXattrs (an older build: npm run build:native).`);
  }
  addon = mod as LockAddon;
  return addon;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The pid a `.lock` (or `<file>.<pid>`) file names: shadow-utils writes "<pid>\0", older tools
 * "<pid>\n"; digits up to the first NUL or white space. Null when it names no process.
 */
export function lockPid(text: string): number | null {
  const m = /^([0-9]{1,10})(?:[\0\s]|$)/.exec(text);
  const pid = m ? Number(m[1]) : 0;
  return pid > 0 && pid <= 0x3fffffff ? pid : null;
}

/**
 * Whether a `<file>.lock` found while this process holds lckpwdf is stale: shadow-utils links
 * it fully written, so one naming no process, a process that is gone, or this process (its
 * edits are serialized and hold lckpwdf) is left over from a crash and removed.
 */
export function lockIsStale(text: string, ownPid: number, alive: (pid: number) => boolean): boolean {
  const pid = lockPid(text);
  return pid === null || pid === ownPid || !alive(pid);
}

const ORDER: readonly DbFile[] = ['passwd', 'shadow', 'group', 'gshadow'];

/**
 * The edits of this process, one at a time whatever the PasswdDb: an fcntl lock belongs to the
 * process (a second lock of it would not wait) and closing any descriptor of the lock file
 * drops it.
 */
const edits = new SerialQueue();

/**
 * The databases under one folder (/etc; another only in tests). The edits of this process run
 * one after the other; `change` must not start another edit (it would wait for itself).
 */
export class PasswdDb {
  constructor(
    readonly dir = '/etc',
    private readonly lockWaitMs = LOCK_WAIT_MS,
  ) {}

  private file(f: DbFile): string {
    return path.join(this.dir, f);
  }

  /**
   * Runs `change` with every file locked and read; writes the files it changed in `order`,
   * releases the locks, and tells the name caches. Returns what `change` returned.
   */
  edit<T>(change: (db: Db) => Promise<{ db: Db; value: T }> | { db: Db; value: T }, order: 'passwd-first' | 'passwd-last'): Promise<T> {
    return edits.run(() => this.editLocked(change, order));
  }

  private async editLocked<T>(change: (db: Db) => Promise<{ db: Db; value: T }> | { db: Db; value: T }, order: 'passwd-first' | 'passwd-last'): Promise<T> {
    const release = await this.lock();
    let changed: DbFile[] = [];
    let value: T;
    try {
      await this.removeLeftovers();
      const before = await this.read();
      const after = await change(before);
      value = after.value;
      changed = ORDER.filter((f) => after.db[f] !== before[f] && after.db[f] !== null && before[f] !== null);
      // The new files are written and flushed side by side (one journal commit), then renamed
      // in the order that keeps a crash harmless, and the folder is flushed before the edit
      // returns: a crash before that shows each file old or new whole (the orphan cleanup finds
      // a marked account; the id it had is never handed out again, ids.ts); after it, the edit
      // is on disk (a removal is then never undone by a crash).
      await Promise.all(changed.map((f) => this.writeTemp(f, after.db[f] as string)));
      const renames = order === 'passwd-first' ? changed : [...changed].reverse();
      // The folder is also flushed between passwd and the others: renames in one folder are not
      // promised to reach the disk in order, and passwd's marker must never be lost while the
      // other files' lines (a sudo membership) stay.
      for (const [i, f] of renames.entries()) {
        if (i > 0 && (f === 'passwd' || renames[i - 1] === 'passwd')) await this.syncDir();
        await fsp.rename(`${this.file(f)}+`, this.file(f));
      }
      if (renames.length > 0) await this.syncDir();
    } finally {
      await release();
    }
    if (changed.length > 0) await this.flushCaches();
    return value;
  }

  private async syncDir(): Promise<void> {
    const d = await fsp.open(this.dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  /**
   * What a crashed edit (ours or shadow-utils') left, removed with the locks held: every
   * `<file>+` (written only under the locks; a stale shadow+ keeps password hashes) and each
   * `<file>.<pid>` that holds its own pid, of a process that is gone (or this one).
   */
  private async removeLeftovers(): Promise<void> {
    for (const name of await fsp.readdir(this.dir)) {
      const m = /^(passwd|shadow|group|gshadow)(?:\+|\.([0-9]{1,10}))$/.exec(name);
      if (!m) continue;
      const full = path.join(this.dir, name);
      if (m[2] !== undefined) {
        const pid = Number(m[2]);
        const text = await fsp.readFile(full, 'latin1').catch(() => null);
        if (text === null || lockPid(text) !== pid || !lockIsStale(text, process.pid, isAlive)) continue;
      }
      await fsp.rm(full, { force: true });
    }
  }

  /** Reads the four files (null for one that does not exist). */
  async read(): Promise<Db> {
    const out = {} as Db;
    for (const f of ORDER) {
      out[f] = await fsp.readFile(this.file(f), 'utf8').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' && (f === 'gshadow' || f === 'shadow')) return null;
        throw e;
      });
    }
    return out;
  }

  /**
   * `<file>+` with the old owner, mode, SELinux label and ACL (a label or ACL that cannot be
   * copied fails the edit: the file is not replaced), flushed (renamed over the file by edit()).
   */
  private async writeTemp(f: DbFile, text: string): Promise<void> {
    const target = this.file(f);
    const st = await fsp.stat(target);
    const temp = `${target}+`;
    await fsp.rm(temp, { force: true });
    const h = await fsp.open(temp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    try {
      await h.writeFile(text);
      await h.chown(st.uid, st.gid);
      await h.chmod(st.mode & 0o7777);
      const old = await fsp.open(target, fsc.O_RDONLY | fsc.O_NOFOLLOW);
      try {
        lockAddon().copySecurityXattrs(old.fd, h.fd);
      } finally {
        await old.close();
      }
      await h.sync();
    } finally {
      await h.close();
    }
  }

  /** lckpwdf(), then each file's `.lock`; the function returned releases all of them. */
  private async lock(): Promise<() => Promise<void>> {
    const deadline = Date.now() + this.lockWaitMs;
    const pwdLock = path.join(this.dir, '.pwd.lock');
    const fd = openSync(pwdLock, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_NOFOLLOW, 0o600);
    const held: string[] = [];
    const release = async (): Promise<void> => {
      for (const l of held.splice(0)) await fsp.rm(l, { force: true }).catch(() => undefined);
      closeSync(fd); // releases the fcntl lock
    };
    try {
      for (let wait = 2; !lockAddon().tryWriteLock(fd); wait = Math.min(50, wait * 2)) {
        if (Date.now() > deadline) throw new AscendError('ASC_EXEC_FAILED', `The account files are locked by another program (${pwdLock}); try again.`);
        await sleep(wait);
      }
      for (const f of ORDER) {
        if (!existsSync(this.file(f))) continue;
        for (let wait = 5; !(await this.lockFile(f)); wait = Math.min(100, wait * 2)) {
          if (Date.now() > deadline) throw new AscendError('ASC_EXEC_FAILED', `${this.file(f)} is locked by another program (${this.file(f)}.lock); try again.`);
          await sleep(wait);
        }
        held.push(`${this.file(f)}.lock`);
      }
    } catch (e) {
      await release();
      throw e;
    }
    return release;
  }

  /** shadow-utils' commonio_lock_nowait: link `<file>.<pid>` to `<file>.lock`; a stale lock (its pid gone) is removed once. */
  private async lockFile(f: DbFile): Promise<boolean> {
    const lock = `${this.file(f)}.lock`;
    const temp = `${this.file(f)}.${process.pid}`;
    await fsp.rm(temp, { force: true });
    await fsp.writeFile(temp, String(process.pid), { mode: 0o600, flag: fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await fsp.link(temp, lock);
          if ((await fsp.stat(temp)).nlink === 2) return true;
          await fsp.rm(lock, { force: true }); // not the link just made (as shadow-utils checks): not held
          return false;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const text = await fsp.readFile(lock, 'latin1').catch(() => null);
        if (text === null) continue; // gone meanwhile: link again
        if (!lockIsStale(text, process.pid, isAlive)) return false;
        await fsp.rm(lock, { force: true }); // stale: its process is gone (we hold lckpwdf)
      }
      return false;
    } finally {
      await fsp.rm(temp, { force: true });
    }
  }

  /** nscd and sssd's files domain cache these files: told to drop them, as useradd does. */
  private async flushCaches(): Promise<void> {
    if (this.dir !== '/etc') return;
    const runTool = (file: string, args: string[]): Promise<void> =>
      new Promise((resolve) => execFile(file, args, { env: { PATH: SAFE_PATH, LC_ALL: 'C' }, timeout: 10_000 }, () => resolve()));
    if (existsSync('/var/run/nscd/socket')) {
      const nscd = ['/usr/sbin/nscd', '/sbin/nscd'].find((p) => existsSync(p));
      if (nscd) {
        await runTool(nscd, ['--invalidate', 'passwd']);
        await runTool(nscd, ['--invalidate', 'group']);
      }
    }
    if (existsSync('/var/lib/sss/db/cache_implicit_files.ldb')) {
      const sss = ['/usr/sbin/sss_cache', '/sbin/sss_cache'].find((p) => existsSync(p));
      if (sss) await runTool(sss, ['-U', '-G']);
    }
  }
}
