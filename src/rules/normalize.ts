/**
 * How the parts of an elevation request and of a rule are brought to one form before
 * they are compared: Windows paths, command lines, account and computer names. Windows
 * compares names case-insensitively, so everything is lower-cased here (toLowerCase,
 * which agrees with Windows' case folding for the characters paths and names use).
 */

/** What an agent asks about: who starts what, where, and whether a TSE session is active. */
export interface DecisionRequest {
  /** The user: DOMAIN\name, name, name@domain, or a SID. */
  readonly user: string;
  /** The user's SID, when known besides the name. */
  readonly userSid?: string;
  /** The groups of the user's token: names (DOMAIN\name or name) or SIDs. */
  readonly groups?: readonly string[];
  /** The computer: host name, DNS name, or DOMAIN\NAME$. */
  readonly computer: string;
  /**
   * The collections the computer belongs to. Collections are named groups of computers
   * that the engine does not resolve: the agent's configuration (or `ascend rules test
   * --collection`) says which ones this computer is in.
   */
  readonly collections?: readonly string[];
  /** The program's full path. */
  readonly path: string;
  /** The command line after the program (its arguments), as Windows passes it. */
  readonly args?: string;
  /** SHA-256 of the program file, hex. */
  readonly sha256?: string;
  /** The publisher (signer name) of a signed program. */
  readonly publisher?: string;
  /**
   * The Debian package the program verifiably came from, as `deb:<package>` (Linux: its file is
   * that installed package's, unmodified; src/deb/dpkg-db.ts). Matched by `deb:` publisher
   * patterns only, as `publisher` is by the others; a value without the `deb:` prefix is ignored.
   */
  readonly debPublisher?: string;
  /**
   * The parent process's full path. Absent (or empty) means unknown: every parent condition
   * is then taken as met, so deny rules that name a parent deny (fail closed; engine.ts).
   */
  readonly parentPath?: string;
  /** A Temporary Session Elevation is active for the user. */
  readonly tseActive?: boolean;
}

/**
 * A Windows path in one form: `/` as `\`, the `\\?\` and `\??\` prefixes removed (`\\?\UNC\`
 * as `\\`), repeated separators as one, `.` segments dropped and `..` taken back (never
 * above the drive or share), lower case. So `C:/Windows//System32/../System32/NET.EXE`
 * is `c:\windows\system32\net.exe`.
 */
export function normalizePath(path: string): string {
  // Most paths an agent sees are canonical already: then lower case is all there is to do.
  if (
    path.indexOf('/') < 0 &&
    path.indexOf('\\\\', 1) < 0 &&
    path.indexOf('\\.') < 0 &&
    !path.startsWith('.') &&
    !path.endsWith('\\') &&
    !path.startsWith('\\\\?') &&
    !path.startsWith('\\??')
  ) {
    return lower(path);
  }
  let p = path.replace(/\//g, '\\');
  if (/^\\\\\?\\unc\\/i.test(p)) p = `\\\\${p.slice(8)}`;
  else if (p.startsWith('\\\\?\\') || p.startsWith('\\??\\')) p = p.slice(4);
  p = p.toLowerCase();
  const unc = p.startsWith('\\\\');
  const lead = unc ? '\\\\' : p.startsWith('\\') ? '\\' : '';
  const parts = p.slice(lead.length).split('\\');
  const out: string[] = [];
  // The root that `..` never climbs above: the drive ("c:") or the UNC server and share.
  const fixed = unc ? 2 : /^[a-z]:$/.test(parts[0] ?? '') ? 1 : 0;
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > fixed) out.pop();
      continue;
    }
    out.push(part);
  }
  return lead + out.join('\\');
}

/** The last segment of a normalised path. */
export function fileNameOf(normalizedPath: string): string {
  return normalizedPath.slice(normalizedPath.lastIndexOf('\\') + 1);
}

/**
 * A path pattern in one form: `/` as `\`, repeated separators as one (a leading `\\` of a
 * UNC pattern kept), lower case. Wildcards stay as they are; `.` and `..` are not resolved.
 */
export function normalizePathPattern(pattern: string): string {
  const p = pattern.replace(/\//g, '\\').toLowerCase();
  const lead = p.startsWith('\\\\') ? '\\\\' : '';
  return lead + p.slice(lead.length).replace(/\\{2,}/g, '\\');
}

/** Whether a (normalised) path pattern names a full path rather than a file name. */
export function isFullPathPattern(normalizedPattern: string): boolean {
  return normalizedPattern.includes('\\');
}

/**
 * A command line's arguments in one form: split as Windows programs split them
 * (CommandLineToArgvW: blanks separate arguments outside double quotes; quotes are
 * removed; 2n backslashes before a quote are n backslashes and the quote counts, 2n+1 are
 * n and a literal quote; other backslashes are literal), then joined by single spaces
 * and lower-cased. `net  localgroup "Administrators" x` becomes
 * `localgroup administrators x`, so extra blanks or quotes cannot slip past a pattern.
 * Patterns are normalised the same way (their `*` and `?` pass through).
 */
export function normalizeArgs(args: string | undefined): string {
  if (args === undefined) return '';
  // Without quotes, backslashes are literal and only blanks split; when the blanks are
  // single spaces between tokens already, splitting and joining gives the text back.
  if (
    args.indexOf('"') < 0 &&
    args.indexOf('  ') < 0 &&
    args.indexOf('\t') < 0 &&
    args.indexOf('\n') < 0 &&
    args.indexOf('\r') < 0 &&
    !args.startsWith(' ') &&
    !args.endsWith(' ')
  ) {
    return lower(args);
  }
  return normalizeArgsByTokens(args);
}

/** normalizeArgs without its shortcut: the full CommandLineToArgvW split (exported for the tests). */
export function normalizeArgsByTokens(args: string): string {
  const tokens: string[] = [];
  let cur = '';
  let inToken = false;
  let quoted = false;
  let i = 0;
  const n = args.length;
  while (i < n) {
    const c = args[i] as string;
    if (c === '\\') {
      let k = i;
      while (k < n && args[k] === '\\') k++;
      const count = k - i;
      if (args[k] === '"') {
        cur += '\\'.repeat(count >> 1);
        inToken = true;
        if (count % 2 === 1) {
          cur += '"';
          i = k + 1;
        } else {
          i = k; // the quote is handled below
        }
      } else {
        cur += '\\'.repeat(count);
        inToken = true;
        i = k;
      }
      continue;
    }
    if (c === '"') {
      // Inside quotes, "" is a literal quote (as the C runtime reads it).
      if (quoted && args[i + 1] === '"') {
        cur += '"';
        i += 2;
        continue;
      }
      quoted = !quoted;
      inToken = true;
      i++;
      continue;
    }
    if (!quoted && (c === ' ' || c === '\t' || c === '\n' || c === '\r')) {
      if (inToken) tokens.push(cur);
      cur = '';
      inToken = false;
      i++;
      continue;
    }
    cur += c;
    inToken = true;
    i++;
  }
  if (inToken) tokens.push(cur);
  return tokens.join(' ').toLowerCase();
}

const SID = /^s-1-/i;

export function isSidLike(text: string): boolean {
  return SID.test(text);
}

/**
 * An account name's forms for matching: the full form (lower case; a SID as is) and the
 * bare account name (`corp\bob` and `bob@corp.example` give `bob`; a bare name is its own).
 */
export function principalForms(name: string): { full: string; short: string | undefined } {
  const full = name.trim().toLowerCase();
  return { full, short: shortForm(full) };
}

/** The bare account name of a full form (lower case already); none for a SID. */
function shortForm(full: string): string | undefined {
  if (full.startsWith('s-1-')) return undefined; // isSidLike, on lower-case text
  const slash = full.lastIndexOf('\\');
  if (slash >= 0) return full.slice(slash + 1);
  const at = full.indexOf('@');
  if (at > 0) return full.slice(0, at);
  return full;
}

/**
 * Whether a rule's principal entry (lower case) is compared with the full forms (a SID,
 * DOMAIN\name, name@domain) or with the bare account names (a bare name matches the
 * account in any domain).
 */
export function entryIsQualified(entryLower: string): boolean {
  return isSidLike(entryLower) || entryLower.includes('\\') || entryLower.includes('@');
}

/** A computer name's forms: the full name and the host name (before the first dot), lower case, without DOMAIN\ and a trailing $. */
export function computerForms(name: string): { full: string; host: string } {
  let full = name.trim().toLowerCase();
  const slash = full.lastIndexOf('\\');
  if (slash >= 0) full = full.slice(slash + 1);
  if (full.endsWith('$')) full = full.slice(0, -1);
  const dot = full.indexOf('.');
  return { full, host: dot > 0 ? full.slice(0, dot) : full };
}

/** The request in the compared form, computed once per decision. */
export interface NormalizedRequest {
  readonly path: string;
  readonly fileName: string;
  /** Where the file name starts in path. */
  readonly nameStart: number;
  readonly args: string;
  readonly sha256: string | undefined;
  readonly publisher: string | undefined;
  readonly debPublisher: string | undefined;
  readonly parentPath: string | undefined;
  readonly parentName: string | undefined;
  readonly parentNameStart: number;
  /** The user's full forms (name and SIDs) and bare names (short lists: arrays beat sets here). */
  readonly userFull: readonly string[];
  readonly userShort: readonly string[];
  readonly groupFull: readonly string[];
  readonly groupShort: readonly string[];
  readonly computerFull: string;
  readonly computerHost: string;
  readonly collections: readonly string[];
  /**
   * How many entries of each list count. decide() refills one request's lists in place and
   * never shortens them (a shortened array gives up its storage, and refilling it allocates);
   * entries past the count are left from an earlier request. A new request's are its lengths.
   */
  readonly userFullCount: number;
  readonly userShortCount: number;
  readonly groupFullCount: number;
  readonly groupShortCount: number;
  readonly collectionCount: number;
  readonly tseActive: boolean;
  /**
   * Whether a field matched against wildcards (path, args, publisher, parent path,
   * computer) holds a UTF-16 surrogate: then matching goes per code point. Checked here,
   * once per request, rather than once per rule compared.
   */
  readonly astral: boolean;
}

/**
 * `s` lower-cased: `s` itself when it is lower-case ASCII already (toLowerCase makes a new
 * string even then, and decide() allocates nothing for a request in the compared form).
 */
function lower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || (c >= 65 && c <= 90)) return s.toLowerCase();
  }
  return s;
}

/** `s` trimmed: `s` itself when it starts and ends with printable ASCII other than a blank. */
function trimmed(s: string): string {
  const n = s.length;
  if (n === 0) return s;
  const a = s.charCodeAt(0);
  const b = s.charCodeAt(n - 1);
  return a > 32 && a < 127 && b > 32 && b < 127 ? s : s.trim();
}

function hasSurrogateUnit(s: string): boolean {
  for (let i = 0; i < s.length; i++) if ((s.charCodeAt(i) & 0xf800) === 0xd800) return true;
  return false;
}

/** The request being normalised into: NormalizedRequest with its fields writable and its lists reused. */
export interface RequestScratch extends NormalizedRequest {
  path: string;
  fileName: string;
  nameStart: number;
  args: string;
  sha256: string | undefined;
  publisher: string | undefined;
  debPublisher: string | undefined;
  parentPath: string | undefined;
  parentName: string | undefined;
  parentNameStart: number;
  userFull: string[];
  userShort: string[];
  groupFull: string[];
  groupShort: string[];
  computerFull: string;
  computerHost: string;
  collections: string[];
  userFullCount: number;
  userShortCount: number;
  groupFullCount: number;
  groupShortCount: number;
  collectionCount: number;
  tseActive: boolean;
  astral: boolean;
}

export function newRequestScratch(): RequestScratch {
  return {
    path: '',
    fileName: '',
    nameStart: 0,
    args: '',
    sha256: undefined,
    publisher: undefined,
    debPublisher: undefined,
    parentPath: undefined,
    parentName: undefined,
    parentNameStart: 0,
    userFull: [],
    userShort: [],
    groupFull: [],
    groupShort: [],
    computerFull: '',
    computerHost: '',
    collections: [],
    userFullCount: 0,
    userShortCount: 0,
    groupFullCount: 0,
    groupShortCount: 0,
    collectionCount: 0,
    tseActive: false,
    astral: false,
  };
}

// The computer is the same in every request an agent makes: its forms are kept for the last name seen.
let lastComputer: string | undefined;
let lastComputerForms: { full: string; host: string } = { full: '', host: '' };

/**
 * Fills `out` with the request in the compared form. `names`: also cut out the file names
 * (fileName, parentName); decide() leaves them empty and matches by nameStart and
 * parentNameStart instead. For a request already in the compared form (lower case, `\`
 * separators, single-spaced arguments, names without blanks around them, the computer of the
 * request before) this allocates nothing: its strings are used as they are and the lists of
 * `out` are refilled.
 */
export function fillRequest(out: RequestScratch, r: DecisionRequest, names: boolean): RequestScratch {
  const path = normalizePath(r.path);
  const parentPath = r.parentPath === undefined || r.parentPath === '' ? undefined : normalizePath(r.parentPath);
  const args = normalizeArgs(r.args);
  const publisher = r.publisher === undefined ? undefined : lower(trimmed(r.publisher));
  let debPublisher = r.debPublisher === undefined ? undefined : lower(trimmed(r.debPublisher));
  if (debPublisher !== undefined && !debPublisher.startsWith('deb:')) debPublisher = undefined;
  const user = lower(trimmed(r.user));
  const userShortForm = shortForm(user);
  // Written by index up to a count, never shortened (see NormalizedRequest.userFullCount).
  let nf = 0;
  let ns = 0;
  out.userFull[nf++] = user;
  if (r.userSid !== undefined) out.userFull[nf++] = lower(trimmed(r.userSid));
  if (userShortForm !== undefined) out.userShort[ns++] = userShortForm;
  out.userFullCount = nf;
  out.userShortCount = ns;
  let gf = 0;
  let gs = 0;
  const groups = r.groups;
  if (groups !== undefined) {
    for (let i = 0; i < groups.length; i++) {
      const full = lower(trimmed(groups[i] as string));
      out.groupFull[gf++] = full;
      const short = shortForm(full);
      if (short !== undefined) out.groupShort[gs++] = short;
    }
  }
  out.groupFullCount = gf;
  out.groupShortCount = gs;
  if (r.computer !== lastComputer) {
    lastComputerForms = computerForms(r.computer);
    lastComputer = r.computer;
  }
  const c = lastComputerForms;
  const cs = r.collections;
  let nc = 0;
  if (cs !== undefined) for (let i = 0; i < cs.length; i++) out.collections[nc++] = lower(trimmed(cs[i] as string));
  out.collectionCount = nc;
  out.path = path;
  out.nameStart = path.lastIndexOf('\\') + 1;
  out.fileName = names ? path.slice(out.nameStart) : '';
  out.args = args;
  out.sha256 = r.sha256 === undefined ? undefined : lower(trimmed(r.sha256));
  out.publisher = publisher;
  out.debPublisher = debPublisher;
  out.parentPath = parentPath;
  out.parentNameStart = parentPath === undefined ? 0 : parentPath.lastIndexOf('\\') + 1;
  out.parentName = names && parentPath !== undefined ? parentPath.slice(out.parentNameStart) : undefined;
  out.computerFull = c.full;
  out.computerHost = c.host;
  out.tseActive = r.tseActive === true;
  out.astral =
    hasSurrogateUnit(path) ||
    hasSurrogateUnit(args) ||
    (publisher !== undefined && hasSurrogateUnit(publisher)) ||
    (debPublisher !== undefined && hasSurrogateUnit(debPublisher)) ||
    (parentPath !== undefined && hasSurrogateUnit(parentPath)) ||
    hasSurrogateUnit(c.full);
  return out;
}

/** The request in the compared form, in a new object (linearDecide, tests). */
export function normalizeRequest(r: DecisionRequest): NormalizedRequest {
  return fillRequest(newRequestScratch(), r, true);
}
