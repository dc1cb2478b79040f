import type { Readable, Writable } from 'node:stream';

/** What the agent asks the executor to run, once a request is allowed. */
export interface ElevationSpec {
  /** Unique id of this elevation (used in the account name / cgroup name; [A-Za-z0-9-], ≤ 36). */
  elevationId: string;
  /** The requesting user (from the kernel), for the working folder check and the log. */
  requester: { uid: number; gid: number; name: string };
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
  /** Ends the whole process tree (even processes that left the process group via setsid): returns the pids it signalled. TERM, then KILL after graceMs. */
  endTree(graceMs?: number): Promise<number[]>;
  /** Forward a signal (SIGINT, SIGTERM, SIGHUP) to the process group. */
  signal(sig: NodeJS.Signals): void;
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
  /** Parent cgroup (v2) for System elevations; default: the cgroup2 mount + '/ascend'. Set to null to never use cgroups. */
  cgroupRoot?: string | null;
}

export interface CleanupReport {
  removedAccounts: string[];
  removedHomes: string[];
  endedPids: number[];
  problems: string[];
}

export interface Executor {
  start(spec: ElevationSpec): Promise<RunningElevation>;
  /** Removes ephemeral accounts (by prefix AND by the marker the executor sets) whose elevation is not running in this process or that outlived maxLifetimeMs, with their processes and home folders; homes under homeRoot without an account. Never touches an account without the marker. */
  cleanupOrphans(activeElevationIds: ReadonlySet<string>): Promise<CleanupReport>;
}
