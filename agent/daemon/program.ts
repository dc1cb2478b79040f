/**
 * The program a user asks to elevate, as the agent checks it before any rule sees it: the
 * real path (symbolic links resolved, so a link can not borrow another program's rules),
 * a regular executable file, its SHA-256, and whether the requester could change it.
 */
import { createHash } from 'node:crypto';
import { constants as fsc, promises as fs } from 'node:fs';
import path from 'node:path';
import { AscendError } from '../../src/errors.js';

const MAX_HASHED_BYTES = 2 ** 30;

export interface ProgramInfo {
  /** The real path: what rules match and what runs. */
  path: string;
  sha256?: string;
  /** The requester may write the file or its folder: a path rule must not elevate it. */
  writableByRequester: boolean;
}

function writableBy(st: { uid: number; gid: number; mode: number }, uid: number, gids: ReadonlySet<number>): boolean {
  // An owner can always chmod u+w: owning is writing.
  if (st.uid === uid) return true;
  if (gids.has(st.gid)) return (st.mode & 0o020) !== 0;
  return (st.mode & 0o002) !== 0;
}

/** Hashes through one handle opened without following links and without blocking on a FIFO. */
async function sha256Of(file: string): Promise<string> {
  const handle = await fs.open(file, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOFOLLOW);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new AscendError('ASC_EXEC_FAILED', `the program ${file} is not a regular file`);
    if (st.size > MAX_HASHED_BYTES) throw new AscendError('ASC_EXEC_FAILED', `the program ${file} is larger than ${MAX_HASHED_BYTES / 2 ** 20} MiB, which the agent does not hash`);
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

/**
 * Checks the program: it must be an absolute path to a regular file with an execute bit.
 * `hash` is asked only when some rule matches on SHA-256 (hashing a large file costs).
 */
export async function inspectProgram(requested: string, requester: { uid: number; gids: ReadonlySet<number> }, hash: boolean): Promise<ProgramInfo> {
  if (!path.isAbsolute(requested)) throw new AscendError('ASC_EXEC_FAILED', `the program "${requested}" is not an absolute path`, { hint: 'give the full path, or a name on your PATH' });
  let real: string;
  try {
    real = await fs.realpath(requested);
  } catch {
    throw new AscendError('ASC_EXEC_FAILED', `the program ${requested} does not exist`);
  }
  const st = await fs.stat(real);
  if (!st.isFile()) throw new AscendError('ASC_EXEC_FAILED', `the program ${requested} is not a regular file`);
  if ((st.mode & 0o111) === 0) throw new AscendError('ASC_EXEC_FAILED', `the program ${requested} is not executable`);
  let writable = writableBy(st, requester.uid, requester.gids);
  if (!writable) {
    // Replacing the file (or a folder on its path) is as good as writing it: check the folders
    // up to the root. In a sticky folder only the owner of an entry may replace it.
    let dir = path.dirname(real);
    let entryOwner = st.uid;
    for (;;) {
      const d = await fs.stat(dir);
      const sticky = (d.mode & 0o1000) !== 0;
      if (writableBy(d, requester.uid, requester.gids) && !(sticky && entryOwner !== requester.uid)) {
        writable = true;
        break;
      }
      const up = path.dirname(dir);
      if (up === dir) break;
      entryOwner = d.uid;
      dir = up;
    }
  }
  return { path: real, ...(hash ? { sha256: await sha256Of(real) } : {}), writableByRequester: writable };
}

/**
 * The arguments as one command line in the form rules match (as Windows programs receive
 * it): an argument with a blank or a quote is quoted, inner quotes escaped.
 */
export function commandLineOf(args: readonly string[]): string {
  return args
    .map((a) => {
      if (a !== '' && !/[\s"]/.test(a)) return a;
      let out = '"';
      let slashes = 0;
      for (const ch of a) {
        if (ch === '\\') {
          slashes++;
          continue;
        }
        if (ch === '"') out += '\\'.repeat(slashes * 2 + 1) + '"';
        else out += '\\'.repeat(slashes) + ch;
        slashes = 0;
      }
      return `${out}${'\\'.repeat(slashes * 2)}"`;
    })
    .join(' ');
}
