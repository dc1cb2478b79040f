/**
 * The orphan cleanup of the Linux executor (run at start and on a schedule): ephemeral accounts
 * of this instance whose elevation is not running (or outlived the maximum lifetime), homes
 * without an account, and cgroups of elevations that are not running. Only what carries this
 * instance's marker is touched; an account without the marker never is.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parseMarker, sleep } from './common.js';
import type { CleanupReport, ExecutorOptions } from './contract.js';
import type { LinuxAccounts } from './linux-accounts.js';
import type { ElevationCgroups } from './linux-cgroup.js';
import { firstLine, killAllOfUid, readPasswd, removeTree } from './linux-host.js';
import type { LinuxElevation } from './linux-tracking.js';
import { liveProcsOfUid, trySignal } from './procfs.js';

/** What the cleanup sees of the executor. */
export interface OrphanCleanupScope {
  readonly prefix: string;
  readonly instanceId: string;
  accountName(elevationId: string): string;
  readonly maxLifetimeMs: number;
  readonly leftoverGraceMs: number;
  /** Elevations of this process that run, and those that are being started. */
  readonly running: ReadonlyMap<string, LinuxElevation>;
  readonly starting: ReadonlySet<string>;
  readonly accounts: LinuxAccounts;
  readonly cgroups: ElevationCgroups;
  readonly log: NonNullable<ExecutorOptions['log']>;
  /** Accounts of older agents already logged as left alone (logged once each). */
  readonly foreignWarned: Set<string>;
}

export async function cleanupOrphans(ex: OrphanCleanupScope, activeElevationIds: ReadonlySet<string>): Promise<CleanupReport> {
  const report: CleanupReport = { removedAccounts: [], removedHomes: [], endedPids: [], problems: [] };
  const now = Date.now();
  const passwd = readPasswd();
  for (const entry of passwd) {
    if (!entry.name.startsWith(ex.prefix)) continue;
    const marker = parseMarker(entry.gecos);
    if (!marker) continue; // never touch an account without the marker
    if (marker.instanceId !== ex.instanceId) {
      // Another agent's account (several agents on one machine), or one of an older agent whose
      // marker names no instance: not ours, left alone; the latter is logged once.
      if (marker.instanceId === null && !ex.foreignWarned.has(entry.name)) {
        ex.foreignWarned.add(entry.name);
        ex.log('warn', 'ephemeral account without an instance id left alone (made by an older agent; remove it by hand)', { account: entry.name });
      }
      continue;
    }
    if (entry.name !== ex.accountName(marker.elevationId)) {
      report.problems.push(`${entry.name}: its marker names elevation ${marker.elevationId}, whose account name differs; left alone`);
      continue;
    }
    const expired = now - marker.createdAtMs > ex.maxLifetimeMs;
    const mine = ex.running.get(marker.elevationId);
    if (mine) {
      if (!expired) continue;
      report.endedPids.push(...(await mine.endTree()));
      const d = await mine.done;
      if (d.accountRemoved) report.removedAccounts.push(entry.name);
      else report.problems.push(`${entry.name}: outlived its maximum lifetime and was ended, but not removed`);
      continue;
    }
    if (ex.starting.has(marker.elevationId)) continue;
    if (activeElevationIds.has(marker.elevationId) && !expired) continue;
    if (entry.uid <= 0 || passwd.some((p) => p !== entry && p.uid === entry.uid)) {
      report.problems.push(`${entry.name}: uid ${entry.uid} is shared with another account; left alone`);
      continue;
    }
    try {
      const pids = liveProcsOfUid(entry.uid);
      for (const pid of pids) trySignal(pid, 'SIGTERM');
      const deadline = Date.now() + ex.leftoverGraceMs;
      while (liveProcsOfUid(entry.uid).length > 0 && Date.now() < deadline) await sleep(25);
      const rest = liveProcsOfUid(entry.uid);
      if (rest.length > 0) await killAllOfUid(entry.uid, entry.gid);
      report.endedPids.push(...new Set([...pids, ...rest]));
      if (await ex.accounts.remove(entry)) {
        report.removedAccounts.push(entry.name);
        // Only a home that is gone: one whose removal failed is tried again by the loop below.
        if (ex.accounts.isUnderHomeRoot(entry.home) && !(await fsp.lstat(entry.home).then(() => true, () => false))) report.removedHomes.push(entry.home);
      } else report.problems.push(`${entry.name}: userdel failed`);
    } catch (e) {
      report.problems.push(`${entry.name}: ${firstLine(String(e))}`);
    }
  }

  // Homes without an account: read the folder first, then passwd (an account is made before its home).
  let names: string[] = [];
  try {
    names = await fsp.readdir(ex.accounts.homeFolder);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') report.problems.push(`${ex.accounts.homeFolder}: ${firstLine(String(e))}`);
  }
  const homes = new Set(readPasswd().map((p) => path.resolve(p.home)));
  for (const name of names) {
    const full = path.join(ex.accounts.homeFolder, name);
    if (homes.has(full) || report.removedHomes.includes(full)) continue;
    try {
      await removeTree(full); // through open folder handles: a link swapped in mid-walk is not followed
      report.removedHomes.push(full);
    } catch (e) {
      report.problems.push(`${full}: ${firstLine(String(e))}`);
    }
  }

  // Cgroups of elevations that are not running (root elevations left by a crashed agent).
  await ex.cgroups.removeOrphans(ex.instanceId, (id) => ex.running.has(id) || ex.starting.has(id) || activeElevationIds.has(id), report);
  if (report.removedAccounts.length + report.removedHomes.length + report.endedPids.length > 0 || report.problems.length > 0) {
    ex.log(report.problems.length > 0 ? 'warn' : 'info', 'orphan cleanup', { ...report });
  }
  // Sweeps recorded before a crash (or left incomplete) run again, in the background.
  ex.accounts.kickSweeps();
  return report;
}
