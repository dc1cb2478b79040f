/**
 * dpkg's database, as text: the pure parsers behind ./dpkg-db.ts. Each takes the bytes of one
 * database file and answers what it says, or null when the file is not one dpkg writes
 * (a NUL, a line longer than any path dpkg keeps, bytes that are not UTF-8, a malformed
 * field): the caller then counts nothing from it (fail closed).
 *
 * - `<pkg>[:arch].list`: one absolute path per line, every file and folder the package installed.
 * - `<pkg>[:arch].md5sums`: `<32 hex>  <path without the leading />` per line, its regular files.
 * - `status`: RFC 822 stanzas; the installed packages, and the MD5 of each conffile
 *   (` /etc/x <md5>` lines of `Conffiles:`; `obsolete` or `remove-on-upgrade` ones are not counted).
 * - `diversions`: three lines per diversion: the diverted path, where the package's file went, the diverting package.
 */

/** A line longer than this is not one dpkg wrote (PATH_MAX plus a checksum). */
export const MAX_LINE = 4096 + 40;
/** In `status`, fields such as Build-Ids and Depends run long: its lines are capped at this. */
export const MAX_STATUS_LINE = 1 << 20;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The file's lines (without `\n`), or null when it holds a NUL, a line over MAX_LINE or bytes that are not UTF-8. */
export function linesOf(buf: Uint8Array, maxLine = MAX_LINE): string[] | null {
  if (buf.indexOf(0) >= 0) return null;
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch {
    return null;
  }
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (const l of lines) if (l.length > maxLine || l.includes('\r')) return null;
  return lines;
}

/** A path as dpkg records it: absolute, no empty, `.` or `..` segment, no trailing `/` (but `/` itself). */
export function isDpkgPath(p: string): boolean {
  if (p === '/.' || p === '/') return true;
  if (!p.startsWith('/') || p.endsWith('/')) return false;
  // No empty, `.` or `..` segment (checked without splitting: a database holds ~10^5 paths).
  return !(p.includes('//') || p.includes('/./') || p.includes('/../') || p.endsWith('/.') || p.endsWith('/..'));
}

/** A `.list` file: its paths (dpkg lists `/.` for the root), or null when malformed. */
export function parseList(buf: Uint8Array): string[] | null {
  const lines = linesOf(buf);
  if (lines === null) return null;
  for (const l of lines) if (!isDpkgPath(l)) return null;
  return lines;
}

const MD5_LINE = /^([0-9a-f]{32}) {2}(.+)$/;

/** A `.md5sums` file: absolute path → md5 (lower-case hex), or null when malformed. */
export function parseMd5sums(buf: Uint8Array): Map<string, string> | null {
  const lines = linesOf(buf);
  if (lines === null) return null;
  const out = new Map<string, string>();
  for (const l of lines) {
    const m = MD5_LINE.exec(l);
    if (!m) return null;
    const p = `/${m[2] as string}`;
    if (!isDpkgPath(p) || p === '/') return null;
    // The same path twice with different sums: not a file dpkg wrote.
    const before = out.get(p);
    if (before !== undefined && before !== m[1]) return null;
    out.set(p, m[1] as string);
  }
  return out;
}

/** A package name as dpkg allows it (Debian Policy 5.6.1), lower case. */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const ARCH = /^[a-z0-9][a-z0-9-]*$/;

/** `<pkg>` or `<pkg>:<arch>` (an info file's stem) → the package name, or null. */
export function packageOfStem(stem: string): string | null {
  const colon = stem.indexOf(':');
  const name = colon < 0 ? stem : stem.slice(0, colon);
  if (!PACKAGE_NAME.test(name)) return null;
  if (colon >= 0 && !ARCH.test(stem.slice(colon + 1))) return null;
  return name;
}

export interface StatusInfo {
  /** Stems (`pkg` or `pkg:arch`, as the info files are named) of the packages installed. */
  installed: Set<string>;
  /** Conffile path → the stems of the installed packages that hold it, with their md5. */
  conffiles: Map<string, { stem: string; md5: string }[]>;
}

/**
 * The `status` file: which packages are installed (`Status: <want> ok installed`), and the
 * md5 of their conffiles. Null when a stanza is malformed. A Multi-Arch: same package's info
 * files carry its architecture (`pkg:arch.list`); others do not: both stems are recorded.
 */
export function parseStatus(buf: Uint8Array): StatusInfo | null {
  const lines = linesOf(buf, MAX_STATUS_LINE);
  if (lines === null) return null;
  const installed = new Set<string>();
  const conffiles = new Map<string, { stem: string; md5: string }[]>();
  let pkg: string | undefined;
  let arch: string | undefined;
  let ok = false;
  let confs: { path: string; md5: string }[] = [];
  let inConffiles = false;
  const end = (): boolean => {
    if (pkg !== undefined && ok) {
      if (!PACKAGE_NAME.test(pkg) || (arch !== undefined && !ARCH.test(arch))) return false;
      const stems = arch !== undefined && arch !== 'all' ? [pkg, `${pkg}:${arch}`] : [pkg];
      for (const s of stems) installed.add(s);
      for (const c of confs) {
        const list = conffiles.get(c.path) ?? [];
        for (const s of stems) list.push({ stem: s, md5: c.md5 });
        conffiles.set(c.path, list);
      }
    }
    pkg = undefined;
    arch = undefined;
    ok = false;
    confs = [];
    inConffiles = false;
    return true;
  };
  for (const l of lines) {
    if (l === '') {
      if (!end()) return null;
      continue;
    }
    if (l.startsWith(' ') || l.startsWith('\t')) {
      if (!inConffiles) continue;
      const parts = l.trim().split(' ');
      // " /etc/x <md5>" or with a flag after it (obsolete, remove-on-upgrade): not counted.
      if (parts.length < 2) return null;
      const [p, md5] = parts as [string, string];
      if (!isDpkgPath(p)) return null;
      if (parts.length === 2 && /^[0-9a-f]{32}$/.test(md5)) confs.push({ path: p, md5 });
      continue;
    }
    const colon = l.indexOf(':');
    if (colon <= 0) return null;
    const field = l.slice(0, colon).toLowerCase();
    const value = l.slice(colon + 1).trim();
    inConffiles = field === 'conffiles';
    if (field === 'package') {
      if (pkg !== undefined) return null;
      pkg = value;
    } else if (field === 'architecture') arch = value;
    else if (field === 'status') {
      const w = value.split(/\s+/);
      ok = w.length === 3 && w[1] === 'ok' && w[2] === 'installed';
    }
  }
  if (!end()) return null;
  return { installed, conffiles };
}

/** The `diversions` file: every path a diversion touches (the diverted one and where it went), or null when malformed. */
export function parseDiversions(buf: Uint8Array): Set<string> | null {
  const lines = linesOf(buf);
  if (lines === null || lines.length % 3 !== 0) return null;
  const out = new Set<string>();
  for (let i = 0; i < lines.length; i += 3) {
    const from = lines[i] as string;
    const to = lines[i + 1] as string;
    if (!isDpkgPath(from) || !isDpkgPath(to)) return null;
    out.add(from);
    out.add(to);
  }
  return out;
}

/**
 * The merged-/usr aliases a system has: top-level links such as /bin → usr/bin. `aliases`
 * maps the alias (`/bin`) to its target (`/usr/bin`). `canonical` gives the one path both
 * spellings of a file share: the target form (dpkg lists `/bin/ls`, the file is `/usr/bin/ls`).
 */
export function canonicalPath(p: string, aliases: ReadonlyMap<string, string>): string {
  const slash = p.indexOf('/', 1);
  const top = slash < 0 ? p : p.slice(0, slash);
  const target = aliases.get(top);
  return target === undefined ? p : target + (slash < 0 ? '' : p.slice(slash));
}

/** Whether a link at `/<name>` whose text is `text` is a merged-/usr alias (`usr/<name>` or `/usr/<name>`). */
export function isUsrAlias(name: string, text: string): boolean {
  return /^(bin|sbin|lib|lib32|lib64|libx32|libo32)$/.test(name) && (text === `usr/${name}` || text === `/usr/${name}`);
}
