/**
 * What the Linux executor reads and runs on the host: /etc/passwd and /etc/group, the helper
 * programs (useradd, setpriv ...) found on the safe PATH and run with a minimal environment, and
 * the program of an elevation resolved on that PATH.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants as fsc, promises as fsp } from 'node:fs';
import path from 'node:path';
import { AscendError } from '../../src/errors.js';
import { SAFE_PATH, show } from './common.js';
import { liveProcsOfUid, trySignal } from './procfs.js';

const NOLOGIN_CANDIDATES = ['/usr/sbin/nologin', '/sbin/nologin'];

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function readPasswd(): PasswdEntry[] {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7)
    .map((f) => ({
      name: f[0] ?? '',
      uid: Number(f[2]),
      gid: Number(f[3]),
      gecos: f[4] ?? '',
      home: f[5] ?? '',
      shell: f[6] ?? '',
    }));
}

export function readGroups(): GroupEntry[] {
  return readFileSync('/etc/group', 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4)
    .map((f) => ({ name: f[0] ?? '', gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

/** The login shell of an ephemeral account: nologin. */
export function nologinShell(): string {
  return NOLOGIN_CANDIDATES.find((p) => existsSync(p)) ?? '/usr/sbin/nologin';
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a helper program with a minimal environment; never rejects for a non-zero exit. */
export function run(file: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { PATH: SAFE_PATH, LC_ALL: 'C' }, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(err);
        return;
      }
      const code = err ? ((err as { code?: number | null }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export function firstLine(s: string): string {
  return (s.trim().split('\n')[0] ?? '').slice(0, 200);
}

/** Finds a helper program on the safe PATH. */
export function which(name: string): string | null {
  for (const dir of SAFE_PATH.split(':')) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

export function tool(name: string): string {
  const p = which(name);
  if (!p) {
    throw new AscendError('ASC_AGENT_CONFIG', `The executor needs ${name}, which is not on ${SAFE_PATH}.`, {
      hint: name === 'setpriv' ? 'Install util-linux.' : name === 'useradd' || name === 'userdel' ? 'Install passwd.' : undefined,
    });
  }
  return p;
}

/** The program of spec.command[0]: an absolute path, or a bare name looked up on SAFE_PATH. */
export async function resolveProgram(name: string): Promise<string> {
  const isExecutableFile = async (p: string): Promise<boolean> => {
    try {
      const st = await fsp.stat(p);
      if (!st.isFile() || (st.mode & 0o111) === 0) return false;
      await fsp.access(p, fsc.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (path.isAbsolute(name)) {
    if (await isExecutableFile(name)) return name;
    throw new AscendError('ASC_EXEC_FAILED', `Program ${show(name)} does not exist or is not an executable file.`);
  }
  if (name.includes('/')) {
    throw new AscendError(
      'ASC_EXEC_FAILED',
      `Program ${show(name)} is a relative path; give an absolute path or a bare name found on ${SAFE_PATH}.`,
    );
  }
  for (const dir of SAFE_PATH.split(':')) {
    const p = path.join(dir, name);
    if (await isExecutableFile(p)) return p;
  }
  throw new AscendError('ASC_EXEC_FAILED', `Program ${show(name)} was not found on the safe PATH ${SAFE_PATH}.`);
}

/** Whether the rm on the safe PATH is GNU coreutils' (asked once while it is). */
let gnuRmChecked: Promise<boolean> | undefined;

/**
 * The rm on the safe PATH, once it is known to be GNU coreutils': only GNU's walk is known to
 * hold against links swapped in (another rm, uutils or busybox, may list and delete by path).
 * Throws ASC_EXEC_FAILED, `what` first, when it is another. The executor asks it before it makes
 * an account, so a host without it refuses elevations rather than keep every home.
 */
export async function gnuRm(what: string): Promise<string> {
  const rm = tool('rm');
  gnuRmChecked ??= run(rm, ['--version']).then((v) => v.code === 0 && /\(GNU coreutils\)/.test(firstLine(v.stdout)), () => false);
  if (!(await gnuRmChecked)) {
    gnuRmChecked = undefined; // asked again next time (a package may be installed meanwhile)
    throw new AscendError('ASC_EXEC_FAILED', `${what}: ${rm} is not GNU coreutils' rm, whose walk through open folder handles the removal of ephemeral homes relies on`, {
      hint: 'install GNU coreutils (apt-get install coreutils; on Ubuntu with uutils: coreutils-from-gnu)',
    });
  }
  return rm;
}

/**
 * Removes the folder `dir` and everything in it, as root, with GNU rm (`rm -rf --one-file-system`):
 * rm walks the tree through open folder handles (openat with O_NOFOLLOW, each folder checked to be
 * the one it listed), so a folder inside that another user swaps for a symbolic link while the walk
 * runs (a home its account made writable for everyone) turns nothing outside the tree into a
 * target; a path-based walk (fs.rm) would list and delete through the link, as root. Mounts inside
 * are not entered (they stay, and rm fails). Resolves when `dir` is gone or was not there; throws
 * with rm's first line otherwise.
 */
export async function removeTree(dir: string): Promise<void> {
  if (!path.isAbsolute(dir) || path.resolve(dir) === '/') throw new AscendError('ASC_EXEC_FAILED', `Refusing to remove ${show(dir)}.`);
  const rm = await gnuRm(`${show(dir)} was not removed`);
  const r = await run(rm, ['-rf', '--one-file-system', '--', dir], 300_000);
  if (r.code !== 0) throw new AscendError('ASC_EXEC_FAILED', `${show(dir)} was not removed: ${firstLine(r.stderr) || `rm exited with status ${r.code ?? 'unknown (ended by a signal)'}`}`);
}

/** Kills every process of a uid at once: `kill -KILL -1` run as that uid (the kernel spares only the caller). */
export async function killAllOfUid(uid: number, gid: number): Promise<void> {
  // Guard: kill -1 as root would end the whole machine.
  if (!Number.isInteger(uid) || uid <= 0) throw new AscendError('ASC_EXEC_FAILED', `Refusing to kill all processes of uid ${uid}.`);
  const r = await run(tool('setpriv'), [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--', '/bin/sh', '-c', 'kill -KILL -1']);
  // The exec of sh as that uid fails when the uid is at its process limit (RLIMIT_NPROC: EAGAIN),
  // which a fork bomb reaches: then each process is ended from here, one by one (the callers
  // look again and repeat while any is left).
  if (r.code !== 0) for (const pid of liveProcsOfUid(uid)) trySignal(pid, 'SIGKILL');
}
