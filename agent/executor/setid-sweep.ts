/**
 * The set-id sweep: when an ephemeral account is removed, every regular file on a local
 * filesystem that still has the set-uid or set-gid bit and belongs to the account's uid or has
 * its gid as group (a set-gid copy of a shell in /tmp, a set-gid file of the admin group the
 * account owns) loses those bits, and processes still running with that uid or gid are ended.
 * The uid and gid are never handed out again (ids.ts), so such a file is a leftover by
 * definition.
 *
 * Durable: the sweep is recorded in a journal in the state folder (flushed) before the account
 * is removed, and the entry is dropped only when every filesystem was searched. At start and on
 * each cleanup the pending sweeps run again. The sweep runs in the background: the elevation's
 * result does not wait for it (the id is dead, the journal entry is on disk first).
 *
 * Searched: every mount of /proc/self/mountinfo that is writable and local, tmpfs included
 * (/tmp, /dev/shm, /run are where leftovers go); left out: pseudo filesystems, network and FUSE
 * filesystems (a user's FUSE daemon could stall the walk; the kernel ignores set-id bits of
 * unprivileged FUSE mounts) and read-only mounts. One walk per device (bind mounts of a
 * device are walked once, through a mount of its root when there is one); walks do not cross
 * into other mounts. Files are found with `find -xdev -type f -perm /6000 (-uid U -o -gid G)`
 * and changed through a handle opened component by component with O_NOFOLLOW, so a path a
 * user swaps meanwhile cannot redirect the change; owner, group and mode are checked again on
 * the handle before fchmod.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { constants as fsc, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { replaceFileAtomically } from '../../src/atomic-file.js';
import { SerialQueue } from '../../src/serial-queue.js';
import { AscendError } from '../../src/errors.js';

export const SWEEP_JOURNAL = 'setid-sweeps.json';

export interface PendingSweep {
  uid: number;
  gid: number;
  elevationId: string;
}

export interface MountEntry {
  dev: string;
  root: string;
  mountPoint: string;
  options: string[];
  fstype: string;
  superOptions: string[];
}

export interface SweepReport {
  /** Files whose set-id bits were cleared. */
  fixed: string[];
  /** Processes that still ran with a swept uid or gid, and were ended. */
  endedPids: number[];
  problems: string[];
  /** True when every filesystem was searched (the journal entries are then dropped). */
  complete: boolean;
}

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

const PSEUDO = new Set([
  'proc', 'sysfs', 'cgroup', 'cgroup2', 'securityfs', 'debugfs', 'tracefs', 'bpf', 'pstore', 'configfs', 'devpts',
  'mqueue', 'hugetlbfs', 'autofs', 'binfmt_misc', 'fusectl', 'efivarfs', 'selinuxfs', 'rpc_pipefs', 'nsfs', 'nfsd',
]);
const NETWORK = new Set([
  'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'ncpfs', 'afs', 'ceph', 'glusterfs', '9p', 'virtiofs', 'lustre', 'gpfs', 'ocfs2',
  'gfs2', 'coda', 'davfs', 'sshfs', 'fuseblk', 'fuse',
]);

/** mountinfo's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo (pure). */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 4) continue;
    out.push({
      dev: f[2] ?? '',
      root: unescapeMount(f[3] ?? ''),
      mountPoint: unescapeMount(f[4] ?? ''),
      options: (f[5] ?? '').split(','),
      fstype: f[sep + 1] ?? '',
      superOptions: (f[sep + 3] ?? '').split(','),
    });
  }
  return out;
}

/** Whether a mount is swept: writable, local, not a pseudo filesystem (tmpfs is swept). */
export function isSweptMount(m: MountEntry): boolean {
  if (m.options.includes('ro') || m.superOptions.includes('ro')) return false;
  const t = m.fstype;
  // Every FUSE type: fuse, fuse.<subtype>, fuseblk and fuseblk.<subtype> (the subtype is the mounter's choice).
  if (PSEUDO.has(t) || NETWORK.has(t) || t.startsWith('fuse') || t.startsWith('cgroup')) return false;
  return path.isAbsolute(m.mountPoint);
}

/**
 * The mount points to walk (pure): swept mounts, one per device — a mount of the device's
 * root when there is one, else each distinct subtree that is mounted.
 */
export function sweepTargets(mounts: readonly MountEntry[]): string[] {
  const byDev = new Map<string, MountEntry[]>();
  for (const m of mounts.filter(isSweptMount)) {
    const list = byDev.get(m.dev) ?? [];
    list.push(m);
    byDev.set(m.dev, list);
  }
  const out: string[] = [];
  for (const list of byDev.values()) {
    const whole = list.find((m) => m.root === '/');
    if (whole) {
      out.push(whole.mountPoint);
      continue;
    }
    const seen = new Set<string>();
    for (const m of list) {
      if (seen.has(m.root)) continue;
      seen.add(m.root);
      out.push(m.mountPoint);
    }
  }
  return [...new Set(out)];
}

/** Opens a file without following a symbolic link anywhere on its path (each folder by handle, via /proc/self/fd). */
async function openNoFollow(file: Buffer): Promise<FileHandle> {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= file.length; i++) {
    if (i === file.length || file[i] === 0x2f) {
      if (i > start) parts.push(file.subarray(start, i));
      start = i + 1;
    }
  }
  const name = parts.pop();
  if (file[0] !== 0x2f || !name || [...parts, name].some((p) => p.equals(Buffer.from('.')) || p.equals(Buffer.from('..')))) {
    throw Object.assign(new Error('not a plain absolute path'), { code: 'EINVAL' });
  }
  const at = (dir: FileHandle, p: Buffer): Buffer => Buffer.concat([Buffer.from(`/proc/self/fd/${dir.fd}/`), p]);
  let dir = await fsp.open('/', fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    for (const p of parts) {
      const next = await fsp.open(at(dir, p), fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
      await dir.close();
      dir = next;
    }
    return await fsp.open(at(dir, name), fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  } finally {
    await dir.close().catch(() => undefined);
  }
}

/**
 * Clears the set-uid and set-gid bits of one file when, on its handle, it is a regular file
 * with one of them whose owner is in `uids` or group is in `gids`. Returns the old mode and
 * owner when it changed something, null when the file did not qualify (or vanished).
 */
export async function defuse(
  file: Buffer,
  uids: ReadonlySet<number>,
  gids: ReadonlySet<number>,
): Promise<{ mode: number; uid: number; gid: number } | null> {
  let fh: FileHandle;
  try {
    fh = await openNoFollow(file);
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    if (c === 'ENOENT' || c === 'ELOOP' || c === 'ENOTDIR' || c === 'ENXIO' || c === 'EINVAL') return null; // gone or swapped for a link
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || (st.mode & 0o6000) === 0 || !(uids.has(st.uid) || gids.has(st.gid))) return null;
    await fh.chmod(st.mode & 0o1777);
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } finally {
    await fh.close();
  }
}

/** Live processes whose real, effective, saved or filesystem uid is in `uids`, or gid or a supplementary group is in `gids` (never pid 1 or this process). */
export function processesWithIds(uids: ReadonlySet<number>, gids: ReadonlySet<number>): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === 1 || pid === process.pid) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue;
    }
    const state = /^State:\s+(\S)/m.exec(status)?.[1];
    if (state === 'Z' || state === 'X') continue;
    const ids = (line: string): number[] =>
      (new RegExp(`^${line}:[ \\t]*(.*)$`, 'm').exec(status)?.[1] ?? '')
        .trim()
        .split(/\s+/)
        .filter((x) => x !== '')
        .map(Number);
    // A supplementary group too: a process that became another user through a set-uid file keeps
    // the account's group (only root can drop it).
    if (ids('Uid').some((u) => uids.has(u)) || ids('Gid').some((g) => gids.has(g)) || ids('Groups').some((g) => gids.has(g))) out.push(pid);
  }
  return out;
}

function parseJournal(text: string): PendingSweep[] | null {
  try {
    const p = (JSON.parse(text) as { pending?: unknown }).pending;
    if (!Array.isArray(p)) return null;
    const out: PendingSweep[] = [];
    for (const e of p) {
      const { uid, gid, elevationId } = (e ?? {}) as PendingSweep;
      if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0 || gid <= 0 || typeof elevationId !== 'string') return null;
      out.push({ uid, gid, elevationId });
    }
    return out;
  } catch {
    return null;
  }
}

export interface SweeperOptions {
  /** The `find` program (default /usr/bin/find, else /bin/find). */
  find?: string;
  /** The longest one filesystem's walk may take before the sweep counts as incomplete (default 30 min). */
  walkTimeoutMs?: number;
  /** Mount points to walk (default: from /proc/self/mountinfo, see sweepTargets). */
  targets?: () => string[];
  /**
   * The least time between the end of one run and the start of the next (default 60 s). A walk
   * of every local filesystem costs seconds of disk work, so a busy machine's elevations share
   * one run a minute instead of one each. The wait is safe because ids are never reused and the
   * launcher's filter already refuses set-id bits inside elevated trees: the sweep is the
   * second line, for what got past it (a root escape). The first run of a process is not delayed.
   */
  minIntervalMs?: number;
}

const DEFAULT_MIN_INTERVAL_MS = 60_000;
/** Walks of one run at most (see runOnce). */
const MAX_ROUNDS = 3;

/** One sweeper per journal in this process: executors on one state folder share it (and its runs). */
const sweepers = new Map<string, SetidSweeper>();

export class SetidSweeper {
  /** The sweeper of a state folder (made on first use with this log). */
  static of(stateDir: string, log: Log): SetidSweeper {
    const key = path.join(path.resolve(stateDir), SWEEP_JOURNAL);
    let s = sweepers.get(key);
    if (!s) {
      s = new SetidSweeper(stateDir, log);
      sweepers.set(key, s);
    }
    return s;
  }

  private readonly file: string;
  /** Journal reads and writes, one at a time. */
  private readonly journal = new SerialQueue();
  private running: Promise<void> | null = null;
  private again = false;
  private lastRunEnded = 0;
  /** The walks under way (find children), ended by stop(). */
  private readonly walks = new Set<ChildProcess>();
  private stopped = false;
  private delayed: NodeJS.Timeout | null = null;

  constructor(
    stateDir: string,
    private readonly log: Log,
    private readonly options: SweeperOptions = {},
  ) {
    this.file = path.join(path.resolve(stateDir), SWEEP_JOURNAL);
  }

  async pending(): Promise<PendingSweep[]> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const list = parseJournal(text);
    if (list === null) {
      // A damaged journal cannot say which ids to sweep; it is kept for a person to read.
      this.log('error', 'the set-id sweep journal is damaged and was set aside', { file: this.file });
      await fsp.rename(this.file, `${this.file}.damaged-${Date.now()}`).catch(() => undefined);
      return [];
    }
    return list;
  }

  private write(list: readonly PendingSweep[]): Promise<void> {
    return replaceFileAtomically(this.file, Buffer.from(`${JSON.stringify({ pending: list })}\n`), 0o600);
  }

  /** Records a sweep for a uid and gid (on disk, flushed) before its account is removed. */
  record(entry: PendingSweep): Promise<void> {
    if (!Number.isInteger(entry.uid) || entry.uid <= 0 || !Number.isInteger(entry.gid) || entry.gid <= 0) {
      return Promise.reject(new AscendError('ASC_EXEC_FAILED', `refusing to sweep uid ${entry.uid} gid ${entry.gid}`));
    }
    return this.journal.run(async () => {
      const list = await this.pending();
      if (!list.some((e) => e.uid === entry.uid && e.gid === entry.gid)) list.push(entry);
      await this.write(list);
    });
  }

  /**
   * Starts the pending sweeps in the background: one run at a time, and runs at least
   * minIntervalMs apart (a call meanwhile schedules one more run, which sweeps everything
   * recorded until it starts).
   */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const wait = this.lastRunEnded + (this.options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS) - Date.now();
    if (this.lastRunEnded > 0 && wait > 0) {
      if (!this.delayed) {
        this.delayed = setTimeout(() => {
          this.delayed = null;
          this.kick();
        }, wait);
        this.delayed.unref();
      }
      return;
    }
    this.again = false;
    this.running = (async () => {
      try {
        await this.runOnce();
      } catch (e) {
        this.log('error', 'set-id sweep failed; it is retried at the next cleanup', { error: String(e) });
      }
    })().finally(() => {
      this.running = null;
      if (this.again) this.kick();
    });
  }

  /**
   * Ends the walks under way and starts no more in this process (the agent is stopping): what
   * they did not finish stays in the journal and runs at the next start.
   */
  stop(): void {
    this.stopped = true;
    if (this.delayed) clearTimeout(this.delayed);
    this.delayed = null;
    for (const child of this.walks) child.kill('SIGKILL');
  }

  /** A sweep is running, or one is due (waiting out the interval between runs). */
  get busy(): boolean {
    return this.running !== null || this.delayed !== null || this.again;
  }

  /** Resolves when no sweep is running (tests, and a clean stop). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** One sweep over every pending entry; drops the entries when every filesystem was searched. */
  async runOnce(): Promise<SweepReport> {
    const report: SweepReport = { fixed: [], endedPids: [], problems: [], complete: true };
    const list = await this.journal.run(() => this.pending());
    if (list.length === 0) return report;
    const uids = new Set(list.map((e) => e.uid));
    const gids = new Set(list.map((e) => e.gid));
    // Anything that runs with a removed uid or gid (a leftover run before its bits were
    // cleared): ended before a walk, so it cannot leave a new one behind the walk, and after.
    const endIdProcesses = (): number => {
      let n = 0;
      for (const pid of processesWithIds(uids, gids)) {
        try {
          process.kill(pid, 'SIGKILL');
          report.endedPids.push(pid);
          n++;
        } catch {
          /* gone */
        }
      }
      return n;
    };
    if (endIdProcesses() > 0) {
      // SIGKILL takes effect when the process next runs: wait until they are gone (up to 10 s on
      // a loaded machine; one still running then is ended again after the walk, which repeats).
      for (let i = 0; i < 500 && processesWithIds(uids, gids).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    }
    const targets = this.options.targets ? this.options.targets() : sweepTargets(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')));
    // A round that cleared a leftover, or after which a process ran with a removed id, may have
    // missed a leftover made meanwhile in a folder the walk had passed: walk again, until a
    // round finds nothing (else the entries stay in the journal for the next cleanup).
    for (let round = 1; ; round++) {
      const fixedBefore = report.fixed.length;
      let walked = true;
      for (const mount of targets) {
        const ok = await this.walk(mount, uids, gids, list, report);
        if (!ok) walked = false;
      }
      const ran = endIdProcesses();
      if (!walked) report.complete = false;
      if (!report.complete || (report.fixed.length === fixedBefore && ran === 0)) break;
      if (round >= MAX_ROUNDS) {
        report.complete = false;
        report.problems.push(`leftovers or processes of removed ids were still found after ${MAX_ROUNDS} walks`);
        break;
      }
    }
    if (report.endedPids.length > 0) this.log('warn', 'processes of removed ephemeral ids ended', { pids: report.endedPids });
    // Only a run that walked counts for the interval (an empty journal costs nothing).
    this.lastRunEnded = Date.now();
    if (report.complete) {
      await this.journal.run(async () => {
        const now = await this.pending();
        await this.write(now.filter((e) => !list.some((d) => d.uid === e.uid && d.gid === e.gid)));
      });
    } else {
      this.log('warn', 'set-id sweep incomplete; it is retried at the next cleanup', { problems: report.problems });
    }
    return report;
  }

  /** One filesystem: find's matches, each made harmless through a no-follow handle. False when the walk did not finish. */
  private async walk(mount: string, uids: ReadonlySet<number>, gids: ReadonlySet<number>, list: readonly PendingSweep[], report: SweepReport): Promise<boolean> {
    const find = this.options.find ?? (existsSync('/usr/bin/find') ? '/usr/bin/find' : '/bin/find');
    const who: string[] = [];
    for (const u of uids) who.push(...(who.length ? ['-o'] : []), '-uid', String(u));
    for (const g of gids) who.push('-o', '-gid', String(g));
    // mount is absolute (starts with '/'), so find never takes it for an option.
    const args = [mount, '-xdev', '-type', 'f', '-perm', '/6000', '(', ...who, ')', '-print0'];
    if (this.stopped) return false;
    const child = spawn(find, args, { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.walks.add(child);
    child.once('close', () => this.walks.delete(child));
    try {
      if (child.pid !== undefined) setPriority(child.pid, 10); // a background walk: below the elevations it follows
    } catch {
      /* keeps the default priority */
    }
    // The walk does not keep a stopping agent alive: what it did not finish stays in the journal.
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), this.options.walkTimeoutMs ?? 30 * 60_000);
    timer.unref();
    // An agent that exits mid-walk leaves no find behind; the journal keeps the work for the next start.
    const endWalk = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', endWalk);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    let rest = Buffer.alloc(0);
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        let buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
        for (let nul = buf.indexOf(0); nul >= 0; nul = buf.indexOf(0)) {
          await this.fix(buf.subarray(0, nul), uids, gids, list, report);
          buf = buf.subarray(nul + 1);
        }
        rest = Buffer.from(buf);
      }
    } finally {
      clearTimeout(timer);
      process.removeListener('exit', endWalk);
    }
    const r = await exited;
    // 0: done; 1: done, but some entries could not be read (files that vanished meanwhile).
    if (r.error || r.signal || (r.code !== 0 && r.code !== 1)) {
      report.problems.push(`${mount}: find ${r.error ? r.error.message : r.signal ? `ended by ${r.signal}` : `exit ${r.code}`}`);
      return false;
    }
    if (r.code === 1) this.log('info', 'set-id sweep: some entries could not be read', { mount, error: stderr.split('\n')[0] ?? '' });
    return true;
  }

  private async fix(file: Buffer, uids: ReadonlySet<number>, gids: ReadonlySet<number>, list: readonly PendingSweep[], report: SweepReport): Promise<void> {
    const shown = JSON.stringify(file.toString('utf8'));
    try {
      const old = await defuse(file, uids, gids);
      if (!old) return;
      const entry = list.find((e) => e.uid === old.uid) ?? list.find((e) => e.gid === old.gid);
      report.fixed.push(file.toString('utf8'));
      this.log('warn', 'set-id leftover of an ephemeral account made harmless', {
        file: file.toString('utf8'), // the log line escapes what a name may hold
        mode: old.mode.toString(8),
        uid: old.uid,
        gid: old.gid,
        elevationId: entry?.elevationId,
      });
    } catch (e) {
      report.problems.push(`${shown}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      report.complete = false;
    }
  }
}
