import type { Readable, Writable } from 'node:stream';
import type { PhaseClock } from './phases.js';

/** What the agent asks the executor to run, once a request is allowed. */
export interface ElevationSpec {
  /** Unique id of this elevation (used in the account name / cgroup name; [A-Za-z0-9-], ≤ 36). */
  elevationId: string;
  /** The requesting user (from the kernel), for the working folder check and the log. */
  /** `gids`: every gid of the requester as the agent already read them (agent/daemon/identity.ts); asked again when absent. */
  requester: { uid: number; gid: number; name: string; gids?: readonly number[] };
  /** argv: the program (absolute path, or a name resolved on a fixed safe PATH) and its arguments. */
  command: string[];
  /** The user's working directory; used only if the requester can access it, else '/'. */
  cwd: string;
  /** A few variables the client asked for (TERM, LANG, LC_*, TZ, COLUMNS, LINES only — everything else dropped). */
  env?: Record<string, string>;
  /** Groups of the elevated token: SIDs or names (S-1-5-32-544 = BUILTIN\Administrators). Mapped to host groups by the group map. */
  groups: string[];
  /** 'System' → run as root (no account); anything else → an ephemeral account. */
  integrity: string;
  stdio: 'pipe';
  /**
   * An open read-only descriptor of the judged program (agent/daemon/program.ts): the executor
   * runs exactly this file from it, never reopening the path. The agent closes it once start()
   * has returned or thrown.
   */
  programFd?: number;
  /**
   * Linux: asked for every exec in the elevated tree after the program itself (the exec guard,
   * agent/executor/launcher.ts): `path` is the absolute path the exec names, `exe` the program
   * of the process that execs. 'deny' fails that exec with EPERM; no answer in time, or an
   * error, also denies. Absent: every exec is allowed.
   */
  onExec?: (req: { pid: number; path: string; argv: string[]; exe: string }) => Promise<'allow' | 'deny'>;
  /**
   * When true, the program's process exists when start() resolves but does not run the program
   * until RunningElevation.release(true) (the agent records the elevation first). Absent or
   * false: it runs at once.
   */
  holdUntilReleased?: boolean;
  /**
   * Where the elevation's time goes (./phases.ts): the agent's steps before start() are booked
   * on it, the executor books its own and logs them all with "elevation ended" (root's log only).
   */
  phases?: PhaseClock;
}

export interface ElevationExit {
  code: number | null;
  signal: string | null;
}

/** How the executor finds every process of an elevation (see linux.ts for when each is used). */
export type TreeTracking = 'uid+cgroup' | 'uid' | 'cgroup' | 'process-group' | 'windows-account';

export interface RunningElevation {
  readonly pid: number;
  /** The ephemeral account's name, or null when run as root (integrity System). */
  readonly account: string | null;
  readonly uid: number;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves when the main process has exited AND cleanup (leftover processes ended, account removed) is done. */
  readonly done: Promise<ElevationExit & { accountRemoved: boolean; endedPids: number[] }>;
  /**
   * Resolves when the main process and every process of its tree have ended; the removal of the
   * account, its home and cgroup continues after it (`done`). Absent: only `done` says so.
   */
  readonly treeEnded?: Promise<ElevationExit & { endedPids: number[] }>;
  /** Ends the whole process tree (even processes that left the process group via setsid): returns the pids it signalled. TERM, then KILL after graceMs. */
  endTree(graceMs?: number): Promise<number[]>;
  /** Forward a signal (SIGINT, SIGTERM, SIGHUP) to the process group. */
  signal(sig: NodeJS.Signals): void;
  /** With spec.holdUntilReleased: lets the program run (true) or never run (false). Once; no-op otherwise. */
  release?(go: boolean): void;
  // --- additions to the contract ---
  readonly elevationId: string;
  /** The host groups the elevated process got (mapped from spec.groups; the account's own group not included). */
  readonly hostGroups: readonly string[];
  /** Entries of spec.groups that mapped to nothing, or to host groups that do not exist (ignored, and logged). */
  readonly ignoredGroups: readonly string[];
  /** The working directory actually used (spec.cwd, or '/' when the requester cannot enter it). */
  readonly cwd: string;
  /** How the process tree is tracked for endTree and the cleanup after exit. */
  readonly tracking: TreeTracking;
}

export interface ExecutorOptions {
  /** Account name prefix (policy EphemeralAccounts.AccountPrefix, default 'ascend_'); names must stay ≤ 32 chars and match useradd's rules. */
  accountPrefix: string;
  /** SID/name → host group names. Default: S-1-5-32-544 / BUILTIN\Administrators → 'sudo' if it exists, else 'wheel'; configurable. Unknown groups are ignored and reported. */
  groupMap?: Record<string, string[]>;
  /** Folder for ephemeral homes, default /var/lib/ascend/homes (created 0755 root). */
  homeRoot?: string;
  /** Longest life of an account (policy MaxLifetimeMinutes) for the orphan cleanup. */
  maxLifetimeMs: number;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  // --- additions ---
  /** How long leftover processes get between SIGTERM and SIGKILL after the main process exits (default 2000 ms). */
  leftoverGraceMs?: number;
  /** Parent cgroup (v2) for System elevations; default: the cgroup2 mount + '/ascend'. Set to null to never use cgroups. Elevations' cgroups are made in <cgroupRoot>/<instance id>/. */
  cgroupRoot?: string | null;
  /** The agent's state folder (root's, 0700): the instance id, the ephemeral id mark and the set-id sweep journal live here. Default /var/lib/ascend (the agent's default). */
  stateDir?: string;
  /** The uids/gids of ephemeral accounts (uid = gid), handed out once each; default 0x78000000–0x7FFDFFFF (see ids.ts). */
  idRange?: { first: number; last: number };
  /**
   * Tests only (never set by the agent, nor from its command line): awaited after an elevation's
   * tree has ended, before its account's removal starts.
   */
  beforeRemoval?: (elevationId: string) => Promise<void>;
}

export interface CleanupReport {
  removedAccounts: string[];
  removedHomes: string[];
  endedPids: number[];
  problems: string[];
}

export interface Executor {
  start(spec: ElevationSpec): Promise<RunningElevation>;
  /** Removes ephemeral accounts (by prefix AND by the marker the executor sets, naming this agent's instance) whose elevation is not running in this process or that outlived maxLifetimeMs, with their processes and home folders; homes under this instance's home folder without an account; cgroups under this instance's cgroup folder. Never touches an account without this instance's marker. Runs pending set-id sweeps. */
  cleanupOrphans(activeElevationIds: ReadonlySet<string>): Promise<CleanupReport>;
  /** The agent is stopping: waits for the pending removals of ended elevations, then ends background work (unfinished work that must survive is journalled). */
  close?(): Promise<void>;
  /** Background work is underway or due (removals of ended elevations, set-id sweeps): an agent that runs on demand does not rest before it is done. */
  busy?(): boolean;
}
