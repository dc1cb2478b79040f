/**
 * Processes of an ephemeral account that run outside its elevation's cgroup, ended as soon as
 * they are seen. Everything the elevated program starts is in its cgroup (the launcher joins it
 * before it forks, and the account cannot move a process out). A process of the account's uid
 * elsewhere that descends from no process of the elevation was started for it by another
 * service: sshd (a key the program wrote to its authorized_keys; a locked password does not stop
 * a key login under PAM), the account's systemd --user manager (lingering asked over D-Bus, units
 * started over its bus), a mail server's .forward. Such a process runs outside the exec guard,
 * the system-call filter and the cgroup: it is ended, and logged. One that descends from the
 * elevation (`sudo -i` or `su -` inside it, which logind may move into a session of its own) is
 * the elevation's, and left to it. The uid is the account's alone (ids are never reused).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { trySignal } from './procfs.js';

/** The cgroup v2 path of a process as /proc shows it ("0::/ascend/..."), or null when it is gone or has none. */
export function cgroupPathOf(pid: number): string | null {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    return line === undefined ? null : line.slice(3);
  } catch {
    return null;
  }
}

const UID_LINE = /^Uid:[ \t]*(.*)$/m;
const GID_LINE = /^Gid:[ \t]*(.*)$/m;
const GROUPS_LINE = /^Groups:[ \t]*(.*)$/m;
const PPID_LINE = /^PPid:[ \t]*([0-9]+)/m;
const STATE_LINE = /^State:[ \t]*(\S)/m;
const THREADS_LINE = /^Threads:[ \t]*([0-9]+)/m;

/** The numbers of one /proc/PID/status line, the first `n`. */
function numbers(line: RegExp, status: string, n: number): number[] {
  const out: number[] = [];
  for (const x of (line.exec(status)?.[1] ?? '').trim().split(/\s+/)) {
    if (out.length >= n) break;
    if (x !== '') out.push(Number(x));
  }
  return out;
}

/** The real, effective and saved uids and gids and the supplementary groups /proc/PID/status lists. */
function idsIn(status: string): number[] {
  return [...numbers(UID_LINE, status, 3), ...numbers(GID_LINE, status, 3), ...numbers(GROUPS_LINE, status, 65536)];
}

/** idsIn for a process by its pid (empty when it is gone). */
function idsOf(pid: number): number[] {
  try {
    return idsIn(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return [];
  }
}

interface Seen {
  ppid: number;
  /** Real, effective and saved uids and gids, and the supplementary groups. */
  ids: number[];
  live: boolean;
}

/** One pass over /proc: each process's parent, uids and whether it still runs (zombies do not). */
function processes(): Map<number, Seen> {
  const out = new Map<number, Seen>();
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const state = STATE_LINE.exec(status)?.[1] ?? '?';
      const threads = Number(THREADS_LINE.exec(status)?.[1] ?? 1);
      out.set(Number(name), {
        ppid: Number(PPID_LINE.exec(status)?.[1] ?? 0),
        ids: idsIn(status),
        live: (state !== 'Z' && state !== 'X') || threads > 1,
      });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Ends, for each watched account (its uid, which is its gid too → its elevation's cgroup path), its processes (by uid or group) that are
 * outside that cgroup and descend from no process in it; `spare` (the agent's own helpers, such
 * as the kill it runs as the uid) is left alone. Each is looked at again right before its
 * signal (still of that uid, still outside). One pass over /proc for all. Returns the pids
 * signalled, by uid.
 */
export function endEscapes(watched: ReadonlyMap<number, string>, spare: number): Map<number, number[]> {
  const ended = new Map<number, number[]>();
  if (watched.size === 0) return ended;
  const all = processes();
  const cgroupCache = new Map<number, string | null>();
  const cgroupOf = (pid: number): string | null => {
    if (!cgroupCache.has(pid)) cgroupCache.set(pid, cgroupPathOf(pid));
    return cgroupCache.get(pid) ?? null;
  };
  for (const [pid, p] of all) {
    if (!p.live || p.ppid === spare) continue;
    // The account's: its uid, or its own group (uid = gid, no other account has it) in any form, which
    // a process keeps after it became another user through a set-uid file (only root drops a group).
    const uid = p.ids.find((u) => watched.has(u));
    if (uid === undefined || uid <= 0) continue;
    const home = watched.get(uid) as string;
    const where = cgroupOf(pid);
    if (where === null || where === home) continue;
    // Descends from the elevation: the elevation's own (logind moves `sudo -i` into a session).
    let from = p.ppid;
    let descends = false;
    for (let hops = 0; from > 1 && hops < 4096; hops++) {
      if (cgroupOf(from) === home) {
        descends = true;
        break;
      }
      from = all.get(from)?.ppid ?? 0;
    }
    if (descends) continue;
    // Looked at again right before the signal: still of that uid, still outside.
    if (!idsOf(pid).includes(uid) || cgroupPathOf(pid) === home) continue;
    if (trySignal(pid, 'SIGKILL')) {
      const list = ended.get(uid);
      if (list) list.push(pid);
      else ended.set(uid, [pid]);
    }
  }
  return ended;
}
