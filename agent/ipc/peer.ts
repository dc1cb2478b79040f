/**
 * Who is on the other end of an agent socket, from the kernel: SO_PEERCRED through the tiny
 * N-API addon in native/peercred.c (built into build/native/peercred.node by
 * scripts/build-native.js). There is no fallback: without the addon, or when the kernel does
 * not answer, the request is refused with ASC_AGENT_PEER_UNKNOWN — never decided on what the
 * client says about itself.
 */
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AscendError } from '../../src/errors.js';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

interface Addon {
  peerCredentials(fd: number): PeerCredentials;
}

const PACKAGE_NAME = 'ascend-privilege-manager';
const ADDON = join('build', 'native', 'peercred.node');
const HINT = 'build it: npm run build:native (needs a C compiler and the Node headers), on Linux';

let loaded: { addon: Addon } | { error: string } | undefined;

/**
 * The package root: the nearest folder upward holding our package.json. The same from
 * agent/ipc/*.ts (run by tsx) and from dist/agent/ipc/*.js.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new AscendError('ASC_AGENT_PEER_UNKNOWN', `cannot find the ${PACKAGE_NAME} package folder above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Where the addon is expected. */
export function addonPath(): string {
  return join(packageRoot(), ADDON);
}

function load(): { addon: Addon } | { error: string } {
  if (loaded) return loaded;
  if (process.platform !== 'linux') {
    loaded = { error: `peer credentials (SO_PEERCRED) are implemented on Linux only, not on ${process.platform}` };
    return loaded;
  }
  try {
    const path = addonPath();
    const mod = createRequire(import.meta.url)(path) as Partial<Addon>;
    if (typeof mod.peerCredentials !== 'function') throw new AscendError('ASC_AGENT_PEER_UNKNOWN', `${path} does not export peerCredentials`);
    loaded = { addon: mod as Addon };
  } catch (e) {
    loaded = { error: `the peer-credentials addon could not be loaded: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  }
  return loaded;
}

/** Whether the addon is there and loads (it says nothing of a particular socket). */
export function peerCredentialsAvailable(): boolean {
  return 'addon' in load();
}

/** The credentials the kernel holds for the peer of the socket with this file descriptor. */
export function peerCredentialsOfFd(fd: number): PeerCredentials {
  const l = load();
  if ('error' in l) throw new AscendError('ASC_AGENT_PEER_UNKNOWN', l.error, { hint: HINT });
  let creds: PeerCredentials;
  try {
    creds = l.addon.peerCredentials(fd);
  } catch (e) {
    throw new AscendError('ASC_AGENT_PEER_UNKNOWN', `the kernel did not say who is on the socket: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  for (const k of ['pid', 'uid', 'gid'] as const) {
    if (!Number.isInteger(creds[k]) || creds[k] < 0) throw new AscendError('ASC_AGENT_PEER_UNKNOWN', `the kernel gave an unusable ${k} (${String(creds[k])}) for the socket peer`);
  }
  return { pid: creds.pid, uid: creds.uid, gid: creds.gid };
}

/**
 * The credentials of the process that connected this Unix socket (as they were at connect()).
 * Throws ASC_AGENT_PEER_UNKNOWN when the socket has no file descriptor (closed, not a Unix
 * socket), the addon is missing, or getsockopt fails.
 */
export function peerCredentials(socket: Socket): PeerCredentials {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new AscendError('ASC_AGENT_PEER_UNKNOWN', 'the socket has no file descriptor to ask the kernel about (closed, or not a local socket)');
  }
  return peerCredentialsOfFd(fd);
}

/**
 * The parent of the process on the socket, read at accept (before anything slow), for rules
 * that name a parent process. `known: false` when it cannot be read or trusted: the client
 * already gone, its pid now another process's, no parent in view. Rules then treat the parent
 * as unknown, never as "no parent": a deny rule that names a parent still applies.
 */
export type PeerParent = { readonly known: true; readonly pid: number; readonly path: string } | { readonly known: false; readonly reason: string };

/** The fields of /proc/PID/stat that say who a process is: its parent, its start time (clock ticks since boot). */
export interface ProcStat {
  ppid: number;
  startTime: number;
}

/**
 * Parses /proc/PID/stat. The command name (field 2) may hold spaces and parentheses, so the
 * fields are counted from the last ')'. Undefined when the text is not such a line.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") ": state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt, cminflt, majflt,
  // cmajflt, utime, stime, cutime, cstime, priority, nice, num_threads, itrealvalue, starttime.
  const after = text.slice(close + 2).split(' ');
  const ppid = Number(after[1]);
  const startTime = Number(after[19]);
  if (!/^\d+$/.test(after[1] ?? '') || !/^\d+$/.test(after[19] ?? '') || !Number.isSafeInteger(ppid) || !Number.isSafeInteger(startTime)) return undefined;
  return { ppid, startTime };
}

/** The effective uid of a process (what SO_PEERCRED reports), from /proc/PID/status ("Uid:\treal\teffective\tsaved\tfs"). */
function effectiveUidOf(pid: number): number | undefined {
  const m = /^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : undefined;
}

/**
 * Reads the parent's executable of the peer `pid` (whose kernel-given uid is `uid`)
 * synchronously, from /proc: a few reads that do not wait on anything, done at accept so a
 * client that exits right after its request has not been reaped yet (an exited client is a
 * zombie until its parent reaps it, and a zombie still names its parent). The answer is
 * checked against pid reuse: the process must still be the same one at the end (same start
 * time), belong to the peer's uid, and its parent must have started before it.
 */
export function readPeerParent(pid: number, uid: number): PeerParent {
  const unknown = (reason: string): PeerParent => ({ known: false, reason });
  if (process.platform !== 'linux') return unknown(`parent processes are read from /proc, which ${process.platform} has not`);
  if (!Number.isInteger(pid) || pid <= 0) return unknown('the kernel gave no process id for the peer');
  try {
    const before = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    if (!before) return unknown(`/proc/${pid}/stat is not readable as a process status`);
    if (effectiveUidOf(pid) !== uid) return unknown(`process ${pid} is no longer the peer (another uid)`);
    if (before.ppid <= 0) return unknown(`process ${pid} has no parent in view`);
    const exe = readlinkSync(`/proc/${before.ppid}/exe`);
    const parent = parseProcStat(readFileSync(`/proc/${before.ppid}/stat`, 'utf8'));
    const after = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    // The parent read is the one that forked the peer: started no later than it, and the peer
    // is still the process first read (a reused pid would have started later).
    if (!parent || parent.startTime > before.startTime) return unknown(`process ${before.ppid} is no longer the parent of ${pid}`);
    if (!after || after.startTime !== before.startTime) return unknown(`process ${pid} is no longer the peer`);
    // A deleted executable reads as "PATH (deleted)": no longer the file a rule names.
    if (!exe.startsWith('/') || exe.endsWith(' (deleted)')) return unknown(`the parent's executable is not a file on disk`);
    return { known: true, pid: before.ppid, path: exe };
  } catch (e) {
    return unknown(`the peer's parent could not be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
