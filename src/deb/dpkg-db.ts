/**
 * The Debian package a program file came from, as a rule's publisher (`deb:<package>`): the
 * package whose file list (dpkg's `info/<pkg>.list`) holds the file's path, and only when the
 * file's bytes still have the MD5 dpkg recorded for it (`info/<pkg>.md5sums`, or `status` for
 * a conffile). A modified file, a file no package lists, a file without a recorded sum, a path
 * a diversion touches, a path two packages claim, never counts.
 *
 * The database is read once into an index (path → package and md5) and read again when it
 * changes: each lookup compares the info folder, `status` and `diversions` (inode, size, mtime),
 * and the file list and sums of the package it finds. Only database files owned by root that
 * neither group nor others may write are read (opened without following a link); the admin
 * folder and every folder above it must be as safe (a sticky root-owned folder such as /tmp
 * included). Anything else fails closed: no package is anybody's publisher then.
 *
 * Merged /usr (Debian 12): dpkg lists `/bin/ls` while the file is `/usr/bin/ls`. Paths are
 * compared in one form, the /usr one, through the aliases the system really has (top-level
 * links `/bin` → `usr/bin` and the like); two spellings two packages claim are refused.
 *
 * Hard links: the path judged is the file's real path. A link a user made elsewhere has
 * another path, which no package lists; a link at a listed path needs write access to a
 * root-owned folder. fs.protected_hardlinks (on by default) keeps users from linking files they
 * do not own at all.
 */
import { createHash } from 'node:crypto';
import { constants as fsc, promises as fs, type BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { escapeControlChars as shown } from '../log-line.js';
import { openRegularOnly } from '../open-regular.js';
import { canonicalPath, isUsrAlias, parseDiversions, parseList, parseMd5sums, parseStatus } from './dpkg-parse.js';

export const DEFAULT_ADMIN_DIR = '/var/lib/dpkg';
/** Caps: bytes of one database file, and paths in the index (the agent's memory stays bounded). */
const MAX_STATUS_BYTES = 64 * 2 ** 20;
const MAX_INFO_BYTES = 16 * 2 ** 20;
const MAX_ENTRIES = 2_000_000;
/** All info files together: what one index build reads at most. */
const MAX_TOTAL_BYTES = 512 * 2 ** 20;
const MAX_HASHED_BYTES = 2 ** 30;
const CHUNK = 1 << 20;
/** Info files read at once while the index is built. */
const PARALLEL = 16;
const CONFLICT = -1;

export interface DebPublisherAnswer {
  /** `deb:<package>`, only when the file is that package's, unmodified. */
  publisher?: string;
  /** Why there is none (or which package it is), in one line. */
  reason: string;
}

export interface DpkgDbOptions {
  /** dpkg's admin folder (dpkg --admindir); the agent always uses the default. */
  adminDir?: string;
  /** Where the merged-/usr links are looked for (the system's root). */
  root?: string;
}

type Sig = string;

function sigOf(st: BigIntStats): Sig {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

interface Pkg {
  name: string;
  stem: string;
  /** Signatures of its .list and .md5sums when read ('' when it has none). */
  listSig: Sig;
  sumsSig: Sig;
}

interface Index {
  /** info folder, status, diversions, root folder. */
  sig: Sig;
  aliases: Map<string, string>;
  /** Canonical path → entry number, or CONFLICT. */
  paths: Map<string, number>;
  /** Per entry: its package (into pkgs) and md5 (hex). */
  entryPkg: number[];
  entryMd5: string[];
  pkgs: Pkg[];
  /** Canonical paths a diversion touches. */
  diverted: Set<string>;
  /** When the database could not be trusted or read: why (the index is then empty). */
  broken?: string;
}

class DbUnsafe extends Error {}

/** Folders: owned by root, not writable by group or others (a sticky one owned by root may be: its entries stay root's). */
function checkFolder(st: BigIntStats, at: string, sticky: boolean): void {
  if (!st.isDirectory()) throw new DbUnsafe(`${at} is not a folder`);
  if (st.uid !== 0n) throw new DbUnsafe(`${at} is not owned by root`);
  const mode = Number(st.mode);
  if ((mode & 0o022) !== 0 && !(sticky && (mode & 0o1000) !== 0)) throw new DbUnsafe(`${at} is writable by group or others`);
}

/** Reads one database file: no link followed, root's, not group/other-writable, a regular file under `cap` bytes. Null when absent. */
async function readDbFile(file: string, cap: number): Promise<{ data: Buffer; sig: Sig } | null> {
  let h: FileHandle;
  try {
    h = await fs.open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new DbUnsafe(`${file} could not be opened (${code === 'ELOOP' ? 'it is a symbolic link' : (code ?? 'error')})`);
  }
  try {
    const st = await h.stat({ bigint: true });
    if (!st.isFile()) throw new DbUnsafe(`${file} is not a regular file`);
    if (st.uid !== 0n) throw new DbUnsafe(`${file} is not owned by root`);
    if ((Number(st.mode) & 0o022) !== 0) throw new DbUnsafe(`${file} is writable by group or others`);
    if (st.size > BigInt(cap)) throw new DbUnsafe(`${file} is larger than ${cap} bytes`);
    const data = Buffer.alloc(Number(st.size));
    let at = 0;
    while (at < data.length) {
      const { bytesRead } = await h.read(data, at, data.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    if (at !== data.length) throw new DbUnsafe(`${file} changed while it was read`);
    return { data, sig: sigOf(st) };
  } finally {
    await h.close();
  }
}

async function lstatSig(p: string): Promise<Sig> {
  try {
    return sigOf(await fs.lstat(p, { bigint: true }));
  } catch {
    return '';
  }
}

/** MD5 of a whole file, read through `handle` by position. */
async function md5Of(handle: FileHandle): Promise<string> {
  const st = await handle.stat();
  if (st.size > MAX_HASHED_BYTES) throw new Error(`larger than ${MAX_HASHED_BYTES / 2 ** 20} MiB`);
  const hash = createHash('md5');
  const buf = Buffer.allocUnsafe(CHUNK);
  let total = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buf, 0, CHUNK, total);
    if (bytesRead === 0) break;
    total += bytesRead;
    if (total > MAX_HASHED_BYTES) throw new Error(`grew past ${MAX_HASHED_BYTES / 2 ** 20} MiB`);
    hash.update(buf.subarray(0, bytesRead));
  }
  return hash.digest('hex');
}

/** dpkg's database of one system (or of a constructed admin folder, in tests). */
export class DpkgDb {
  readonly adminDir: string;
  readonly root: string;
  /** How many times the index was built (tests: the cache is used, and dropped on a change). */
  builds = 0;
  private index: Index | undefined;
  private building: Promise<Index> | undefined;

  constructor(opts: DpkgDbOptions = {}) {
    this.adminDir = path.resolve(opts.adminDir ?? DEFAULT_ADMIN_DIR);
    this.root = path.resolve(opts.root ?? '/');
  }

  /** `deb:<package>` for the file, or undefined (see the module comment). */
  async publisherOf(file: string, handle?: FileHandle): Promise<string | undefined> {
    return (await this.resolve(file, handle)).publisher;
  }

  /**
   * The package publisher of `file` with the reason. With `handle` (open on the file, whose
   * real path `file` is: the caller checked it) the bytes are read through it; without, the
   * path's links are resolved and the file opened (no FIFO or terminal is opened).
   */
  async resolve(file: string, handle?: FileHandle, retried = false): Promise<DebPublisherAnswer> {
    if (process.platform !== 'linux') return { reason: `dpkg's database is read on Linux only, not on ${process.platform}` };
    if (!path.isAbsolute(file)) return { reason: 'the path is not absolute' };
    let own: FileHandle | undefined;
    let real = file;
    try {
      if (!handle) {
        try {
          real = await fs.realpath(file);
          const pre = await fs.lstat(real);
          if (!pre.isFile()) return { reason: `${shown(real)} is not a regular file` };
          // Only a regular file is opened, whatever a folder of the path became since (src/open-regular.ts).
          own = (await openRegularOnly(real)) ?? undefined;
          if (own === undefined) return { reason: `${shown(real)} changed while it was checked` };
          const st = await own.stat();
          if (!st.isFile() || st.dev !== pre.dev || st.ino !== pre.ino) return { reason: `${shown(real)} changed while it was checked` };
        } catch (e) {
          return { reason: `${shown(file)} could not be read (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
        }
      }
      const index = await this.current();
      if (index.broken !== undefined) return { reason: `dpkg's database is not used: ${index.broken}` };
      const key = canonicalPath(real, index.aliases);
      if (index.diverted.has(key)) return { reason: `${shown(real)} is diverted (dpkg-divert): its package's file is not at that path` };
      const n = index.paths.get(key);
      if (n === undefined) return { reason: `no installed package lists ${shown(real)} with a checksum` };
      if (n === CONFLICT) return { reason: `more than one package claims ${shown(real)}` };
      const pkg = index.pkgs[index.entryPkg[n] as number] as Pkg;
      // The package's own files, cheaply: changed in place since the index was built means read again.
      if ((await lstatSig(this.infoFile(pkg.stem, 'list'))) !== pkg.listSig || (await lstatSig(this.infoFile(pkg.stem, 'md5sums'))) !== pkg.sumsSig) {
        if (retried) return { reason: `package ${pkg.name}'s files in dpkg's database are changing` };
        if (this.index === index) this.index = undefined;
        return await this.resolve(real, handle ?? own, true);
      }
      let md5: string;
      try {
        md5 = await md5Of((handle ?? own) as FileHandle);
      } catch (e) {
        return { reason: `${shown(real)} could not be checked (${(e as Error).message})` };
      }
      if (md5 !== index.entryMd5[n]) return { reason: `${shown(real)} is not the file package ${pkg.name} installed (its MD5 differs from dpkg's record)` };
      return { publisher: `deb:${pkg.name}`, reason: `${shown(real)} is package ${pkg.name}'s, unmodified` };
    } finally {
      await own?.close();
    }
  }

  /** Builds the index now (the agent, once a policy names a package publisher), so the first elevation does not wait for it. */
  async warm(): Promise<void> {
    await this.current().catch(() => undefined);
  }

  private infoFile(stem: string, kind: 'list' | 'md5sums'): string {
    return path.join(this.adminDir, 'info', `${stem}.${kind}`);
  }

  /** What says whether the database changed (checked on every lookup: four lstat calls). */
  private async signature(): Promise<Sig> {
    const parts = await Promise.all([path.join(this.adminDir, 'info'), path.join(this.adminDir, 'status'), path.join(this.adminDir, 'diversions'), this.root].map(lstatSig));
    return parts.join('|');
  }

  private async current(): Promise<Index> {
    const sig = await this.signature();
    if (this.index && this.index.sig === sig) return this.index;
    if (!this.building) {
      this.building = this.build(sig).finally(() => {
        this.building = undefined;
      });
    }
    const built = await this.building;
    this.index = built;
    return built;
  }

  private async build(sig: Sig): Promise<Index> {
    this.builds++;
    const empty = (broken: string): Index => ({ sig, aliases: new Map(), paths: new Map(), entryPkg: [], entryMd5: [], pkgs: [], diverted: new Set(), broken });
    try {
      return await this.read(sig);
    } catch (e) {
      if (e instanceof DbUnsafe) return empty(e.message);
      return empty(e instanceof Error ? e.message : String(e));
    }
  }

  /** The merged-/usr aliases of the root: `/bin` → `/usr/bin` when /bin is a link to usr/bin, and so on. */
  private async aliases(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const name of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'libo32']) {
      const at = path.join(this.root, name);
      try {
        const st = await fs.lstat(at);
        if (!st.isSymbolicLink() || st.uid !== 0) continue;
        if (!isUsrAlias(name, await fs.readlink(at))) continue;
        if (!(await fs.stat(at)).isDirectory()) continue;
        out.set(`/${name}`, `/usr/${name}`);
      } catch {
        // not there: no alias
      }
    }
    return out;
  }

  private async read(sig: Sig): Promise<Index> {
    // The admin folder and every folder above it, then the info folder.
    for (let dir = this.adminDir; ; dir = path.dirname(dir)) {
      checkFolder(await fs.lstat(dir, { bigint: true }), dir, dir !== this.adminDir);
      if (path.dirname(dir) === dir) break;
    }
    const infoDir = path.join(this.adminDir, 'info');
    checkFolder(await fs.lstat(infoDir, { bigint: true }), infoDir, false);
    const statusFile = await readDbFile(path.join(this.adminDir, 'status'), MAX_STATUS_BYTES);
    if (statusFile === null) throw new DbUnsafe(`${this.adminDir}/status does not exist`);
    const status = parseStatus(statusFile.data);
    if (status === null) throw new DbUnsafe(`${this.adminDir}/status is not one dpkg writes`);
    const divFile = await readDbFile(path.join(this.adminDir, 'diversions'), MAX_INFO_BYTES);
    const diversions = divFile === null ? new Set<string>() : parseDiversions(divFile.data);
    if (diversions === null) throw new DbUnsafe(`${this.adminDir}/diversions is not one dpkg writes`);
    const aliases = await this.aliases();
    const canon = (p: string): string => canonicalPath(p, aliases);

    const pkgs: Pkg[] = [];
    const lists: (string[] | null)[] = [];
    const sums: (Map<string, string> | null)[] = [];
    // Only the info files there are (a package's files are named with or without its architecture).
    const present = new Set(await fs.readdir(infoDir));
    const stems = [...status.installed].filter((s) => present.has(`${s}.list`));
    let total = 0;
    for (let i = 0; i < stems.length; i += PARALLEL) {
      const batch = await Promise.all(
        stems.slice(i, i + PARALLEL).map(async (stem) => {
          const list = await readDbFile(this.infoFile(stem, 'list'), MAX_INFO_BYTES);
          if (list === null) return null;
          const md5 = await readDbFile(this.infoFile(stem, 'md5sums'), MAX_INFO_BYTES);
          return { stem, list, md5 };
        }),
      );
      for (const b of batch) {
        if (b === null) continue;
        total += b.list.data.length + (b.md5?.data.length ?? 0);
        if (total > MAX_TOTAL_BYTES) throw new DbUnsafe(`dpkg's info files hold more than ${MAX_TOTAL_BYTES / 2 ** 20} MiB`);
        const name = b.stem.split(':')[0] as string;
        pkgs.push({ name, stem: b.stem, listSig: b.list.sig, sumsSig: b.md5?.sig ?? '' });
        // A file that is not one dpkg writes: that package's files count for nothing (but are still claimed, below).
        lists.push(parseList(b.list.data));
        sums.push(b.md5 === null ? new Map() : parseMd5sums(b.md5.data));
      }
    }

    const paths = new Map<string, number>();
    const entryPkg: number[] = [];
    const entryMd5: string[] = [];
    /** Every listed path (canonical) → the first package listing it; a second package listing it makes it a conflict. */
    const claimed = new Map<string, string>();
    const add = (p: number, key: string, md5: string): void => {
      const n = paths.get(key);
      if (n === CONFLICT) return;
      if (n !== undefined) {
        // The same package for another architecture (Multi-Arch: same) ships the same bytes; anything else is a conflict.
        if ((pkgs[entryPkg[n] as number] as Pkg).name !== (pkgs[p] as Pkg).name || entryMd5[n] !== md5) paths.set(key, CONFLICT);
        return;
      }
      if (entryPkg.length >= MAX_ENTRIES) throw new DbUnsafe(`dpkg's database lists more than ${MAX_ENTRIES} files`);
      paths.set(key, entryPkg.length);
      entryPkg.push(p);
      entryMd5.push(md5);
    };
    const conflicts: string[] = [];
    for (let p = 0; p < pkgs.length; p++) {
      const list = lists[p];
      const md5s = sums[p];
      if (!list) continue;
      const { stem, name } = pkgs[p] as Pkg;
      for (const file of list) {
        const key = canon(file);
        // A package whose .md5sums is malformed counts for nothing, but its paths are still claimed.
        const md5 = md5s === null || md5s === undefined ? undefined : (md5s.get(file) ?? status.conffiles.get(file)?.find((c) => c.stem === stem)?.md5);
        if (md5 !== undefined) add(p, key, md5);
        const first = claimed.get(key);
        if (first === undefined) claimed.set(key, name);
        else if (first !== name) conflicts.push(key);
      }
    }
    // A path another package lists too (with or without a sum) is claimed twice: refused.
    for (const key of conflicts) if (paths.has(key)) paths.set(key, CONFLICT);
    const diverted = new Set<string>();
    for (const d of diversions) diverted.add(canon(d));
    return { sig, aliases, paths, entryPkg, entryMd5, pkgs, diverted };
  }
}

/** The system's database (/var/lib/dpkg): what the agent and `ascend rules test` use. */
export const systemDpkg = new DpkgDb();

/**
 * `deb:<package>` when the program at `file` (its real path when `handle`, open on it, is
 * given) is that installed package's file, unmodified; otherwise undefined.
 */
export function debPublisherOf(file: string, handle?: FileHandle): Promise<string | undefined> {
  return systemDpkg.publisherOf(file, handle);
}
