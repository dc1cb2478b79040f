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
 *   launcher (native/launch.c, see launcher.ts) moves itself into the cgroup before it forks
 *   the program, so no child is created outside. KILL uses `cgroup.kill` (Linux 5.14+) when present, else the
 *   pids of `cgroup.procs`, re-read until empty (tracking 'cgroup').
 *   Without a writable cgroup v2 the fallback is the process group (the program is its
 *   leader): a process that calls setsid escapes it (tracking 'process-group'; logged).
 *   The cgroup v1 freezer is not used.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, fstatSync, readFileSync } from 'node:fs';
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
import { groupStillOurs, isLive, listProcs, liveProcsOfUid, readProc, startTimeOf, trySignal } from './procfs.js';
import { DEFAULT_ID_RANGE, IdAllocator, checkIdRange, type IdRange } from './ids.js';
import { loadInstanceId } from './instance.js';
import { SetidSweeper } from './setid-sweep.js';
import { removeScheduledWork } from './schedulers.js';
import { checkLauncher, launch, openProgram, requesterGroups, type Launched } from './launcher.js';
import type { Readable, Writable } from 'node:stream';

/** useradd's limit on a user name. */
export const LINUX_MAX_NAME = 32;
export const DEFAULT_HOME_ROOT = '/var/lib/ascend/homes';
/** The agent's default state folder (agent run --state-dir). */
export const DEFAULT_STATE_DIR = '/var/lib/ascend';
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

  /** The launcher, which supervises the program's execs (native/launch.c); it exits as the program does. */
  readonly launcherPid: number;
  private readonly launched: Launched;
  private readonly programStart: string | null;
  private readonly launcherStart: string | null;

  /** Our process groups that still can be ours (see groupStillOurs). */
  private ownGroups(): number[] {
    return [
      ...(groupStillOurs(this.pid, this.programStart) ? [this.pid] : []),
      ...(groupStillOurs(this.launcherPid, this.launcherStart) ? [this.launcherPid] : []),
    ];
  }

  constructor(
    private readonly executor: LinuxExecutor,
    launched: Launched,
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
    this.pid = launched.programPid;
    this.launcherPid = launched.launcherPid;
    this.launched = launched;
    // Pinned now, while both exist: a group number reused after its group emptied is not ours.
    this.programStart = startTimeOf(this.pid);
    this.launcherStart = startTimeOf(this.launcherPid);
    this.stdin = launched.stdin;
    this.stdout = launched.stdout;
    this.stderr = launched.stderr;
    this.done = launched.exited.then(async (exit) => {
      this.exited = true;
      const result = await this.executor.finish(this);
      return { ...exit, ...result, endedPids: [...this.ended] };
    });
  }

  release(go: boolean): void {
    this.launched.release(go);
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
    const groups = this.ownGroups();
    for (const p of procs) {
      if (p.pid === process.pid) continue;
      if (this.account !== null && p.uids.slice(0, 3).includes(this.uid)) set.add(p.pid);
      // The process group: the fallback for root without a cgroup, and harmless otherwise.
      // The program leads its own group; the launcher (root, the exec guard) leads another.
      else if (groups.includes(p.pgrp)) set.add(p.pid);
    }
    return [...set];
  }

  async endTree(graceMs = DEFAULT_END_GRACE_MS): Promise<number[]> {
    const signalled = new Set<number>();
    const first = this.members();
    // The launcher is left out of the polite round: it forwards TERM to the program's group and
    // exits as the program does (it gets KILL with the rest when the tree outlives the grace).
    for (const pid of first) if (pid !== this.launcherPid && trySignal(pid, 'SIGTERM')) signalled.add(pid);
    if (!this.exited || first.length > 0) {
      try {
        if (this.ownGroups().includes(this.pid)) process.kill(-this.pid, 'SIGTERM');
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
          if (this.ownGroups().includes(this.pid)) process.kill(-this.pid, 'SIGKILL');
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
    if (this.exited || !this.ownGroups().includes(this.pid)) return;
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
  private readonly stateDir: string;
  private readonly idRange: IdRange;
  private instance: string | null = null;
  private allocator: IdAllocator | null = null;
  private sweeper: SetidSweeper | null = null;
  private readonly foreignWarned = new Set<string>();

  constructor(options: ExecutorOptions) {
    checkPrefix(options.accountPrefix, LINUX_MAX_NAME);
    if (!Number.isFinite(options.maxLifetimeMs) || options.maxLifetimeMs <= 0) {
      throw new AscendError('ASC_AGENT_CONFIG', `maxLifetimeMs must be a positive number, not ${String(options.maxLifetimeMs)}.`);
    }
    const homeRoot = options.homeRoot ?? DEFAULT_HOME_ROOT;
    if (!path.isAbsolute(homeRoot) || path.resolve(homeRoot) === '/') {
      throw new AscendError('ASC_AGENT_CONFIG', `homeRoot ${show(homeRoot)} must be an absolute folder other than /.`);
    }
    const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
    if (typeof stateDir !== 'string' || !path.isAbsolute(stateDir)) {
      throw new AscendError('ASC_AGENT_CONFIG', `stateDir ${show(String(stateDir))} must be an absolute folder.`);
    }
    this.stateDir = path.resolve(stateDir);
    this.idRange = { ...(options.idRange ?? DEFAULT_ID_RANGE) };
    checkIdRange(this.idRange);
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

  /** This agent's instance id (made once in the state folder); accounts, homes and cgroups carry it. */
  get instanceId(): string {
    this.instance ??= loadInstanceId(this.stateDir);
    return this.instance;
  }

  /** The folder of this instance's ephemeral homes: <homeRoot>/<instance id>. */
  get homeFolder(): string {
    return path.join(this.homeRoot, this.instanceId);
  }

  private get ids(): IdAllocator {
    this.allocator ??= new IdAllocator(this.stateDir, this.idRange, this.log);
    return this.allocator;
  }

  private get sweeps(): SetidSweeper {
    this.sweeper ??= SetidSweeper.of(this.stateDir, this.log);
    return this.sweeper;
  }

  /** Resolves when no set-id sweep is running (they run in the background; see setid-sweep.ts). */
  async sweepsIdle(): Promise<void> {
    await this.sweeps.idle();
  }

  /** The agent is stopping: background set-id walks end now (their work stays in the journal). */
  async close(): Promise<void> {
    this.sweeper?.stop();
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
    // Without a trustworthy launcher nothing is elevated (fail closed).
    const launcher = await checkLauncher();
    const system = spec.integrity === 'System';
    const requesterGids = await requesterGroups(spec.requester);
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
      // The program runs from an open descriptor of the judged file (the agent's, else one opened
      // here without following links), never by reopening its path.
      const given = spec.programFd;
      if (given !== undefined && !(Number.isInteger(given) && given >= 0 && fstatSync(given).isFile())) {
        throw new AscendError('ASC_EXEC_FAILED', `The program descriptor ${String(given)} is not an open regular file.`);
      }
      const opened = given === undefined ? await openProgram(program) : null;
      let launched: Launched;
      try {
        const gids = account ? [...readGroups().filter((g) => hostGroups.includes(g.name)).map((g) => g.gid)] : [];
        launched = await launch({
          launcher,
          programFd: given ?? (opened as { fd: number }).fd,
          argv: [opened ? opened.path : program, ...spec.command.slice(1)],
          env,
          cwd: spec.cwd,
          requester: { uid: spec.requester.uid, gid: spec.requester.gid, groups: requesterGids },
          ...(account ? { account: { uid: account.uid, gid: account.gid, groups: gids } } : {}),
          ...(cgroup ? { cgroupProcs: path.join(cgroup.dir, 'cgroup.procs') } : {}),
          ...(spec.onExec ? { onExec: spec.onExec } : {}),
          log: this.log,
          elevationId: id,
        });
      } finally {
        if (opened) closeSync(opened.fd);
      }
      const cwd = launched.cwd;
      const elevation = new LinuxElevation(
        this,
        launched,
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
      if (!spec.holdUntilReleased) elevation.release(true);
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
      // An ephemeral account must be able to reach its home: every folder above it is searchable.
      if ((st.mode & 0o001) === 0) {
        throw new AscendError('ASC_AGENT_CONFIG', `Ephemeral accounts cannot reach their homes under ${show(this.homeRoot)}: ${show(dir)} has mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, which others may not search.`, {
          hint: `chmod o+x ${dir} (search only; its files stay private), or choose another home folder`,
        });
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    // This instance's own folder: another agent's cleanup never looks in it.
    await fsp.mkdir(this.homeFolder, { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    const st = await fsp.lstat(this.homeFolder);
    if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new AscendError('ASC_AGENT_CONFIG', `Folder ${show(this.homeFolder)} for ephemeral homes must be a root-owned folder others cannot write.`);
    }
  }

  private async createAccount(elevationId: string, hostGroups: readonly string[]): Promise<PasswdEntry> {
    const name = this.accountName(elevationId);
    const home = path.join(this.homeFolder, name);
    const useradd = tool('useradd');
    const groupadd = tool('groupadd');
    const groupdel = tool('groupdel');
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
      // uid = gid from the reserved range, each id used once (ids.ts); the mark is on disk before the id is used.
      // An id that turns out to be taken (or a failed attempt) is burnt, never retried.
      const inUse = (): number[] => [...readPasswd().flatMap((p) => [p.uid, p.gid]), ...readGroups().map((g) => g.gid)];
      let id = -1;
      for (let attempt = 0; ; attempt++) {
        id = await this.ids.allocate(inUse);
        const g = await run(groupadd, ['--system', '--gid', String(id), name]);
        if (g.code !== 0) {
          // 4: gid taken; 10: the group file is locked.
          if ((g.code === 4 || g.code === 10) && attempt < 10) {
            await sleep(50 + attempt * 100);
            continue;
          }
          throw new AscendError('ASC_EXEC_FAILED', `groupadd ${name} failed (exit ${g.code}): ${firstLine(g.stderr)}`);
        }
        const args = [
          '--system',
          '--uid',
          String(id),
          '--gid',
          String(id),
          '--no-create-home',
          '--no-log-init',
          '--home-dir',
          home,
          '--shell',
          nologin,
          '--comment',
          markerFor(elevationId, Date.now(), this.instanceId),
          ...(hostGroups.length > 0 ? ['--groups', hostGroups.join(',')] : []),
          name,
        ];
        // Without --password useradd writes '!' (locked, no password) in /etc/shadow.
        const r = await run(useradd, args);
        if (r.code === 0) break;
        await run(groupdel, [name]).catch(() => undefined);
        // 1: cannot update the password file, 4: uid taken meanwhile, 10: cannot update the group file (a lock).
        if ((r.code === 1 || r.code === 4 || r.code === 10) && attempt < 10) {
          await sleep(50 + attempt * 100);
          continue;
        }
        throw new AscendError('ASC_EXEC_FAILED', `useradd ${name} failed (exit ${r.code}): ${firstLine(r.stderr)}`);
      }
      const created = readPasswd().find((p) => p.name === name);
      if (!created || created.uid !== id || created.gid !== id) throw new AscendError('ASC_EXEC_FAILED', `Account ${name} was not created correctly.`);
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

  /**
   * Ends the account's processes, removes it (userdel, retried while processes exit), its group
   * and its home. A set-id sweep for its uid and gid is recorded first (durable) and started in
   * the background once the account is gone (setid-sweep.ts).
   */
  private async removeAccountAndHome(entry: PasswdEntry): Promise<boolean> {
    const userdel = tool('userdel');
    // Only an account of the ephemeral range, whose group is its own, is swept: a marked account
    // with a shared gid (only root could make one) must not make the sweep strip another group's files.
    if (entry.uid > 0 && entry.uid === entry.gid && entry.uid >= this.idRange.first && entry.uid <= this.idRange.last) {
      const marker = parseMarker(entry.gecos);
      await this.sweeps.record({ uid: entry.uid, gid: entry.gid, elevationId: marker?.elevationId ?? entry.name });
    } else {
      this.log('warn', 'no set-id sweep: the account is outside the ephemeral id range or shares its group', { account: entry.name, uid: entry.uid, gid: entry.gid });
    }
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
    if (removed) {
      const queued = await removeScheduledWork(entry.name, entry.uid);
      if (queued.length > 0) this.log('warn', 'work a removed ephemeral account had queued was removed', { account: entry.name, files: queued });
    }
    try {
      if (this.isUnderHomeRoot(entry.home)) await fsp.rm(entry.home, { recursive: true, force: true });
    } catch (e) {
      this.log('warn', 'home not removed', { home: entry.home, error: String(e) });
    } finally {
      this.sweeps.kick();
    }
    return removed;
  }

  /** Whether p is a folder directly in this instance's home folder. */
  private isUnderHomeRoot(p: string): boolean {
    const rel = path.relative(this.homeFolder, path.resolve(p));
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) && !rel.includes(path.sep);
  }

  /** A cgroup v2 for the elevation, or null when none is writable (then the fallback is used; see the top). */
  private async makeCgroup(elevationId: string): Promise<Cgroup | null> {
    if (!this.cgroupParent) return null;
    const dir = path.join(this.cgroupParent, this.instanceId, elevationId);
    try {
      await fsp.mkdir(path.dirname(dir), { recursive: true });
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
      if (marker.instanceId !== this.instanceId) {
        // Another agent's account (several agents on one machine), or one of an older agent whose
        // marker names no instance: not ours, left alone; the latter is logged once.
        if (marker.instanceId === null && !this.foreignWarned.has(entry.name)) {
          this.foreignWarned.add(entry.name);
          this.log('warn', 'ephemeral account without an instance id left alone (made by an older agent; remove it by hand)', { account: entry.name });
        }
        continue;
      }
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
      names = await fsp.readdir(this.homeFolder);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') report.problems.push(`${this.homeFolder}: ${firstLine(String(e))}`);
    }
    const homes = new Set(readPasswd().map((p) => path.resolve(p.home)));
    for (const name of names) {
      const full = path.join(this.homeFolder, name);
      if (homes.has(full) || report.removedHomes.includes(full)) continue;
      try {
        await fsp.rm(full, { recursive: true, force: true }); // does not follow symbolic links
        report.removedHomes.push(full);
      } catch (e) {
        report.problems.push(`${full}: ${firstLine(String(e))}`);
      }
    }

    // Cgroups of elevations that are not running (root elevations left by a crashed agent).
    // Only this instance's folder: other agents' cgroups (and those of older agents, directly in the parent) are left alone.
    if (this.cgroupParent) {
      const mine = path.join(this.cgroupParent, this.instanceId);
      let groups: string[] = [];
      try {
        groups = (await fsp.readdir(mine, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
      } catch {
        groups = [];
      }
      for (const id of groups) {
        if (!isElevationId(id) || this.running.has(id) || this.starting.has(id) || activeElevationIds.has(id)) continue;
        const cg: Cgroup = { dir: path.join(mine, id), hasKill: existsSync(path.join(mine, id, 'cgroup.kill')) };
        const signalled = new Set<number>();
        await killCgroup(cg, signalled);
        report.endedPids.push(...signalled);
        if (!(await removeCgroup(cg.dir))) report.problems.push(`${cg.dir}: cgroup not removed`);
      }
    }
    if (report.removedAccounts.length + report.removedHomes.length + report.endedPids.length > 0 || report.problems.length > 0) {
      this.log(report.problems.length > 0 ? 'warn' : 'info', 'orphan cleanup', { ...report });
    }
    // Sweeps recorded before a crash (or left incomplete) run again, in the background.
    this.sweeps.kick();
    return report;
  }
}
