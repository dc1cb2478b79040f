/**
 * Files and folders the agent takes its orders from (a --policy Registry.pol, the state folder)
 * must be ones only root can change: otherwise a user who can write one (or replace a folder on
 * its way) writes the policy (a rule for themselves, then `ascend agent refresh`).
 *
 * The rule, for the file and every folder above it up to /: owned by root (or the agent's own
 * uid), not writable by group or others. With a POSIX ACL the group bits are the ACL's mask,
 * which bounds every named user and group entry, so "no group write bit" also means "no ACL
 * entry grants write". One exception, the usual one: a folder owned by root with the sticky bit
 * (as /tmp) may be writable by others when the entry below it is root's, since in a sticky
 * folder only root and an entry's owner may rename or remove it. A component on a FUSE
 * filesystem is refused (owners and modes there are whatever the mount says).
 *
 * The path is resolved one component at a time, as the kernel resolves it: every folder it
 * passes through (from /, also those a symbolic link leads through) is checked, and every link
 * must be root's. Each folder is opened O_DIRECTORY|O_NOFOLLOW and judged through its
 * descriptor, the file is opened O_NOFOLLOW and read through the very descriptor that was
 * judged. Since everything passed through is root-only, nobody else can swap a component
 * between the check and the read.
 */
import { constants as fsc, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { AscendError } from '../../src/errors.js';
import { escapeControlChars } from '../../src/log-line.js';
import { addonPath } from '../ipc/peer.js';

/** What is judged of one component. */
export interface ComponentStat {
  path: string;
  uid: number;
  /** st_mode (type bits included). */
  mode: number;
  /** On a FUSE filesystem (unknown counts as not). */
  fuse: boolean;
}

const FUSE_SUPER_MAGIC = 0x65735546;

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * Why the chain (the file or folder first, then each folder above it, / last) can be changed
 * by someone other than the trusted uids, or null when it cannot. Pure.
 */
export function rootOnlyFault(chain: readonly ComponentStat[], trusted: ReadonlySet<number>): string | null {
  for (let i = 0; i < chain.length; i++) {
    const c = chain[i] as ComponentStat;
    const shown = escapeControlChars(c.path);
    if (!trusted.has(c.uid)) return `${shown} is owned by uid ${c.uid}, not root`;
    if (c.fuse) return `${shown} is on a FUSE filesystem, where owners and modes prove nothing`;
    if ((c.mode & 0o022) === 0) continue;
    const below = i > 0 ? chain[i - 1] : undefined;
    const sticky = (c.mode & fsc.S_IFMT) === fsc.S_IFDIR && (c.mode & 0o1000) !== 0;
    if (sticky && c.uid === 0 && below !== undefined && trusted.has(below.uid)) continue;
    const who = (c.mode & 0o022) === 0o022 ? 'its group and others' : (c.mode & 0o020) !== 0 ? 'its group' : 'others';
    return `${shown} is writable by ${who} (mode ${octal(c.mode)})`;
  }
  return null;
}

/** The uids trusted to own what the agent reads: root and the agent itself. */
export function agentUids(): ReadonlySet<number> {
  return new Set([0, process.getuid?.() ?? 0]);
}

let mountOf: ((fd: number) => { type: number }) | null | undefined;

/** The native addon's statfs (native/peercred.c), when the build has it. */
function statfsOf(fd: number): number | undefined {
  if (mountOf === undefined) {
    try {
      const mod = createRequire(import.meta.url)(addonPath()) as { mountOf?: unknown };
      mountOf = typeof mod.mountOf === 'function' ? (mod.mountOf as (fd: number) => { type: number }) : null;
    } catch {
      mountOf = null;
    }
  }
  if (!mountOf) return undefined;
  try {
    return mountOf(fd).type;
  } catch {
    return undefined;
  }
}

async function statOf(handle: FileHandle, at: string): Promise<ComponentStat> {
  const st = await handle.stat();
  return { path: at, uid: st.uid, mode: st.mode, fuse: statfsOf(handle.fd) === FUSE_SUPER_MAGIC };
}

/** Symbolic links followed in one path before it is refused (as the kernel's MAXSYMLINKS). */
const MAX_LINKS = 40;

function refused(what: string, shown: string, fault: string): AscendError {
  return new AscendError('ASC_AGENT_CONFIG', `the ${what} ${shown} is refused: ${fault}; a user could change it`, {
    hint: 'make it and every folder above it owned by root and not writable by group or others (chown root; chmod go-w)',
  });
}

/**
 * Resolves `given` one component at a time, as the kernel would, and checks everything the
 * resolution passes through: every folder (the chain above each, from /), every symbolic link
 * (its owner: in a sticky folder a link's owner may replace it) and the folders its target
 * leads through. Returns the resolved path, whose folders were all found root-only. Throws
 * ASC_AGENT_CONFIG naming the first component at fault; ENOENT and other errors as they come.
 */
async function resolveRootOnly(given: string, what: string, trusted: ReadonlySet<number>): Promise<string> {
  const shown = escapeControlChars(given);
  const checkFolder = async (dir: string): Promise<void> => {
    const d = await fs.open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
    try {
      // Every entry passed through below it is checked to be root's, so a sticky root folder may stay writable.
      const fault = rootOnlyFault([{ path: `${dir}/.`, uid: 0, mode: fsc.S_IFDIR | 0o755, fuse: false }, await statOf(d, dir)], trusted);
      if (fault) throw refused(what, shown, fault);
    } finally {
      await d.close();
    }
  };
  let dir = '/';
  await checkFolder(dir);
  const rest = path.resolve(given).split('/').filter((c) => c !== '' && c !== '.');
  let links = 0;
  while (rest.length > 0) {
    const name = rest.shift() as string;
    if (name === '..') {
      // The folders above a checked folder were checked on the way down.
      dir = path.dirname(dir);
      continue;
    }
    const next = path.join(dir, name);
    const st = await fs.lstat(next);
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new AscendError('ASC_AGENT_CONFIG', `the ${what} ${shown} is refused: too many symbolic links`);
      if (!trusted.has(st.uid)) throw refused(what, shown, `the symbolic link ${escapeControlChars(next)} is owned by uid ${st.uid}, not root`);
      const target = await fs.readlink(next);
      rest.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
      if (target.startsWith('/')) dir = '/';
      continue;
    }
    if (rest.length === 0) return next;
    if (!st.isDirectory()) {
      const e = new Error(`${next} is not a folder`) as NodeJS.ErrnoException;
      e.code = 'ENOTDIR';
      throw e;
    }
    await checkFolder(next);
    dir = next;
  }
  return dir;
}

/**
 * Opens `file` for reading after checking it and everything its path passes through (the
 * folders from /, symbolic links and their targets); the file is opened without following a
 * link, and judged through that descriptor, which the caller reads. Throws ASC_AGENT_CONFIG
 * naming the component and the owner or mode at fault; ENOENT and other open errors as they come.
 */
export async function openRootOnlyFile(file: string, what: string): Promise<FileHandle> {
  const trusted = agentUids();
  const real = await resolveRootOnly(file, what, trusted);
  const handle = await fs.open(real, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  try {
    const own = await statOf(handle, real);
    if ((own.mode & fsc.S_IFMT) !== fsc.S_IFREG) throw new AscendError('ASC_AGENT_CONFIG', `the ${what} ${escapeControlChars(file)} is not a regular file`);
    const fault = rootOnlyFault([own], trusted);
    if (fault) throw refused(what, escapeControlChars(file), fault);
    return handle;
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Checks that the folder `dir`, every folder above it and any link on its way only root can change (the same rule). */
export async function checkRootOnlyFolder(dir: string, what: string): Promise<void> {
  const trusted = agentUids();
  const real = await resolveRootOnly(dir, what, trusted);
  const d = await fs.open(real, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
  try {
    const fault = rootOnlyFault([await statOf(d, real)], trusted);
    if (fault) throw refused(what, escapeControlChars(dir), fault);
  } finally {
    await d.close();
  }
}

/** Reads a small text file (at most 1 MiB) that only root can change, by the same rule. */
export async function readRootOnlyText(file: string, what: string): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await openRootOnlyFile(file, what);
  } catch (e) {
    if (e instanceof AscendError) throw e;
    throw new AscendError('ASC_AGENT_CONFIG', `cannot read ${what} ${escapeControlChars(file)}: ${(e as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(1024 * 1024 + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > 1024 * 1024) throw new AscendError('ASC_AGENT_CONFIG', `${what} ${escapeControlChars(file)} is larger than 1 MiB`);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
