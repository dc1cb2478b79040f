import { readFileSync, readdirSync } from 'node:fs';

/** One process as /proc shows it. */
export interface ProcInfo {
  pid: number;
  /** The state letter of /proc/PID/stat (R, S, D, T, Z, X ...). */
  state: string;
  pgrp: number;
  /** Real, effective, saved and filesystem uid. */
  uids: number[];
  /** Threads of the process (/proc/PID/status Threads); its main thread may have exited (state Z) while others run. */
  threads: number;
}

function threadsOf(status: string): number {
  return Number(/^Threads:\s+([0-9]+)/m.exec(status)?.[1] ?? 1);
}

/**
 * Whether a process in `state` with `threads` threads still runs code: a zombie or dead one
 * does not, unless its main thread alone exited (state Z) while other threads run.
 */
function running(state: string, threads: number): boolean {
  return (state !== 'Z' && state !== 'X') || (state === 'Z' && threads > 1);
}

/** Reads /proc/PID/stat and /proc/PID/status; null when the process is gone. */
export function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so cut after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uidLine = /^Uid:\s+(.*)$/m.exec(status);
    const uids = uidLine?.[1] ? uidLine[1].trim().split(/\s+/).map(Number) : [];
    return { pid, state: rest[0] ?? '?', pgrp: Number(rest[2]), uids, threads: threadsOf(status) };
  } catch {
    return null;
  }
}

/** The start time of a process (clock ticks after boot, /proc/PID/stat field 22), or null when it is gone. */
export function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * Whether process group `pgid` can still be the group a process started at `start` led. A
 * group id is not reused while the group has members; once it is empty the number can go to a
 * new process, which then has another start time. No process with that pid: still ours (its
 * members, if any, hold the number).
 */
export function groupStillOurs(pgid: number, start: string | null): boolean {
  const now = startTimeOf(pgid);
  return now === null || start === null || now === start;
}

/** Every process on the machine (those that vanish while reading are left out). */
export function listProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) out.push(p);
  }
  return out;
}

/** A zombie (or dead) process cannot be signalled usefully and holds nothing; it only waits to be reaped (unless other threads of it run). */
export function isLive(p: ProcInfo): boolean {
  return running(p.state, p.threads);
}

/** Live processes whose real, effective or saved uid is `uid` (one read of /proc/PID/status each). */
export function liveProcsOfUid(uid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${name}/status`, 'utf8');
    } catch {
      continue; // gone
    }
    const state = /^State:\s+(\S)/m.exec(status)?.[1] ?? '?';
    const uids = (/^Uid:\s+(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).slice(0, 3).map(Number);
    if (running(state, threadsOf(status)) && uids.includes(uid)) out.push(Number(name));
  }
  return out;
}

/** Sends a signal; false when the process is gone (ESRCH). */
export function trySignal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
