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
 *
 * The rooms: this file composes them (start, finish). linux-accounts.ts makes and removes the
 * ephemeral accounts and homes; linux-tracking.ts is the process tree of one elevation (members,
 * end, signals) over linux-cgroup.ts (the cgroups); linux-cleanup.ts removes what a crashed or
 * earlier run left; linux-host.ts reads /etc/passwd and /etc/group and runs the helper programs.
 */
import { closeSync, fstatSync } from 'node:fs';
import path from 'node:path';
import { AscendError, isAscendError } from '../../src/errors.js';
import {
  ADMINISTRATORS_NAME,
  ADMINISTRATORS_SID,
  SAFE_PATH,
  accountNameFor,
  checkPrefix,
  checkSpec,
  filterClientEnv,
  mapGroups,
  show,
} from './common.js';
import type { CleanupReport, ElevationSpec, Executor, ExecutorOptions, RunningElevation } from './contract.js';
import { DEFAULT_ID_RANGE, checkIdRange } from './ids.js';
import { loadInstanceId } from './instance.js';
import { checkLauncher, launch, openProgram, requesterGroups, type Launched } from './launcher.js';
import { LinuxAccounts } from './linux-accounts.js';
import { ElevationCgroups, removeCgroup, type Cgroup } from './linux-cgroup.js';
import { cgroupPathOf, endEscapes } from './linux-escapes.js';
import { cleanupOrphans } from './linux-cleanup.js';
import { firstLine, killAllOfUid, nologinShell, readGroups, readPasswd, resolveProgram, type PasswdEntry } from './linux-host.js';
import { LinuxElevation } from './linux-tracking.js';
import { PhaseClock } from './phases.js';

export { findCgroup2Mount } from './linux-cgroup.js';

/** useradd's limit on a user name. */
export const LINUX_MAX_NAME = 32;
export const DEFAULT_HOME_ROOT = '/var/lib/ascend/homes';
/** The agent's default state folder (agent run --state-dir). */
export const DEFAULT_STATE_DIR = '/var/lib/ascend';
const DEFAULT_LEFTOVER_GRACE_MS = 2000;
/**
 * Ended elevations whose removal may be pending (their result sent, see finish) before a new
 * account waits for one of them to be done: a burst of elevations cannot pile up accounts.
 */
export const MAX_PENDING_REMOVALS = 4;
/** How often processes of running elevations' accounts outside their cgroups are looked for (./linux-escapes.ts). */
const ESCAPE_CHECK_MS = 500;

export class LinuxExecutor implements Executor {
  private readonly prefix: string;
  private readonly groupMap: Record<string, string[]>;
  private readonly maxLifetimeMs: number;
  private readonly leftoverGraceMs: number;
  private readonly cgroups: ElevationCgroups;
  private readonly log: NonNullable<ExecutorOptions['log']>;
  private readonly accounts: LinuxAccounts;
  private readonly running = new Map<string, LinuxElevation>();
  private readonly starting = new Set<string>();
  /** Where each running elevation's time went (logged with "elevation ended"; see phases.ts). */
  private readonly clocks = new Map<string, PhaseClock>();
  /**
   * Elevations whose program has exited and whose account, home and cgroup are not removed yet
   * (see finish). They stay in `running` until then, so the orphan cleanup leaves them alone.
   */
  private readonly removals = new Map<string, Promise<unknown>>();
  private readonly beforeRemoval: ExecutorOptions['beforeRemoval'];
  private readonly stateDir: string;
  private instance: string | null = null;
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
    const idRange = { ...(options.idRange ?? DEFAULT_ID_RANGE) };
    checkIdRange(idRange);
    this.prefix = options.accountPrefix;
    this.maxLifetimeMs = options.maxLifetimeMs;
    this.leftoverGraceMs = options.leftoverGraceMs ?? DEFAULT_LEFTOVER_GRACE_MS;
    this.log = options.log ?? (() => undefined);
    this.beforeRemoval = options.beforeRemoval;
    this.accounts = new LinuxAccounts({ homeRoot: path.resolve(homeRoot), stateDir: this.stateDir, idRange, instanceId: () => this.instanceId, log: this.log });
    const admin = LinuxExecutor.defaultAdminGroup();
    this.groupMap = { [ADMINISTRATORS_SID]: [admin], [ADMINISTRATORS_NAME]: [admin], ...(options.groupMap ?? {}) };
    this.cgroups = new ElevationCgroups(ElevationCgroups.parentFor(options.cgroupRoot), this.log);
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
    return this.accounts.homeFolder;
  }

  /** Resolves when no set-id sweep is running (they run in the background; see setid-sweep.ts). */
  async sweepsIdle(): Promise<void> {
    await this.accounts.sweepsIdle();
  }

  /** How many ended elevations wait for the removal of their account, home and cgroup. */
  get pendingRemovals(): number {
    return this.removals.size;
  }

  /** Removals of ended elevations, or set-id sweeps, are underway or due. */
  busy(): boolean {
    return this.removals.size > 0 || this.accounts.sweepsBusy;
  }

  /** Resolves when no ended elevation waits for its removal. */
  async removalsIdle(): Promise<void> {
    while (this.removals.size > 0) await Promise.all([...this.removals.values()]);
  }

  /**
   * The agent is stopping: the pending removals of ended elevations are finished first (a crash
   * instead leaves marked accounts that the next start's orphan cleanup removes), then the
   * background set-id walks end (their work stays in the journal).
   */
  async close(): Promise<void> {
    await this.removalsIdle();
    this.accounts.stopSweeps();
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
    const clock = spec.phases ?? new PhaseClock();
    clock.mark('agent');
    const program = await resolveProgram(spec.command[0] ?? '');
    // Without a trustworthy launcher nothing is elevated (fail closed).
    const launcher = await checkLauncher();
    const system = spec.integrity === 'System';
    // As the agent read them for this request; else asked (a fork of id(1), through NSS) while the account is made; it never rejects.
    const knownGids = spec.requester.gids;
    const requesterGids = knownGids && knownGids.length > 0 && knownGids.every((g) => Number.isInteger(g) && g >= 0) ? Promise.resolve([...new Set([spec.requester.gid, ...knownGids])]) : requesterGroups(spec.requester);
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

    clock.mark('prepare');
    if (!system && this.removals.size >= MAX_PENDING_REMOVALS) {
      while (this.removals.size >= MAX_PENDING_REMOVALS) await Promise.race(this.removals.values());
      clock.mark('removals-wait');
    }
    this.starting.add(id);
    let account: PasswdEntry | null = null;
    let cgroup: Cgroup | null = null;
    try {
      if (!system) {
        await this.accounts.ensureHomeRoot();
        account = await this.accounts.create(this.accountName(id), id, hostGroups, clock);
      }
      clock.restart();
      cgroup = await this.cgroups.make(this.instanceId, id);
      clock.mark('cgroup');
      const nologin = nologinShell();
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
          requester: { uid: spec.requester.uid, gid: spec.requester.gid, groups: await requesterGids },
          ...(account ? { account: { uid: account.uid, gid: account.gid, groups: gids } } : {}),
          ...(cgroup ? { cgroupProcs: path.join(cgroup.dir, 'cgroup.procs') } : {}),
          ...(spec.onExec ? { onExec: spec.onExec } : {}),
          log: this.log,
          elevationId: id,
        });
      } finally {
        if (opened) closeSync(opened.fd);
      }
      clock.mark('spawn');
      const cwd = launched.cwd;
      const elevation = new LinuxElevation(
        (el) => this.finish(el),
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
      this.clocks.set(id, clock);
      // The cgroup as /proc names it, read from the launcher (in it before it forked the program).
      const where = account && cgroup ? cgroupPathOf(elevation.launcherPid) : null;
      if (where !== null && where !== '/') this.watchEscapes(id, where);
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
      if (account) await this.accounts.remove(account).catch(() => undefined);
      if (cgroup) await removeCgroup(cgroup.dir);
      if (isAscendError(e)) throw e;
      throw new AscendError('ASC_EXEC_FAILED', `Elevation ${id} could not be started: ${firstLine(String((e as Error)?.message ?? e))}`, {
        cause: e,
      });
    } finally {
      this.starting.delete(id);
    }
  }

  /**
   * Called once the main process has exited. `treeEnded`: the leftovers are ended, and true when
   * the tree shows no process left (no process of the account's uid, none in its cgroup or
   * process groups); the elevation's result is sent then. `removed`: after it, the account (its
   * set-id sweep recorded first), its queued work, home and cgroup are removed, in that order
   * (linux-accounts.ts). Until then the elevation stays in `running` (the orphan cleanup leaves
   * it alone) and in `removals` (close() waits for it; new accounts wait while too many are).
   * Nothing of the account can run in between: its processes are gone, its password is locked
   * and its shell is nologin; a process a set-uid file of it would start is ended by the
   * removal's own loop, and by the set-id sweep after it.
   */
  private finish(el: LinuxElevation): { treeEnded: Promise<boolean>; removed: Promise<{ accountRemoved: boolean }> } {
    const clock = this.clocks.get(el.elevationId) ?? new PhaseClock();
    clock.mark('run');
    const treeEnded = this.endLeftovers(el, clock);
    const removed = treeEnded.then(() => this.removeAfter(el, clock));
    this.removals.set(el.elevationId, removed);
    void removed.finally(() => this.removals.delete(el.elevationId)).catch(() => undefined);
    return { treeEnded, removed };
  }

  /** Ends what the program left behind; true when no process of its tree is left. */
  private async endLeftovers(el: LinuxElevation, clock: PhaseClock): Promise<boolean> {
    try {
      if (el.members().length > 0) {
        const pids = await el.endTree(this.leftoverGraceMs);
        this.log('info', 'leftover processes ended', { elevationId: el.elevationId, pids });
      }
      clock.mark('leftovers');
      const rest = el.members();
      if (rest.length === 0) return true;
      this.log('error', 'processes of an ended elevation are still running; its result waits for the removal of its account', { elevationId: el.elevationId, pids: rest });
    } catch (e) {
      this.log('error', 'ending the leftovers of an elevation failed; its result waits for the removal of its account', { elevationId: el.elevationId, error: String(e) });
    }
    return false;
  }

  /**
   * While an account's elevation runs in a cgroup, its processes outside that cgroup (started for
   * the account by another service: ./linux-escapes.ts) are ended within ESCAPE_CHECK_MS, and
   * logged. The check runs only while such elevations do.
   */
  private escapeTimer: NodeJS.Timeout | undefined;
  /** The cgroup path (as /proc shows it) of each running account elevation watched. */
  private readonly watched = new Map<string, string>();
  private watchEscapes(elevationId: string, cgroupPath: string): void {
    this.watched.set(elevationId, cgroupPath);
    if (this.escapeTimer !== undefined) return;
    this.escapeTimer = setInterval(() => {
      const byUid = new Map<number, string>();
      const idOf = new Map<number, string>();
      for (const [id, where] of this.watched) {
        const el = this.running.get(id);
        if (!el) {
          this.watched.delete(id);
          continue;
        }
        byUid.set(el.uid, where);
        idOf.set(el.uid, id);
      }
      try {
        for (const [uid, pids] of endEscapes(byUid, process.pid)) {
          const id = idOf.get(uid) as string;
          // Fail closed: the account got out of its elevation, so the elevation ends too. Every
          // process of the uid at once (kill -1 as it): one that forks away from each scan is caught.
          void killAllOfUid(uid, uid).catch(() => undefined);
          this.log('warn', 'processes of an ephemeral account ran outside its elevation (started by another service: sshd, systemd --user ...); they and the elevation were ended', { elevationId: id, account: this.running.get(id)?.account, pids });
        }
      } catch (e) {
        this.log('error', 'processes outside elevations could not be looked for', { error: String(e) });
      }
      if (this.watched.size === 0) {
        clearInterval(this.escapeTimer);
        this.escapeTimer = undefined;
      }
    }, ESCAPE_CHECK_MS);
    this.escapeTimer.unref();
  }

  /** Removes the account, home and cgroup of an ended elevation (see finish). */
  private async removeAfter(el: LinuxElevation, clock: PhaseClock): Promise<{ accountRemoved: boolean }> {
    let accountRemoved = false;
    try {
      if (this.beforeRemoval) await this.beforeRemoval(el.elevationId);
      if (el.account !== null) {
        const entry = readPasswd().find((p) => p.name === el.account);
        if (entry) accountRemoved = await this.accounts.remove(entry, clock);
        else accountRemoved = true;
      }
      clock.restart();
      if (el.cgroup && !(await removeCgroup(el.cgroup.dir))) {
        this.log('warn', 'cgroup not removed', { elevationId: el.elevationId, cgroup: el.cgroup.dir });
      }
      clock.mark('cgroup-remove');
    } catch (e) {
      this.log('error', 'cleanup after elevation failed', { elevationId: el.elevationId, error: String(e) });
    } finally {
      this.running.delete(el.elevationId);
      this.watched.delete(el.elevationId);
      this.clocks.delete(el.elevationId);
    }
    // phases: milliseconds per step of this elevation (root's log only; read by bench/elevation.bench.ts).
    this.log('info', 'elevation ended', { elevationId: el.elevationId, account: el.account, accountRemoved, phases: clock.toJSON() });
    return { accountRemoved };
  }

  async cleanupOrphans(activeElevationIds: ReadonlySet<string>): Promise<CleanupReport> {
    this.checkRoot();
    return cleanupOrphans(
      {
        prefix: this.prefix,
        instanceId: this.instanceId,
        accountName: (elevationId) => this.accountName(elevationId),
        maxLifetimeMs: this.maxLifetimeMs,
        leftoverGraceMs: this.leftoverGraceMs,
        running: this.running,
        starting: this.starting,
        accounts: this.accounts,
        cgroups: this.cgroups,
        log: this.log,
        foreignWarned: this.foreignWarned,
      },
      activeElevationIds,
    );
  }
}
