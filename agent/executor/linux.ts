/**
 * The Linux executor: every elevation runs as a fresh ephemeral account (or as root for
 * integrity System), and everything it started is ended and the account removed when it exits.
 *
 * How the process tree of an elevation is found (endTree, and the leftovers after exit):
 * - Ephemeral account: the account is unique to the elevation, so every live process whose
 *   real, effective or saved uid is the account's belongs to it, whatever it did (setsid,
 *   double fork). TERM goes to each of them; the KILL stage runs `kill -KILL -1` as the account
 *   (setpriv), which the kernel applies to all its processes at once, so a process that keeps
 *   forking cannot outrun it. When a cgroup v2 is writable the elevation is also put in its
 *   own cgroup, which additionally catches set-uid programs the account ran (tracking 'uid+cgroup').
 * - Integrity System (root): a cgroup v2 `<cgroup2 mount>/ascend/<elevationId>` (here
 *   /sys/fs/cgroup/unified on a hybrid v1+v2 host, /sys/fs/cgroup on a pure v2 host). The
 *   program is started by a tiny `sh` that moves itself into the cgroup and then execs it, so
 *   no child is created outside. KILL uses `cgroup.kill` (Linux 5.14+) when present, else the
 *   pids of `cgroup.procs`, re-read until empty (tracking 'cgroup').
 *   Without a writable cgroup v2 the fallback is the process group (the program is its
 *   leader): a process that calls setsid escapes it (tracking 'process-group'; logged).
 *   The cgroup v1 freezer is not used.
 */
import { spawn, execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants as fsc, promises as fsp } from 'node:fs';
import path from 'node:path';
import { AscendError, isAscendError } from '../../src/errors.js';
import { SerialQueue } from '../../src/serial-queue.js';
import {
  ADMINISTRATORS_NAME,
  ADMINISTRATORS_SID,
  SAFE_PATH,
  accountNameFor,
  checkPrefix,
  checkSpec,
  filterClientEnv,
  isElevationId,
  mapGroups,
  markerFor,
  parseMarker,
  show,
  sleep,
} from './common.js';
import type {
  CleanupReport,
  ElevationExit,
  ElevationSpec,
  Executor,
  ExecutorOptions,
  RunningElevation,
  TreeTracking,
} from './contract.js';
import { isLive, listProcs, liveProcsOfUid, readProc, trySignal } from './procfs.js';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/** useradd's limit on a user name. */
export const LINUX_MAX_NAME = 32;
export const DEFAULT_HOME_ROOT = '/var/lib/ascend/homes';
const NOLOGIN_CANDIDATES = ['/usr/sbin/nologin', '/sbin/nologin'];
const DEFAULT_LEFTOVER_GRACE_MS = 2000;
const DEFAULT_END_GRACE_MS = 3000;

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function readPasswd(): PasswdEntry[] {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7)
    .map((f) => ({
      name: f[0] ?? '',
      uid: Number(f[2]),
      gid: Number(f[3]),
      gecos: f[4] ?? '',
      home: f[5] ?? '',
      shell: f[6] ?? '',
    }));
}

function readGroups(): GroupEntry[] {
  return readFileSync('/etc/group', 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4)
    .map((f) => ({ name: f[0] ?? '', gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a helper program with a minimal environment; never rejects for a non-zero exit. */
function run(file: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { PATH: SAFE_PATH, LC_ALL: 'C' }, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(err);
        return;
      }
      const code = err ? ((err as { code?: number | null }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function firstLine(s: string): string {
  return (s.trim().split('\n')[0] ?? '').slice(0, 200);
}

/** Finds a helper program on the safe PATH. */
function which(name: string): string | null {
  for (const dir of SAFE_PATH.split(':')) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

function tool(name: string): string {
  const p = which(name);
  if (!p) {
    throw new AscendError('ASC_AGENT_CONFIG', `The executor needs ${name}, which is not on ${SAFE_PATH}.`, {
      hint: name === 'setpriv' ? 'Install util-linux.' : name === 'useradd' || name === 'userdel' ? 'Install passwd.' : undefined,
    });
  }
  return p;
}

/** The program of spec.command[0]: an absolute path, or a bare name looked up on SAFE_PATH. */
async function resolveProgram(name: string): Promise<string> {
  const isExecutableFile = async (p: string): Promise<boolean> => {
    try {
      const st = await fsp.stat(p);
      if (!st.isFile() || (st.mode & 0o111) === 0) return false;
      await fsp.access(p, fsc.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (path.isAbsolute(name)) {
    if (await isExecutableFile(name)) return name;
    throw new AscendError('ASC_EXEC_FAILED', `Program ${show(name)} does not exist or is not an executable file.`);
  }
  if (name.includes('/')) {
    throw new AscendError(
      'ASC_EXEC_FAILED',
      `Program ${show(name)} is a relative path; give an absolute path or a bare name found on ${SAFE_PATH}.`,
    );
  }
  for (const dir of SAFE_PATH.split(':')) {
    const p = path.join(dir, name);
    if (await isExecutableFile(p)) return p;
  }
  throw new AscendError('ASC_EXEC_FAILED', `Program ${show(name)} was not found on the safe PATH ${SAFE_PATH}.`);
}

interface Cgroup {
  dir: string;
  hasKill: boolean;
}

/** The mount point of the cgroup v2 hierarchy, or null (prefers /sys/fs/cgroup when it is v2). */
export function findCgroup2Mount(): string | null {
  let mounts: string;
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return null;
  }
  const points = mounts
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'cgroup2' && f[1])
    .map((f) => (f[1] ?? '').replace(/\\040/g, ' '));
  if (points.includes('/sys/fs/cgroup')) return '/sys/fs/cgroup';
  return points[0] ?? null;
}

function readCgroupProcs(cg: Cgroup): number[] {
  try {
    return readFileSync(path.join(cg.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Ends every process of a cgroup: cgroup.kill when present, else its pids until it is empty. */
async function killCgroup(cg: Cgroup, signalled: Set<number>): Promise<void> {
  for (const pid of readCgroupProcs(cg)) signalled.add(pid);
  if (cg.hasKill) {
    try {
      await fsp.writeFile(path.join(cg.dir, 'cgroup.kill'), '1');
    } catch {
      /* falls through to the loop */
    }
  }
  for (let i = 0; i < 100; i++) {
    const live = readCgroupProcs(cg).filter((pid) => {
      const p = readProc(pid);
      return p !== null && isLive(p);
    });
    if (live.length === 0) return;
    for (const pid of live) if (trySignal(pid, 'SIGKILL')) signalled.add(pid);
    await sleep(20);
  }
}

async function removeCgroup(dir: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    try {
      await fsp.rmdir(dir);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
      await sleep(20);
    }
  }
  return false;
}

/** Kills every process of a uid at once: `kill -KILL -1` run as that uid (the kernel spares only the caller). */
async function killAllOfUid(uid: number, gid: number): Promise<void> {
  // Guard: kill -1 as root would end the whole machine.
  if (!Number.isInteger(uid) || uid <= 0) throw new AscendError('ASC_EXEC_FAILED', `Refusing to kill all processes of uid ${uid}.`);
  await run(tool('setpriv'), [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--', '/bin/sh', '-c', 'kill -KILL -1']);
}

class LinuxElevation implements RunningElevation {
  readonly pid: number;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly done: Promise<ElevationExit & { accountRemoved: boolean; endedPids: number[] }>;
  readonly ended = new Set<number>();
  exited = false;

  constructor(
    private readonly executor: LinuxExecutor,
    child: ChildProcessWithoutNullStreams,
    readonly elevationId: string,
    readonly account: string | null,
    readonly uid: number,
    private readonly gid: number,
    readonly home: string | null,
    readonly cgroup: Cgroup | null,
    readonly hostGroups: readonly string[],
    readonly ignoredGroups: readonly string[],
    readonly cwd: string,
  ) {
    this.pid = child.pid ?? -1;
    this.stdin = child.stdin;
    this.stdout = child.stdout;
    this.stderr = child.stderr;
    const exited = new Promise<ElevationExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    this.done = exited.then(async (exit) => {
      this.exited = true;
      const result = await this.executor.finish(this);
      return { ...exit, ...result, endedPids: [...this.ended] };
    });
  }

  get tracking(): TreeTracking {
    if (this.account !== null) return this.cgroup ? 'uid+cgroup' : 'uid';
    return this.cgroup ? 'cgroup' : 'process-group';
  }

  /** Live processes of this elevation. */
  members(): number[] {
    const set = new Set<number>();
    const procs = listProcs().filter(isLive);
    const live = new Set(procs.map((p) => p.pid));
    if (this.cgroup) for (const pid of readCgroupProcs(this.cgroup)) if (live.has(pid)) set.add(pid);
    for (const p of procs) {
      if (p.pid === process.pid) continue;
      if (this.account !== null && p.uids.slice(0, 3).includes(this.uid)) set.add(p.pid);
      // The process group: the fallback for root without a cgroup, and harmless otherwise.
      else if (p.pgrp === this.pid) set.add(p.pid);
    }
    return [...set];
  }

  async endTree(graceMs = DEFAULT_END_GRACE_MS): Promise<number[]> {
    const signalled = new Set<number>();
    const first = this.members();
    for (const pid of first) if (trySignal(pid, 'SIGTERM')) signalled.add(pid);
    if (!this.exited || first.length > 0) {
      try {
        process.kill(-this.pid, 'SIGTERM');
      } catch {
        /* the group is gone */
      }
    }
    const deadline = Date.now() + Math.max(0, graceMs);
    while (this.members().length > 0 && Date.now() < deadline) await sleep(25);
    let rest = this.members();
    if (rest.length > 0) {
      for (const pid of rest) signalled.add(pid);
      if (this.cgroup) await killCgroup(this.cgroup, signalled);
      if (this.account !== null) await killAllOfUid(this.uid, this.gid);
      for (let i = 0; i < 100; i++) {
        rest = this.members();
        if (rest.length === 0) break;
        for (const pid of rest) if (trySignal(pid, 'SIGKILL')) signalled.add(pid);
        try {
          process.kill(-this.pid, 'SIGKILL');
        } catch {
          /* the group is gone */
        }
        await sleep(20);
      }
    }
    for (const pid of signalled) this.ended.add(pid);
    return [...signalled].sort((a, b) => a - b);
  }

  signal(sig: NodeJS.Signals): void {
    if (sig !== 'SIGINT' && sig !== 'SIGTERM' && sig !== 'SIGHUP') {
      throw new AscendError('ASC_EXEC_FAILED', `Only SIGINT, SIGTERM and SIGHUP are forwarded, not ${sig}.`);
    }
    if (this.exited) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      /* the group is gone */
    }
  }
}

export class LinuxExecutor implements Executor {
  private readonly prefix: string;
  private readonly homeRoot: string;
  private readonly groupMap: Record<string, string[]>;
  private readonly maxLifetimeMs: number;
  private readonly leftoverGraceMs: number;
  private readonly cgroupParent: string | null;
  private readonly log: NonNullable<ExecutorOptions['log']>;
  /** useradd/userdel of this process run one at a time (they lock /etc/passwd and fail when it is busy). */
  private readonly accounts = new SerialQueue();
  private readonly running = new Map<string, LinuxElevation>();
  private readonly starting = new Set<string>();
  private cgroupWarned = false;

  constructor(options: ExecutorOptions) {
    checkPrefix(options.accountPrefix, LINUX_MAX_NAME);
    if (!Number.isFinite(options.maxLifetimeMs) || options.maxLifetimeMs <= 0) {
      throw new AscendError('ASC_AGENT_CONFIG', `maxLifetimeMs must be a positive number, not ${String(options.maxLifetimeMs)}.`);
    }
    const homeRoot = options.homeRoot ?? DEFAULT_HOME_ROOT;
    if (!path.isAbsolute(homeRoot) || path.resolve(homeRoot) === '/') {
      throw new AscendError('ASC_AGENT_CONFIG', `homeRoot ${show(homeRoot)} must be an absolute folder other than /.`);
    }
    this.prefix = options.accountPrefix;
    this.homeRoot = path.resolve(homeRoot);
    this.maxLifetimeMs = options.maxLifetimeMs;
    this.leftoverGraceMs = options.leftoverGraceMs ?? DEFAULT_LEFTOVER_GRACE_MS;
    this.log = options.log ?? (() => undefined);
    const admin = LinuxExecutor.defaultAdminGroup();
    this.groupMap = { [ADMINISTRATORS_SID]: [admin], [ADMINISTRATORS_NAME]: [admin], ...(options.groupMap ?? {}) };
    if (options.cgroupRoot === null) this.cgroupParent = null;
    else if (options.cgroupRoot !== undefined) this.cgroupParent = options.cgroupRoot;
    else {
      const mount = findCgroup2Mount();
      this.cgroupParent = mount ? path.join(mount, 'ascend') : null;
    }
  }

  /** 'sudo' when the host has that group (Debian, Ubuntu), else 'wheel'. */
  static defaultAdminGroup(): string {
    try {
      return readGroups().some((g) => g.name === 'sudo') ? 'sudo' : 'wheel';
    } catch {
      return 'wheel';
    }
  }

  /** The ephemeral account name of an elevation id under this executor's prefix. */
  accountName(elevationId: string): string {
    return accountNameFor(this.prefix, elevationId, LINUX_MAX_NAME);
  }

  private checkRoot(): void {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
      throw new AscendError('ASC_AGENT_CONFIG', 'The Linux executor must run as root.', { hint: 'Run the agent as root.' });
    }
  }

  async start(spec: ElevationSpec): Promise<RunningElevation> {
    this.checkRoot();
    checkSpec(spec);
    const id = spec.elevationId;
    if (this.running.has(id) || this.starting.has(id)) {
      throw new AscendError('ASC_EXEC_FAILED', `Elevation ${id} is running already.`);
    }
    const program = await resolveProgram(spec.command[0] ?? '');
    const setpriv = tool('setpriv');
    const system = spec.integrity === 'System';
    const cwd = await this.usableCwd(spec, setpriv);
    const clientEnv = filterClientEnv(spec.env);

    // Groups: root (System) has every right already; an account gets the mapped groups that exist here.
    const hostGroups: string[] = [];
    const ignoredGroups: string[] = [];
    if (!system) {
      const { hostGroups: mapped, unmapped } = mapGroups(spec.groups, this.groupMap);
      ignoredGroups.push(...unmapped.map((g) => `${g} (not in the group map)`));
      const known = new Set(readGroups().map((g) => g.name));
      for (const g of mapped) {
        if (known.has(g)) hostGroups.push(g);
        else ignoredGroups.push(`${g} (no such group on this host)`);
      }
      if (ignoredGroups.length > 0) this.log('warn', 'elevation groups ignored', { elevationId: id, ignoredGroups });
    }

    this.starting.add(id);
    let account: PasswdEntry | null = null;
    let cgroup: Cgroup | null = null;
    try {
      if (!system) {
        await this.ensureHomeRoot();
        account = await this.createAccount(id, hostGroups);
      }
      cgroup = await this.makeCgroup(id);
      const nologin = NOLOGIN_CANDIDATES.find((p) => existsSync(p)) ?? '/usr/sbin/nologin';
      // SHELL: an account gets its login shell, nologin, as login(1) or su(1) would set it, so a
      // program that offers "a shell" to its user does not hand out an interactive admin shell by
      // default; root (System) gets /bin/sh.
      const env: Record<string, string> = {
        ...clientEnv,
        PATH: SAFE_PATH,
        HOME: account ? account.home : '/root',
        USER: account ? account.name : 'root',
        LOGNAME: account ? account.name : 'root',
        SHELL: account ? nologin : '/bin/sh',
      };
      let argv: string[] = [program, ...spec.command.slice(1)];
      if (account) {
        const gids = [account.gid, ...readGroups().filter((g) => hostGroups.includes(g.name)).map((g) => g.gid)];
        // setpriv, not spawn's uid/gid: Node would leave the supplementary groups empty.
        // --inh-caps=-all: nothing can be inherited through file capabilities; the kernel drops the
        // permitted and effective sets on the change from uid 0. The bounding set is kept and
        // no_new_privs is not set, so set-uid programs (sudo) behave as for any member of the groups.
        argv = [setpriv, `--reuid=${account.uid}`, `--regid=${account.gid}`, `--groups=${[...new Set(gids)].join(',')}`, '--inh-caps=-all', '--', ...argv];
      }
      if (cgroup) {
        // The shell moves itself into the cgroup, then execs: the program keeps its pid and every
        // child it makes is born inside the cgroup. PWD, which sh exports, is not passed on.
        argv = ['/bin/sh', '-c', 'echo $$ > "$0" || exit 126; unset PWD OLDPWD; exec "$@"', path.join(cgroup.dir, 'cgroup.procs'), ...argv];
      }
      const child = spawn(argv[0] ?? '', argv.slice(1), { cwd, env, detached: true, stdio: 'pipe' });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      child.on('error', (e) => this.log('warn', 'elevated process error', { elevationId: id, error: String(e) }));
      child.stdin.on('error', () => undefined); // EPIPE when the program does not read its input
      const elevation = new LinuxElevation(
        this,
        child,
        id,
        account ? account.name : null,
        account ? account.uid : 0,
        account ? account.gid : 0,
        account ? account.home : null,
        cgroup,
        hostGroups,
        ignoredGroups,
        cwd,
      );
      this.running.set(id, elevation);
      this.log('info', 'elevation started', {
        elevationId: id,
        requester: spec.requester.name,
        requesterUid: spec.requester.uid,
        account: elevation.account,
        uid: elevation.uid,
        pid: elevation.pid,
        program,
        groups: hostGroups,
        cwd,
        tracking: elevation.tracking,
      });
      return elevation;
    } catch (e) {
      if (account) await this.removeAccountAndHome(account).catch(() => undefined);
      if (cgroup) await removeCgroup(cgroup.dir);
      if (isAscendError(e)) throw e;
      throw new AscendError('ASC_EXEC_FAILED', `Elevation ${id} could not be started: ${firstLine(String((e as Error)?.message ?? e))}`, {
        cause: e,
      });
    } finally {
      this.starting.delete(id);
    }
  }

  /** Called once the main process has exited: ends the leftovers, removes the account, home and cgroup. */
  async finish(el: LinuxElevation): Promise<{ accountRemoved: boolean }> {
    let accountRemoved = false;
    try {
      if (el.members().length > 0) {
        const pids = await el.endTree(this.leftoverGraceMs);
        this.log('info', 'leftover processes ended', { elevationId: el.elevationId, pids });
      }
      if (el.account !== null) {
        const entry = readPasswd().find((p) => p.name === el.account);
        if (entry) accountRemoved = await this.removeAccountAndHome(entry);
        else accountRemoved = true;
      }
      if (el.cgroup && !(await removeCgroup(el.cgroup.dir))) {
        this.log('warn', 'cgroup not removed', { elevationId: el.elevationId, cgroup: el.cgroup.dir });
      }
    } catch (e) {
      this.log('error', 'cleanup after elevation failed', { elevationId: el.elevationId, error: String(e) });
    } finally {
      this.running.delete(el.elevationId);
    }
    this.log('info', 'elevation ended', { elevationId: el.elevationId, account: el.account, accountRemoved });
    return { accountRemoved };
  }

  /** spec.cwd when the requester (with their groups) can enter it, else '/'. */
  private async usableCwd(spec: ElevationSpec, setpriv: string): Promise<string> {
    if (typeof spec.cwd !== 'string' || !path.isAbsolute(spec.cwd) || spec.cwd.includes('\0')) return '/';
    let real: string;
    try {
      real = await fsp.realpath(spec.cwd);
      if (!(await fsp.stat(real)).isDirectory()) return '/';
    } catch {
      return '/';
    }
    if (spec.requester.uid === 0) return real;
    const probe = (groups: string): Promise<RunResult> =>
      run(setpriv, [
        `--reuid=${spec.requester.uid}`,
        `--regid=${spec.requester.gid}`,
        groups,
        '--inh-caps=-all',
        '--',
        '/bin/sh',
        '-c',
        'cd -- "$1" 2>/dev/null || exit 3',
        'sh',
        real,
      ]);
    let r = await probe('--init-groups');
    // --init-groups fails when the uid has no passwd entry; then check with no supplementary groups (stricter).
    if (r.code !== 0 && r.code !== 3) r = await probe('--clear-groups');
    return r.code === 0 ? real : '/';
  }

  /** homeRoot exists, belongs to root, and no ancestor can be written by others (unless sticky). */
  private async ensureHomeRoot(): Promise<void> {
    await fsp.mkdir(this.homeRoot, { recursive: true, mode: 0o755 });
    let dir = this.homeRoot;
    for (;;) {
      const st = await fsp.lstat(dir);
      const isRoot = dir === this.homeRoot;
      const writableByOthers = (st.mode & 0o022) !== 0 && !(st.mode & 0o1000);
      if (!st.isDirectory() || st.uid !== 0 || (isRoot ? (st.mode & 0o022) !== 0 : writableByOthers)) {
        throw new AscendError('ASC_AGENT_CONFIG', `Folder ${show(dir)} for ephemeral homes must be a root-owned folder others cannot write.`);
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }

  private async createAccount(elevationId: string, hostGroups: readonly string[]): Promise<PasswdEntry> {
    const name = this.accountName(elevationId);
    const home = path.join(this.homeRoot, name);
    const useradd = tool('useradd');
    const nologin = NOLOGIN_CANDIDATES.find((p) => existsSync(p)) ?? '/usr/sbin/nologin';
    const entry = await this.accounts.run(async () => {
      const existing = readPasswd().find((p) => p.name === name);
      if (existing) {
        const ours = parseMarker(existing.gecos) !== null;
        throw new AscendError(
          'ASC_EXEC_FAILED',
          ours
            ? `Account ${name} exists already (left by an earlier run); it is not reused.`
            : `Account ${name} exists already and was not made by Ascend; it is not touched.`,
          { hint: ours ? 'The orphan cleanup removes it.' : 'Choose another account prefix or remove that account.' },
        );
      }
      const args = [
        '--system',
        '--user-group',
        '--no-create-home',
        '--home-dir',
        home,
        '--shell',
        nologin,
        '--comment',
        markerFor(elevationId, Date.now()),
        ...(hostGroups.length > 0 ? ['--groups', hostGroups.join(',')] : []),
        name,
      ];
      // Without --password useradd writes '!' (locked, no password) in /etc/shadow.
      for (let attempt = 0; ; attempt++) {
        const r = await run(useradd, args);
        if (r.code === 0) break;
        // 1: cannot update the password file, 4: uid taken meanwhile, 10: cannot update the group file (a lock).
        if ((r.code === 1 || r.code === 4 || r.code === 10) && attempt < 10) {
          await sleep(100 + attempt * 100);
          continue;
        }
        throw new AscendError('ASC_EXEC_FAILED', `useradd ${name} failed (exit ${r.code}): ${firstLine(r.stderr)}`);
      }
      const created = readPasswd().find((p) => p.name === name);
      if (!created || created.uid <= 0) throw new AscendError('ASC_EXEC_FAILED', `Account ${name} was not created correctly.`);
      return created;
    });
    try {
      await fsp.rm(home, { recursive: true, force: true });
      await fsp.mkdir(home, { mode: 0o700 });
      await fsp.chown(home, entry.uid, entry.gid);
      await fsp.chmod(home, 0o700);
    } catch (e) {
      await this.removeAccountAndHome(entry).catch(() => undefined);
      throw new AscendError('ASC_EXEC_FAILED', `The home folder ${show(home)} could not be made: ${firstLine(String(e))}`);
    }
    this.log('info', 'ephemeral account created', { elevationId, account: name, uid: entry.uid, groups: hostGroups });
    return entry;
  }

  /** Ends the account's processes, removes it (userdel, retried while processes exit), its group and its home. */
  private async removeAccountAndHome(entry: PasswdEntry): Promise<boolean> {
    const userdel = tool('userdel');
    const removed = await this.accounts.run(async () => {
      for (let attempt = 0; attempt < 20; attempt++) {
        if (liveProcsOfUid(entry.uid).length > 0) await killAllOfUid(entry.uid, entry.gid);
        const r = await run(userdel, [entry.name]);
        if (r.code === 0 || r.code === 6) return true; // 6: no such user (gone already)
        // 8: the user still has processes; 1/10: the password or group file is locked.
        if (r.code === 8 || r.code === 1 || r.code === 10) {
          await sleep(100);
          continue;
        }
        this.log('error', 'userdel failed', { account: entry.name, code: r.code, stderr: firstLine(r.stderr) });
        return false;
      }
      return false;
    });
    if (removed) {
      // userdel removes the user's own group only with USERGROUPS_ENAB; remove it when it is left empty.
      const group = readGroups().find((g) => g.name === entry.name && g.gid === entry.gid && g.members.length === 0);
      const groupdel = which('groupdel');
      if (group && groupdel) await this.accounts.run(() => run(groupdel, [entry.name]));
    }
    if (this.isUnderHomeRoot(entry.home)) await fsp.rm(entry.home, { recursive: true, force: true });
    return removed;
  }

  private isUnderHomeRoot(p: string): boolean {
    const rel = path.relative(this.homeRoot, path.resolve(p));
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) && !rel.includes(path.sep);
  }

  /** A cgroup v2 for the elevation, or null when none is writable (then the fallback is used; see the top). */
  private async makeCgroup(elevationId: string): Promise<Cgroup | null> {
    if (!this.cgroupParent) return null;
    const dir = path.join(this.cgroupParent, elevationId);
    try {
      await fsp.mkdir(this.cgroupParent, { recursive: true });
      await fsp.mkdir(dir).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      await fsp.access(path.join(dir, 'cgroup.procs'), fsc.W_OK);
      return { dir, hasKill: existsSync(path.join(dir, 'cgroup.kill')) };
    } catch (e) {
      if (!this.cgroupWarned) {
        this.cgroupWarned = true;
        this.log('warn', 'no writable cgroup v2; process trees are tracked by uid or process group', {
          cgroup: dir,
          error: String(e),
        });
      }
      return null;
    }
  }

  async cleanupOrphans(activeElevationIds: ReadonlySet<string>): Promise<CleanupReport> {
    this.checkRoot();
    const report: CleanupReport = { removedAccounts: [], removedHomes: [], endedPids: [], problems: [] };
    const now = Date.now();
    const passwd = readPasswd();
    for (const entry of passwd) {
      if (!entry.name.startsWith(this.prefix)) continue;
      const marker = parseMarker(entry.gecos);
      if (!marker) continue; // never touch an account without the marker
      if (entry.name !== this.accountName(marker.elevationId)) {
        report.problems.push(`${entry.name}: its marker names elevation ${marker.elevationId}, whose account name differs; left alone`);
        continue;
      }
      const expired = now - marker.createdAtMs > this.maxLifetimeMs;
      const mine = this.running.get(marker.elevationId);
      if (mine) {
        if (!expired) continue;
        report.endedPids.push(...(await mine.endTree()));
        const d = await mine.done;
        if (d.accountRemoved) report.removedAccounts.push(entry.name);
        else report.problems.push(`${entry.name}: outlived its maximum lifetime and was ended, but not removed`);
        continue;
      }
      if (this.starting.has(marker.elevationId)) continue;
      if (activeElevationIds.has(marker.elevationId) && !expired) continue;
      if (entry.uid <= 0 || passwd.some((p) => p !== entry && p.uid === entry.uid)) {
        report.problems.push(`${entry.name}: uid ${entry.uid} is shared with another account; left alone`);
        continue;
      }
      try {
        const pids = liveProcsOfUid(entry.uid);
        for (const pid of pids) trySignal(pid, 'SIGTERM');
        const deadline = Date.now() + this.leftoverGraceMs;
        while (liveProcsOfUid(entry.uid).length > 0 && Date.now() < deadline) await sleep(25);
        const rest = liveProcsOfUid(entry.uid);
        if (rest.length > 0) await killAllOfUid(entry.uid, entry.gid);
        report.endedPids.push(...new Set([...pids, ...rest]));
        if (await this.removeAccountAndHome(entry)) {
          report.removedAccounts.push(entry.name);
          if (this.isUnderHomeRoot(entry.home)) report.removedHomes.push(entry.home);
        } else report.problems.push(`${entry.name}: userdel failed`);
      } catch (e) {
        report.problems.push(`${entry.name}: ${firstLine(String(e))}`);
      }
    }

    // Homes without an account: read the folder first, then passwd (an account is made before its home).
    let names: string[] = [];
    try {
      names = await fsp.readdir(this.homeRoot);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') report.problems.push(`${this.homeRoot}: ${firstLine(String(e))}`);
    }
    const homes = new Set(readPasswd().map((p) => path.resolve(p.home)));
    for (const name of names) {
      const full = path.join(this.homeRoot, name);
      if (homes.has(full) || report.removedHomes.includes(full)) continue;
      try {
        await fsp.rm(full, { recursive: true, force: true }); // does not follow symbolic links
        report.removedHomes.push(full);
      } catch (e) {
        report.problems.push(`${full}: ${firstLine(String(e))}`);
      }
    }

    // Cgroups of elevations that are not running (root elevations left by a crashed agent).
    if (this.cgroupParent) {
      let groups: string[] = [];
      try {
        groups = (await fsp.readdir(this.cgroupParent, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
      } catch {
        groups = [];
      }
      for (const id of groups) {
        if (!isElevationId(id) || this.running.has(id) || this.starting.has(id) || activeElevationIds.has(id)) continue;
        const cg: Cgroup = { dir: path.join(this.cgroupParent, id), hasKill: existsSync(path.join(this.cgroupParent, id, 'cgroup.kill')) };
        const signalled = new Set<number>();
        await killCgroup(cg, signalled);
        report.endedPids.push(...signalled);
        if (!(await removeCgroup(cg.dir))) report.problems.push(`${cg.dir}: cgroup not removed`);
      }
    }
    if (report.removedAccounts.length + report.removedHomes.length + report.endedPids.length > 0 || report.problems.length > 0) {
      this.log(report.problems.length > 0 ? 'warn' : 'info', 'orphan cleanup', { ...report });
    }
    return report;
  }
}
