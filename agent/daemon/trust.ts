/**
 * Trust the program, not the requester: a rule may elevate a file only when nobody but root
 * (or an account the admin named trusted) can change it or anything on its way — the file and
 * every folder above it, up to /. Whoever asks: another account of the same person, a friend,
 * or the owner of a sticky home are all "somebody else who can swap the file".
 *
 * A component is trusted when it is owned by a trusted uid, is not writable by its group or
 * by others (sticky bit or not), its ACL grants write to nobody but its owner, and it is not on
 * a mount that ignores set-uid bits (user FUSE mounts and removable media are mounted nosuid,
 * and there any owner and mode can be made up). The judgement is pure (`faultOf`); the walk
 * opens each folder and reads it through its descriptor, so the owner, mode, ACL and mount
 * that are judged all belong to one inode.
 *
 * ACLs and mount flags come from the native addon (native/peercred.c). Without it nothing is
 * trusted: rules elevate nothing, and the reason says why.
 */
import { execFile } from 'node:child_process';
import { constants as fsc, promises as fs, readFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { AscendError } from '../../src/errors.js';
import { escapeControlChars } from '../../src/log-line.js';
import { addonPath } from '../ipc/peer.js';
import { FORK_ENV, GETENT } from '../executor/nss.js';
import { aclWriteGrants, parsePosixAcl, type AclEntry } from './posix-acl.js';

// node:util through getBuiltinModule, not `import`: an ES import reads every export, and its lazy
// ones load modules the agent never uses (parseArgs, diff, worker_threads): 2 MB of resident memory.
const run = process.getBuiltinModule('node:util').promisify(execFile);

export type TrustVerdict = { trusted: true } | { trusted: false; reason: string };

/** What is judged of one component (the program or a folder above it). */
export interface ComponentFacts {
  path: string;
  uid: number;
  gid: number;
  /** st_mode. */
  mode: number;
  /** The parsed access ACL, or null when there is none. */
  acl: AclEntry[] | null;
  /** The mount it is on ignores set-uid bits. */
  nosuid: boolean;
}

export type Fault =
  | { kind: 'owner'; path: string; uid: number }
  | { kind: 'group-write'; path: string; gid: number; mode: number }
  | { kind: 'other-write'; path: string; mode: number }
  | { kind: 'acl-user'; path: string; uid: number }
  | { kind: 'acl-group'; path: string; gid: number }
  | { kind: 'nosuid'; path: string };

/** Why a component can be changed by someone untrusted, or null when it cannot. */
export function faultOf(c: ComponentFacts, trustedUids: ReadonlySet<number>): Fault | null {
  if (c.uid !== 0 && !trustedUids.has(c.uid)) return { kind: 'owner', path: c.path, uid: c.uid };
  if (c.nosuid) return { kind: 'nosuid', path: c.path };
  for (const g of c.acl ? aclWriteGrants(c.acl, c.uid) : []) {
    if (g.kind === 'user') return { kind: 'acl-user', path: c.path, uid: g.uid };
    if (g.kind === 'group') return { kind: 'acl-group', path: c.path, gid: g.gid };
  }
  // With an ACL the group bits are its mask: a mask with write is refused even when only the
  // owning group's entry could use it (the kernel keeps them in step; this errs on the safe side).
  if (c.mode & 0o002) return { kind: 'other-write', path: c.path, mode: c.mode };
  if (c.mode & 0o020) return { kind: 'group-write', path: c.path, gid: c.gid, mode: c.mode };
  return null;
}

/** A path as it may appear in a message: control characters escaped, never raw (src/log-line.ts). */
export function shownPath(p: string): string {
  return escapeControlChars(p);
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** The one-line reason for a fault; `name` gives the account or group name of an id, if known. */
export function describeFault(f: Fault, names: { user(uid: number): string | undefined; group(gid: number): string | undefined }, extraTrusted: boolean): string {
  const p = shownPath(f.path);
  const user = (uid: number) => {
    const n = names.user(uid);
    return n !== undefined ? `${n} (uid ${uid})` : `uid ${uid}`;
  };
  const group = (gid: number) => names.group(gid) ?? `gid ${gid}`;
  switch (f.kind) {
    case 'owner':
      return `${p} is owned by ${user(f.uid)}, not root${extraTrusted ? ' or a trusted owner' : ''}`;
    case 'group-write':
      return `${p} is writable by group ${group(f.gid)} (mode ${octal(f.mode)})`;
    case 'other-write':
      return `${p} is writable by others (mode ${octal(f.mode)})`;
    case 'acl-user':
      return `${p} grants write to user ${names.user(f.uid) ?? `uid ${f.uid}`} through its ACL`;
    case 'acl-group':
      return `${p} grants write to group ${group(f.gid)} through its ACL`;
    case 'nosuid':
      return `${p} is on a filesystem mounted nosuid (a user or removable-media mount, where owners and modes prove nothing)`;
  }
}

interface Addon {
  posixAclAccess(fd: number): Buffer | null;
  mountOf(fd: number): { type: number; nosuid: boolean };
}

let loaded: { addon: Addon } | { error: string } | undefined;

function addon(): { addon: Addon } | { error: string } {
  if (loaded) return loaded;
  if (process.platform !== 'linux') return (loaded = { error: `reading ACLs and mount flags is implemented on Linux only, not on ${process.platform}` });
  try {
    const file = addonPath();
    const mod = createRequire(import.meta.url)(file) as Partial<Addon>;
    if (typeof mod.posixAclAccess !== 'function' || typeof mod.mountOf !== 'function') throw new AscendError('ASC_INTERNAL', `${file} does not export posixAclAccess and mountOf (an older build: npm run build:native)`);
    loaded = { addon: mod as Addon };
  } catch (e) {
    loaded = { error: e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e) };
  }
  return loaded;
}

/** Reads what faultOf judges through an open descriptor (its fstat, ACL and mount). */
async function factsOf(a: Addon, handle: FileHandle, at: string): Promise<ComponentFacts> {
  const st = await handle.stat();
  const raw = a.posixAclAccess(handle.fd);
  return { path: at, uid: st.uid, gid: st.gid, mode: st.mode, acl: raw === null ? null : parsePosixAcl(raw), nosuid: a.mountOf(handle.fd).nosuid };
}

async function nameOf(db: 'passwd' | 'group', id: number): Promise<string | undefined> {
  try {
    const { stdout } = await run(GETENT, [db, String(id)], { timeout: 5000, env: FORK_ENV });
    const name = stdout.split(':')[0];
    return name && /^[A-Za-z0-9_][A-Za-z0-9_.@$-]*$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

async function describe(f: Fault, extraTrusted: boolean): Promise<string> {
  const users = new Map<number, string | undefined>();
  const groups = new Map<number, string | undefined>();
  if (f.kind === 'owner' || f.kind === 'acl-user') users.set(f.uid, await nameOf('passwd', f.uid));
  if (f.kind === 'group-write' || f.kind === 'acl-group') groups.set(f.gid, await nameOf('group', f.gid));
  return describeFault(f, { user: (u) => users.get(u), group: (g) => groups.get(g) }, extraTrusted);
}

/**
 * Judges the program open on `handle` (whose real path is `real`, already checked to be that
 * file) and every folder above it. `trustedUids` are the uids trusted besides root.
 */
export async function trustOf(handle: FileHandle, real: string, trustedUids: ReadonlySet<number>): Promise<TrustVerdict> {
  const a = addon();
  if ('error' in a) return { trusted: false, reason: `the agent cannot read ACLs and mount flags, so it trusts no program (native addon: ${a.error})` };
  const extra = [...trustedUids].some((u) => u !== 0);
  try {
    const own = faultOf(await factsOf(a.addon, handle, real), trustedUids);
    if (own) return { trusted: false, reason: await describe(own, extra) };
    for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
      let d: FileHandle;
      try {
        d = await fs.open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
      } catch (e) {
        // ELOOP/ENOTDIR: a folder became a link while it was checked; EACCES: a mount root cannot read.
        return { trusted: false, reason: `${shownPath(dir)} could not be checked (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
      }
      try {
        const fault = faultOf(await factsOf(a.addon, d, dir), trustedUids);
        if (fault) return { trusted: false, reason: await describe(fault, extra) };
      } finally {
        await d.close();
      }
      if (path.dirname(dir) === dir) break;
    }
  } catch (e) {
    return { trusted: false, reason: `the ACL or mount of ${shownPath(real)} or a folder above it could not be read (${e instanceof Error ? e.message : String(e)})` };
  }
  return { trusted: true };
}

/** The highest uid of a system account (login.defs SYS_UID_MAX, default 999). */
function sysUidMax(): number {
  try {
    const m = /^\s*SYS_UID_MAX\s+(\d+)\s*$/m.exec(readFileSync('/etc/login.defs', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // no login.defs: Debian's default
  }
  return 999;
}

/**
 * `--trusted-owner NAME|UID` → the uid. It must be a system account the name service knows
 * (uid ≤ SYS_UID_MAX): trusting a person's account would let them make any file elevatable.
 */
export async function resolveTrustedOwner(spec: string): Promise<number> {
  const s = spec.trim();
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(s)) throw new AscendError('ASC_USAGE', `--trusted-owner "${shownPath(spec)}" is not an account name or uid`);
  let fields: string[] = [];
  try {
    fields = (await run(GETENT, ['passwd', s], { timeout: 5000, env: FORK_ENV })).stdout.trim().split(':');
  } catch {
    fields = [];
  }
  const uid = Number(fields[2]);
  if (fields.length < 7 || !Number.isSafeInteger(uid) || uid < 0) throw new AscendError('ASC_AGENT_CONFIG', `--trusted-owner ${s}: no such account`);
  const max = sysUidMax();
  if (uid > max) throw new AscendError('ASC_AGENT_CONFIG', `--trusted-owner ${s}: ${fields[0]} (uid ${uid}) is not a system account (uid above ${max}); only root and system accounts can be trusted owners`);
  return uid;
}
