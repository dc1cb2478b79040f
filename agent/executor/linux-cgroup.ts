/**
 * The cgroups v2 of elevations: `<cgroup2 mount>/ascend/<instance id>/<elevationId>` (see the top
 * of linux.ts for when they are used). Made before the program starts, ended with `cgroup.kill`
 * (Linux 5.14+) or the pids of `cgroup.procs` until it is empty, removed after the elevation.
 */
import { existsSync, readFileSync } from 'node:fs';
import { constants as fsc, promises as fsp } from 'node:fs';
import path from 'node:path';
import { isElevationId, sleep } from './common.js';
import type { ExecutorOptions } from './contract.js';
import { isLive, readProc, trySignal } from './procfs.js';

export interface Cgroup {
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

export function readCgroupProcs(cg: Cgroup): number[] {
  try {
    return readFileSync(path.join(cg.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Ends every process of a cgroup: cgroup.kill when present, else its pids until it is empty. */
export async function killCgroup(cg: Cgroup, signalled: Set<number>): Promise<void> {
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

export async function removeCgroup(dir: string): Promise<boolean> {
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

/** The cgroup parent of one executor (`<mount>/ascend`, or none), and the cgroups of its instance under it. */
export class ElevationCgroups {
  private warned = false;

  constructor(
    /** `<mount>/ascend`, or null when no cgroup v2 is used. */
    readonly parent: string | null,
    private readonly log: NonNullable<ExecutorOptions['log']>,
  ) {}

  /** The parent for the executor's options: cgroupRoot null (none), a folder, or found from the mounts. */
  static parentFor(cgroupRoot: string | null | undefined): string | null {
    if (cgroupRoot === null) return null;
    if (cgroupRoot !== undefined) return cgroupRoot;
    const mount = findCgroup2Mount();
    return mount ? path.join(mount, 'ascend') : null;
  }

  /** A cgroup v2 for the elevation, or null when none is writable (then the fallback is used; see linux.ts). */
  async make(instanceId: string, elevationId: string): Promise<Cgroup | null> {
    if (!this.parent) return null;
    const dir = path.join(this.parent, instanceId, elevationId);
    try {
      await fsp.mkdir(path.dirname(dir), { recursive: true });
      await fsp.mkdir(dir).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      await fsp.access(path.join(dir, 'cgroup.procs'), fsc.W_OK);
      return { dir, hasKill: existsSync(path.join(dir, 'cgroup.kill')) };
    } catch (e) {
      if (!this.warned) {
        this.warned = true;
        this.log('warn', 'no writable cgroup v2; process trees are tracked by uid or process group', {
          cgroup: dir,
          error: String(e),
        });
      }
      return null;
    }
  }

  /**
   * Ends and removes the cgroups of this instance whose elevation `keep` does not claim (root
   * elevations left by a crashed agent). Only this instance's folder: other agents' cgroups (and
   * those of older agents, directly in the parent) are left alone.
   */
  async removeOrphans(instanceId: string, keep: (elevationId: string) => boolean, report: { endedPids: number[]; problems: string[] }): Promise<void> {
    if (!this.parent) return;
    const mine = path.join(this.parent, instanceId);
    let groups: string[] = [];
    try {
      groups = (await fsp.readdir(mine, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      groups = [];
    }
    for (const id of groups) {
      if (!isElevationId(id) || keep(id)) continue;
      const cg: Cgroup = { dir: path.join(mine, id), hasKill: existsSync(path.join(mine, id, 'cgroup.kill')) };
      const signalled = new Set<number>();
      await killCgroup(cg, signalled);
      report.endedPids.push(...signalled);
      if (!(await removeCgroup(cg.dir))) report.problems.push(`${cg.dir}: cgroup not removed`);
    }
  }
}
