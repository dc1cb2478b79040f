/**
 * Process tracking of one Linux elevation: which live processes belong to it (its account's
 * uid, its cgroup, its process groups; see the top of linux.ts), ending that tree politely then
 * for good, and forwarding the signals a client may send.
 */
import type { Readable, Writable } from 'node:stream';
import { AscendError } from '../../src/errors.js';
import { sleep } from './common.js';
import type { ElevationExit, RunningElevation, TreeTracking } from './contract.js';
import { killAllOfUid } from './linux-host.js';
import { killCgroup, readCgroupProcs, type Cgroup } from './linux-cgroup.js';
import type { Launched } from './launcher.js';
import { groupStillOurs, isLive, listProcs, startTimeOf, trySignal } from './procfs.js';

const DEFAULT_END_GRACE_MS = 3000;

export class LinuxElevation implements RunningElevation {
  readonly pid: number;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly done: Promise<ElevationExit & { accountRemoved: boolean; endedPids: number[] }>;
  /** Resolves when the program and every process of its tree have ended (before the account is removed; see LinuxExecutor.finish). */
  readonly treeEnded: Promise<ElevationExit & { endedPids: number[] }>;
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
    /**
     * Called once the program has exited (LinuxExecutor.finish): `treeEnded` resolves once the
     * leftovers are ended, true when no process of the elevation is left; `removed` once the
     * account, its home and the cgroup are removed after that.
     */
    finish: (el: LinuxElevation) => { treeEnded: Promise<boolean>; removed: Promise<{ accountRemoved: boolean }> },
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
    const finished = launched.exited.then((exit) => {
      this.exited = true;
      return { exit, ...finish(this) };
    });
    // A tree whose end could not be established waits for the removal too (its loop ends every
    // process of the uid before the account goes), as every elevation did before.
    this.treeEnded = finished.then(async ({ exit, treeEnded, removed }) => {
      if (!(await treeEnded)) await removed;
      return { ...exit, endedPids: [...this.ended] };
    });
    this.done = finished.then(async ({ exit, removed }) => ({ ...exit, ...(await removed), endedPids: [...this.ended] }));
    // Callers may await only one of the two: neither is left as an unhandled rejection.
    this.treeEnded.catch(() => undefined);
    this.done.catch(() => undefined);
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
