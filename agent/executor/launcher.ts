/**
 * The Linux launcher: every elevated program is started through build/native/ascend-launch
 * (native/launch.c), a small root helper that joins the cgroup, enters the working folder as
 * the requester, closes every inherited fd above 2, installs the exec guard (a seccomp
 * user-notification filter), drops to the ephemeral account and runs the judged program from
 * its open descriptor (execveat), never by its path. It stays behind as the exec guard's
 * supervisor: each later exec in the elevated tree waits until the agent said allow or deny.
 *
 * This module: where the launcher is and whether it may be trusted (root's, nobody else can
 * write it or a folder above it), the arguments it gets, and the agent's side of its control
 * socket (fd 3): a "started" line (program pid, folder used), then one "exec" question a line,
 * each answered "allow ID" or "deny ID".
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, constants as fsc, fstatSync, openSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { AscendError } from '../../src/errors.js';
import { packageRoot } from '../ipc/peer.js';
import { SAFE_PATH, show } from './common.js';
import type { ElevationExit, ElevationSpec } from './contract.js';

/** One exec the launcher asks about: the process, the absolute path it names, its argv, the process's own program. */
export interface ExecQuestion {
  pid: number;
  path: string;
  argv: string[];
  exe: string;
}

export type ExecJudge = NonNullable<ElevationSpec['onExec']>;

/** Longest line the launcher may send (its argv bound is 256 KiB, escaped up to 6 bytes a byte). */
const MAX_LINE = 4 * 1024 * 1024;

/** Where `npm run build` puts the launcher. */
export function launcherPath(): string {
  return path.join(packageRoot(), 'build', 'native', 'ascend-launch');
}

/**
 * The launcher runs as root with the agent's trust: it must be a regular file owned by root
 * that group and others cannot write, in folders (up to /) owned by root that group and others
 * cannot write. Returns its real path, which is what is run.
 */
export async function checkLauncher(file: string = launcherPath(), what = 'elevation launcher'): Promise<string> {
  const hint = 'Build it as root: npm run build (needs a C compiler), in a root-owned folder others cannot write.';
  let real: string;
  try {
    real = await fsp.realpath(file);
  } catch {
    throw new AscendError('ASC_AGENT_CONFIG', `The ${what} ${show(file)} is missing${what === 'elevation launcher' ? '; elevations are refused' : ''}.`, { hint });
  }
  const st = await fsp.lstat(real);
  if (!st.isFile()) throw new AscendError('ASC_AGENT_CONFIG', `The ${what} ${show(real)} is not a regular file.`, { hint });
  if (st.uid !== 0 || (st.mode & 0o022) !== 0 || (st.mode & 0o100) === 0) {
    throw new AscendError('ASC_AGENT_CONFIG', `The ${what} ${show(real)} must be root's, executable, and not writable by group or others (it is uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}).`, { hint });
  }
  for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
    const d = await fsp.lstat(dir);
    // A root-owned sticky folder (/tmp) may be writable by others: there nobody but root may
    // rename or remove the root-owned entry below it, which is all this walk relies on.
    const sticky = (d.mode & 0o1000) !== 0;
    if (!d.isDirectory() || d.uid !== 0 || ((d.mode & 0o022) !== 0 && !sticky)) {
      throw new AscendError('ASC_AGENT_CONFIG', `The folder ${show(dir)} above the ${what} must be root's and not writable by group or others (it is uid ${d.uid}, mode ${(d.mode & 0o7777).toString(8)}).`, { hint });
    }
    if (path.dirname(dir) === dir) break;
  }
  return real;
}

/**
 * The requester's groups for entering the working folder as they would (`initgroups`: their
 * primary group and the groups that list them). Only their primary gid when the name does not
 * name their uid (then fewer folders can be entered, never more).
 */
export function requesterGroups(requester: { uid: number; gid: number; name: string }): Promise<number[]> {
  return new Promise((resolve) => {
    if (typeof requester.name !== 'string' || !/^[A-Za-z0-9_.][A-Za-z0-9_.@-]{0,63}\$?$/.test(requester.name)) {
      resolve([requester.gid]);
      return;
    }
    execFile('id', ['--', requester.name], { env: { PATH: SAFE_PATH, LC_ALL: 'C' }, timeout: 10_000 }, (err, stdout) => {
      const m = /^uid=([0-9]+)\(.*?\) gid=([0-9]+)\(.*?\)(?: groups=(.*))?$/.exec(String(stdout).trim());
      if (err || !m || Number(m[1]) !== requester.uid) {
        resolve([requester.gid]);
        return;
      }
      const groups = new Set<number>([requester.gid]);
      for (const g of (m[3] ?? '').split(',')) {
        const n = /^([0-9]+)/.exec(g);
        if (n?.[1]) groups.add(Number(n[1]));
      }
      resolve([...groups]);
    });
  });
}

export interface LaunchOptions {
  launcher: string;
  /** The open program (read-only); becomes the launcher's fd 4. */
  programFd: number;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  requester: { uid: number; gid: number; groups: readonly number[] };
  /** Absent: stay root (integrity System). */
  account?: { uid: number; gid: number; groups: readonly number[] };
  cgroupProcs?: string;
  onExec?: ExecJudge;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  elevationId: string;
}

export interface Launched {
  /** The launcher (the exec guard's supervisor); exits as the program does. */
  launcherPid: number;
  /** The program: its own process group leader. */
  programPid: number;
  /** The folder the program started in. */
  cwd: string;
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  exited: Promise<ElevationExit>;
  /**
   * The program waits at its first exec until this is called: true lets it run, false makes
   * that exec fail (the launcher then exits 126). The launcher refuses the exec by itself when
   * no answer comes within its answer timeout or the agent is gone. Once only.
   */
  release(go: boolean): void;
}

function idList(ids: readonly number[]): string {
  for (const id of ids) if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) throw new AscendError('ASC_EXEC_FAILED', `Bad group id ${String(id)}.`);
  return [...new Set(ids)].join(',');
}

/** The launcher's command line (after its path). */
export function launcherArgs(o: Pick<LaunchOptions, 'argv' | 'cwd' | 'requester' | 'account' | 'cgroupProcs'>): string[] {
  const cwd = typeof o.cwd === 'string' && path.isAbsolute(o.cwd) && !o.cwd.includes('\0') ? o.cwd : '/';
  const args = ['--cwd', cwd, '--as-uid', String(o.requester.uid), '--as-gid', String(o.requester.gid), '--as-groups', idList(o.requester.groups)];
  if (o.account) args.push('--uid', String(o.account.uid), '--gid', String(o.account.gid), '--groups', idList(o.account.groups));
  if (o.cgroupProcs) args.push('--cgroup-procs', o.cgroupProcs);
  return [...args, '--', ...o.argv];
}

/** Parses one line of the launcher; null when it is not a message we know. */
function parseLine(line: string): { type: 'started'; pid: number; cwd: string } | { type: 'error'; message: string } | ({ type: 'exec'; id: string } & ExecQuestion) | null {
  let m: unknown;
  try {
    m = JSON.parse(line);
  } catch {
    return null;
  }
  if (!m || typeof m !== 'object') return null;
  const o = m as Record<string, unknown>;
  if (o.type === 'started' && Number.isInteger(o.pid) && (o.pid as number) > 0 && typeof o.cwd === 'string') return { type: 'started', pid: o.pid as number, cwd: o.cwd };
  if (o.type === 'error' && typeof o.message === 'string') return { type: 'error', message: o.message };
  if (
    o.type === 'exec' &&
    typeof o.id === 'string' &&
    /^[0-9]{1,20}$/.test(o.id) &&
    Number.isInteger(o.pid) &&
    typeof o.path === 'string' &&
    typeof o.exe === 'string' &&
    Array.isArray(o.argv) &&
    o.argv.every((a) => typeof a === 'string')
  ) {
    return { type: 'exec', id: o.id, pid: o.pid as number, path: o.path, exe: o.exe, argv: o.argv as string[] };
  }
  return null;
}

/**
 * The program's output, kept until the caller reads it. The program may well have exited by
 * then (it runs as soon as the launcher said "started"), and Node discards the unread output of
 * a child's own stdio streams once the child exits; a pipe keeps it (with back-pressure).
 */
function held(stream: Readable): Readable {
  const out = new PassThrough();
  stream.on('error', () => out.end());
  stream.pipe(out);
  return out;
}

/** Starts the launcher; resolves once the program's process exists (it then execs the program). */
export function launch(o: LaunchOptions): Promise<Launched> {
  const child: ChildProcess = spawn(o.launcher, launcherArgs(o), {
    cwd: '/',
    env: o.env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe', o.programFd],
  });
  const exited = new Promise<ElevationExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const control = child.stdio[3] as Socket | null;
  return new Promise<Launched>((resolve, reject) => {
    let started = false;
    let failure: string | null = null;
    const fail = (message: string): void => {
      if (started) return;
      started = true; // settled
      reject(new AscendError('ASC_EXEC_FAILED', `Elevation ${o.elevationId} could not be started: ${message}`));
    };
    child.once('error', (e) => {
      o.log('warn', 'elevation launcher error', { elevationId: o.elevationId, error: String(e) });
      fail(String((e as Error).message ?? e));
    });
    if (!control || !child.stdin || !child.stdout || !child.stderr) {
      fail('the launcher has no control channel');
      return;
    }
    // Decided once the channel is closed (the launcher is gone and all it said was read), not
    // at 'exit', which may come before the last line was read.
    control.once('close', () => {
      if (started) return;
      void exited.then((exit) => fail(failure ?? `the launcher exited (${exit.code ?? exit.signal}) before the program started`));
    });
    void exited.then(() => {
      if (!started) setTimeout(() => control.destroy(), 5_000).unref();
    });
    child.stdin.on('error', () => undefined); // EPIPE when the program does not read its input
    control.on('error', () => undefined);
    let pending = '';
    let queue = Promise.resolve();
    const answer = (id: string, verdict: 'allow' | 'deny'): void => {
      if (!control.destroyed) control.write(`${verdict} ${id}\n`);
    };
    const onLine = (line: string): void => {
      const msg = parseLine(line);
      if (!msg) {
        o.log('warn', 'elevation launcher sent an unknown line', { elevationId: o.elevationId, line: show(line) });
        return;
      }
      if (msg.type === 'error') {
        failure = msg.message.slice(0, 300);
        return;
      }
      if (msg.type === 'started') {
        if (started) return;
        started = true;
        let released = false;
        const release = (go: boolean): void => {
          if (released) return;
          released = true;
          answer('0', go ? 'allow' : 'deny');
        };
        resolve({ launcherPid: child.pid ?? -1, programPid: msg.pid, cwd: msg.cwd, stdin: child.stdin!, stdout: held(child.stdout!), stderr: held(child.stderr!), exited, release });
        return;
      }
      // One question at a time, in order (the launcher asks the next only after an answer).
      const q: ExecQuestion = { pid: msg.pid, path: msg.path, argv: msg.argv, exe: msg.exe };
      queue = queue.then(async () => {
        let verdict: 'allow' | 'deny' = 'allow';
        if (o.onExec) {
          try {
            verdict = (await o.onExec(q)) === 'allow' ? 'allow' : 'deny';
          } catch (e) {
            verdict = 'deny';
            o.log('error', 'exec check failed; the exec is refused', { elevationId: o.elevationId, path: show(q.path), error: String(e) });
          }
        }
        answer(msg.id, verdict);
      });
    };
    control.setEncoding('utf8');
    control.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        onLine(line);
      }
      if (pending.length > MAX_LINE) {
        // The launcher then refuses every further exec (it lost its agent): fail closed.
        o.log('error', 'elevation launcher line too long; exec questions are refused', { elevationId: o.elevationId });
        pending = '';
        control.destroy();
      }
    });
  });
}

/**
 * Opens the program for the launcher when the agent passed no descriptor: its real path,
 * opened without following links or blocking on a FIFO, and a regular file.
 */
export async function openProgram(program: string): Promise<{ fd: number; path: string }> {
  const real = await fsp.realpath(program);
  const fd = openSync(real, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK); // libuv adds O_CLOEXEC
  try {
    if (!fstatSync(fd).isFile()) throw new AscendError('ASC_EXEC_FAILED', `Program ${show(real)} is not a regular file.`);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return { fd, path: real };
}
