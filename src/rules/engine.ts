/**
 * The elevation decision: compileRules() builds an index once per policy change, and
 * decide() answers a request from it with a few map lookups and the checks of the
 * handful of rules those lookups return, not a scan of every rule.
 *
 * Semantics (DESIGN section 6), the same in decide() and in linearDecide():
 * - A rule matches when every application matcher it has matches (path, sha256,
 *   publisher, args, parent), its users-or-groups (when it lists any) include the user
 *   or one of the token's groups, and its computers-or-collections (when it lists any)
 *   include the computer.
 * - Any matching deny rule (every Blacklist rule is one) decides: "deny", whatever else
 *   matches and even inside an active TSE session.
 * - Otherwise matching allow rules decide "allow", and their controls add up: every
 *   control any of them requires must be satisfied (sorted, unique).
 * - Parent-process conditions only ever restrict. The parent runs as the user, so the user
 *   can make any program look like a "trusted launcher" (LD_PRELOAD into it, ptrace, or a
 *   copy run from the right path), and a parent condition can never vouch for a request:
 *   - an allow rule with a parent condition grants nothing on its own: when it matches, its
 *     controls stack onto an allow that a rule without a parent condition grants (and it is
 *     listed with that rule); when no such rule matches it changes nothing;
 *   - a deny rule with a parent condition denies as any deny rule does;
 *   - an unknown parent (a request without parentPath: the agent could not read it, or the
 *     parent had exited) satisfies every parent condition, so deny rules that name a parent
 *     deny and the controls of allow rules that name one apply (fail closed).
 * - With an active TSE session and no deny: "allow" with reason "tse" and no controls
 *   (the passcode is the admin's authorisation; the allow rules that also match are listed
 *   when one of them grants).
 * - Nothing grants, no session: "not-elevated" (the program runs with the user's rights).
 */
import { isDebPublisher, type Rule, type RuleControl, RULE_CONTROLS } from './model.js';
import { compileWildcard, hasWildcard, matchWildcardKnown, matchWildcardSuffix, type Wildcard } from './wildcard.js';
import {
  computerForms,
  entryIsQualified,
  fillRequest,
  isFullPathPattern,
  newRequestScratch,
  normalizeArgs,
  normalizePathPattern,
  type DecisionRequest,
  type NormalizedRequest,
} from './normalize.js';
import { RangeMap } from './range-map.js';

export type DecisionKind = 'allow' | 'deny' | 'not-elevated';
/** Why: a deny rule matched, allow rules matched, a TSE session allows it, or nothing matched. */
export type DecisionReason = 'deny-rule' | 'allow-rule' | 'tse' | 'no-match';

export interface Decision {
  decision: DecisionKind;
  controls: RuleControl[];
  /** Names of the rules that decided, sorted, unique. */
  matchedRules: string[];
  reason: DecisionReason;
}

// ---- compiled rules ------------------------------------------------------------------

interface PathMatcher {
  readonly w: Wildcard;
  /** Matched against the full path; otherwise against the file name. */
  readonly full: boolean;
}

/** Names compared exactly: a short list as an array (a set costs ~100 bytes more per rule), a long one as a set. */
type Names = readonly string[] | ReadonlySet<string>;
const SMALL_NAMES = 8;

function namesOf(set: Set<string> | undefined): Names {
  if (set === undefined) return NO_NAMES;
  return set.size <= SMALL_NAMES ? Object.freeze([...set]) : set;
}

function contains(names: Names, x: string): boolean {
  if (names instanceof Set) return names.has(x);
  const list = names as readonly string[];
  for (let i = 0; i < list.length; i++) if (list[i] === x) return true;
  return false;
}

function sizeOf(names: Names): number {
  return names instanceof Set ? names.size : (names as readonly string[]).length;
}

interface PrincipalMatcher {
  readonly qualified: Names;
  readonly bare: Names;
}

interface ComputerMatcher {
  readonly full: readonly Wildcard[];
  readonly host: readonly Wildcard[];
  readonly exactFull: ReadonlySet<string>;
  readonly exactHost: ReadonlySet<string>;
}

/**
 * A rule as decisions use it. It does not keep the Rule it was compiled from: an agent holds
 * the compiled rules only (10,000 rules in a few MB).
 */
export interface CompiledRule {
  readonly name: string;
  readonly deny: boolean;
  /** An allow rule without a parent condition: it can grant an allow (see the semantics above). */
  readonly grants: boolean;
  /** Controls as bits, in RULE_CONTROLS order. */
  readonly mask: number;
  readonly path: PathMatcher | undefined;
  readonly sha256: string | undefined;
  readonly publisher: Wildcard | undefined;
  /** The publisher pattern names a Debian package (`deb:`): it is matched against the request's debPublisher, never its signer. */
  readonly debPublisher: boolean;
  readonly args: Wildcard | undefined;
  readonly parent: PathMatcher | undefined;
  readonly users: PrincipalMatcher | undefined;
  readonly groups: PrincipalMatcher | undefined;
  readonly computers: ComputerMatcher | undefined;
  readonly collections: ReadonlySet<string> | undefined;
  /** The decision when this rule alone matches (made the first time, then shared), and the same inside a TSE session. */
  alone: Decision | undefined;
  aloneTse: Decision | undefined;
}

/** How many rules sit in each bucket of the index. */
export interface IndexStats {
  rules: number;
  byHash: number;
  byFileName: number;
  byFolder: number;
  byNamePrefix: number;
  byNameSuffix: number;
  byPublisher: number;
  residual: number;
  /** Of those, how many sit in a bucket's argument sub-index (see Bucket.byArgs). */
  byArgs: number;
}

/**
 * The rules under one key of the index. Rules with an args pattern that starts with
 * literal text holding a space are kept apart by that text, up to and including its last
 * space within ARGS_KEY characters: every command line such a rule matches starts with
 * it, so a request looks up only the prefixes of its own arguments that end in a space
 * (e.g. the 150 rules of `net.exe` split by `user 5175 `, `localgroup x `, ...).
 */
export interface Bucket {
  /** Rules no argument prefix narrows: checked whenever the bucket is. */
  readonly rules: readonly CompiledRule[];
  readonly byArgs: RangeMap<readonly CompiledRule[]> | undefined;
}

/** Rules compiled for lookups: every rule sits in exactly one bucket. */
export interface RuleIndex {
  readonly byHash: RangeMap<Bucket>;
  /** Path patterns whose file name is literal, by that name. */
  readonly byFileName: RangeMap<Bucket>;
  /** Full-path patterns with a wildcard in the file name, by their literal folder prefix (ending in `\`). */
  readonly byFolder: RangeMap<Bucket>;
  /** Wildcard file-name patterns by their literal prefix (at most AFFIX characters). */
  readonly byNamePrefix: RangeMap<Bucket>;
  /** Wildcard path patterns by their literal suffix (at most AFFIX characters, no `\`). */
  readonly byNameSuffix: RangeMap<Bucket>;
  /** Rules without a path or hash, by literal publisher. */
  readonly byPublisher: RangeMap<Bucket>;
  /** What no key narrows: checked on every request. */
  readonly residual: Bucket;
  /** The key lengths byNamePrefix and byNameSuffix hold, so a request looks up only those. */
  readonly prefixLengths: readonly number[];
  readonly suffixLengths: readonly number[];
  /** folderLength[n] is 1 when byFolder holds a key of length n: other folders of a path are not looked up. */
  readonly folderLength: Uint8Array;
  readonly stats: IndexStats;
}

const AFFIX = 8;
/** Argument keys are at most this long (so a request looks up at most as many as the spaces in its first ARGS_KEY characters). */
const ARGS_KEY = 64;

/** Shared by every matcher that has none of a kind (a compiled rule holds no empty set of its own). */
const NO_NAMES: readonly string[] = Object.freeze([]);
const NO_SET: ReadonlySet<string> = new Set<string>();
const NO_WILDCARDS: readonly Wildcard[] = Object.freeze([]);

function principals(list: readonly string[] | undefined): PrincipalMatcher | undefined {
  if (!list || list.length === 0) return undefined;
  let qualified: Set<string> | undefined;
  let bare: Set<string> | undefined;
  for (const entry of list) {
    const lower = entry.trim().toLowerCase();
    if (entryIsQualified(lower)) (qualified ??= new Set()).add(lower);
    else (bare ??= new Set()).add(lower);
  }
  return { qualified: namesOf(qualified), bare: namesOf(bare) };
}

function computers(list: readonly string[] | undefined): ComputerMatcher | undefined {
  if (!list || list.length === 0) return undefined;
  const full: Wildcard[] = [];
  const host: Wildcard[] = [];
  const exactFull = new Set<string>();
  const exactHost = new Set<string>();
  for (const entry of list) {
    const p = computerForms(entry).full; // lower case, no DOMAIN\ or $
    const byFull = p.includes('.');
    if (hasWildcard(p)) (byFull ? full : host).push(compileWildcard(p));
    else (byFull ? exactFull : exactHost).add(p);
  }
  return {
    full: full.length > 0 ? full : NO_WILDCARDS,
    host: host.length > 0 ? host : NO_WILDCARDS,
    exactFull: exactFull.size > 0 ? exactFull : NO_SET,
    exactHost: exactHost.size > 0 ? exactHost : NO_SET,
  };
}

function pathMatcher(pattern: string | undefined): PathMatcher | undefined {
  if (pattern === undefined) return undefined;
  const p = normalizePathPattern(pattern);
  return { w: compileWildcard(p), full: isFullPathPattern(p) };
}

function maskOf(controls: readonly RuleControl[]): number {
  let m = 0;
  for (const c of controls) m |= 1 << RULE_CONTROLS.indexOf(c);
  return m;
}

/** The controls of every mask, precomputed (sorted, as RULE_CONTROLS is). */
const CONTROLS_BY_MASK: readonly (readonly RuleControl[])[] = Array.from({ length: 1 << RULE_CONTROLS.length }, (_, m) => RULE_CONTROLS.filter((_c, i) => (m & (1 << i)) !== 0));

export function compileRule(rule: Rule): CompiledRule {
  const m = rule.match;
  const t = rule.target;
  return {
    name: rule.name,
    deny: rule.action === 'deny',
    grants: rule.action === 'allow' && m.parent === undefined,
    mask: rule.action === 'deny' ? 0 : maskOf(rule.controls),
    path: pathMatcher(m.path),
    sha256: m.sha256?.toLowerCase(),
    publisher: m.publisher === undefined ? undefined : compileWildcard(m.publisher.trim().toLowerCase()),
    debPublisher: m.publisher !== undefined && isDebPublisher(m.publisher),
    args: m.args === undefined ? undefined : compileWildcard(normalizeArgs(m.args)),
    parent: pathMatcher(m.parent),
    users: principals(t.users),
    groups: principals(t.groups),
    computers: computers(t.computers),
    collections: t.collections && t.collections.length > 0 ? new Set(t.collections.map((c) => c.trim().toLowerCase())) : undefined,
    alone: undefined,
    aloneTse: undefined,
  };
}

interface BucketBuilder {
  rules: CompiledRule[];
  byArgs: Map<string, CompiledRule[]> | undefined;
}

/** The argument key of a compiled rule (see Bucket), or undefined. */
function argsKeyOf(c: CompiledRule): string | undefined {
  if (c.args === undefined) return undefined;
  const lit = literalPrefix(c.args.pattern);
  const space = lit.lastIndexOf(' ', ARGS_KEY - 1);
  return space < 0 ? undefined : lit.slice(0, space + 1);
}

function addTo(b: BucketBuilder, rule: CompiledRule, stats: IndexStats): void {
  const key = argsKeyOf(rule);
  if (key === undefined) {
    b.rules.push(rule);
    return;
  }
  b.byArgs ??= new Map();
  const list = b.byArgs.get(key);
  if (list) list.push(rule);
  else b.byArgs.set(key, [rule]);
  stats.byArgs++;
}

function push(map: Map<string, BucketBuilder>, key: string, rule: CompiledRule, stats: IndexStats): void {
  let b = map.get(key);
  if (!b) map.set(key, (b = { rules: [], byArgs: undefined }));
  addTo(b, rule, stats);
}

/** The literal text before the first wildcard. */
function literalPrefix(p: string): string {
  let i = 0;
  while (i < p.length && p[i] !== '*' && p[i] !== '?') i++;
  return p.slice(0, i);
}

/** The literal text after the last wildcard. */
function literalSuffix(p: string): string {
  let i = p.length;
  while (i > 0 && p[i - 1] !== '*' && p[i - 1] !== '?') i--;
  return p.slice(i);
}

const NO_RULES: readonly CompiledRule[] = Object.freeze([]);

/** A list as held: exactly its length (a list grown by push keeps room for more), or the shared empty one. */
function exact(list: readonly CompiledRule[]): readonly CompiledRule[] {
  return list.length === 0 ? NO_RULES : list.slice();
}

function sealBucket(b: BucketBuilder): Bucket {
  const byArgs = b.byArgs ? new RangeMap([...b.byArgs].map(([k, list]) => [k, exact(list)] as const)) : undefined;
  return { rules: exact(b.rules), byArgs };
}

function sealed(map: Map<string, BucketBuilder>): RangeMap<Bucket> {
  return new RangeMap([...map].map(([k, b]) => [k, sealBucket(b)] as const));
}

/** Builds the index; run once per policy change. */
export function compileRules(rules: readonly Rule[]): RuleIndex {
  const byHash = new Map<string, BucketBuilder>();
  const byFileName = new Map<string, BucketBuilder>();
  const byFolder = new Map<string, BucketBuilder>();
  const byNamePrefix = new Map<string, BucketBuilder>();
  const byNameSuffix = new Map<string, BucketBuilder>();
  const byPublisher = new Map<string, BucketBuilder>();
  const residual: BucketBuilder = { rules: [], byArgs: undefined };
  const stats: IndexStats = { rules: rules.length, byHash: 0, byFileName: 0, byFolder: 0, byNamePrefix: 0, byNameSuffix: 0, byPublisher: 0, residual: 0, byArgs: 0 };
  for (const rule of rules) {
    const c = compileRule(rule);
    if (c.sha256 !== undefined) {
      push(byHash, c.sha256, c, stats);
      stats.byHash++;
      continue;
    }
    if (c.path) {
      const p = c.path.w.pattern;
      const name = p.slice(p.lastIndexOf('\\') + 1);
      if (!hasWildcard(name)) {
        // Every path this pattern matches ends in "\name" (or is "name"), so its file name is name.
        push(byFileName, name, c, stats);
        stats.byFileName++;
        continue;
      }
      if (c.path.full) {
        const prefix = literalPrefix(p);
        const folder = prefix.slice(0, prefix.lastIndexOf('\\') + 1);
        if (folder.length > 0) {
          push(byFolder, folder, c, stats);
          stats.byFolder++;
          continue;
        }
      } else {
        const prefix = literalPrefix(p);
        if (prefix.length > 0) {
          push(byNamePrefix, prefix.slice(0, AFFIX), c, stats);
          stats.byNamePrefix++;
          continue;
        }
      }
      const suffix = literalSuffix(p);
      if (suffix.length > 0 && !suffix.includes('\\')) {
        push(byNameSuffix, suffix.slice(-AFFIX), c, stats);
        stats.byNameSuffix++;
        continue;
      }
    } else if (c.publisher && c.publisher.literal !== undefined) {
      push(byPublisher, c.publisher.literal, c, stats);
      stats.byPublisher++;
      continue;
    }
    addTo(residual, c, stats);
    stats.residual++;
  }
  const lengths = (m: Map<string, unknown>): number[] => [...new Set([...m.keys()].map((k) => k.length))].sort((a, b) => a - b);
  let longestFolder = 0;
  for (const k of byFolder.keys()) longestFolder = Math.max(longestFolder, k.length);
  const folderLength = new Uint8Array(longestFolder + 1);
  for (const k of byFolder.keys()) folderLength[k.length] = 1;
  return {
    byHash: sealed(byHash),
    byFileName: sealed(byFileName),
    byFolder: sealed(byFolder),
    byNamePrefix: sealed(byNamePrefix),
    byNameSuffix: sealed(byNameSuffix),
    byPublisher: sealed(byPublisher),
    residual: sealBucket(residual),
    prefixLengths: lengths(byNamePrefix),
    suffixLengths: lengths(byNameSuffix),
    folderLength,
    stats,
  };
}

// ---- matching ------------------------------------------------------------------------

/** A path pattern against a path, or against its file name (from nameStart to the end). */
function pathMatches(m: PathMatcher, path: string, nameStart: number, astral: boolean): boolean {
  return m.full ? matchWildcardKnown(m.w, path, astral) : matchWildcardSuffix(m.w, path, nameStart, astral);
}

function principalMatches(m: PrincipalMatcher, full: readonly string[], fullCount: number, short: readonly string[], shortCount: number): boolean {
  if (sizeOf(m.qualified) > 0) for (let i = 0; i < fullCount; i++) if (contains(m.qualified, full[i] as string)) return true;
  if (sizeOf(m.bare) > 0) for (let i = 0; i < shortCount; i++) if (contains(m.bare, short[i] as string)) return true;
  return false;
}

function computerMatches(m: ComputerMatcher, full: string, host: string, astral: boolean): boolean {
  if (m.exactHost.has(host) || m.exactFull.has(full)) return true;
  for (let i = 0; i < m.host.length; i++) if (matchWildcardKnown(m.host[i] as Wildcard, host, astral)) return true;
  for (let i = 0; i < m.full.length; i++) if (matchWildcardKnown(m.full[i] as Wildcard, full, astral)) return true;
  return false;
}

function collectionMatches(set: ReadonlySet<string>, collections: readonly string[], count: number): boolean {
  for (let i = 0; i < count; i++) if (set.has(collections[i] as string)) return true;
  return false;
}

/** Whether a compiled rule matches a normalised request. */
export function compiledRuleMatches(c: CompiledRule, r: NormalizedRequest): boolean {
  const astral = r.astral;
  if (c.sha256 !== undefined && c.sha256 !== r.sha256) return false;
  if (c.path !== undefined && !pathMatches(c.path, r.path, r.nameStart, astral)) return false;
  if (c.publisher !== undefined) {
    // A package pattern (deb:) meets only the package, a signer pattern only the signer.
    const pub = c.debPublisher ? r.debPublisher : r.publisher;
    if (pub === undefined || !matchWildcardKnown(c.publisher, pub, astral)) return false;
  }
  if (c.args !== undefined && !matchWildcardKnown(c.args, r.args, astral)) return false;
  // An unknown parent satisfies a parent condition: such conditions only restrict (fail closed).
  if (c.parent !== undefined && r.parentPath !== undefined && !pathMatches(c.parent, r.parentPath, r.parentNameStart, astral)) return false;
  if (c.users !== undefined || c.groups !== undefined) {
    const who =
      (c.users !== undefined && principalMatches(c.users, r.userFull, r.userFullCount, r.userShort, r.userShortCount)) ||
      (c.groups !== undefined && principalMatches(c.groups, r.groupFull, r.groupFullCount, r.groupShort, r.groupShortCount));
    if (!who) return false;
  }
  if (c.computers !== undefined || c.collections !== undefined) {
    const where =
      (c.computers !== undefined && computerMatches(c.computers, r.computerFull, r.computerHost, astral)) ||
      (c.collections !== undefined && collectionMatches(c.collections, r.collections, r.collectionCount));
    if (!where) return false;
  }
  return true;
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The names sorted and unique, always in a new array (the input is left as it was, or sorted). */
function sortedUnique(names: string[]): string[] {
  const n = names.length;
  if (n === 0) return [];
  if (n === 1) return [names[0] as string];
  names.sort(byCodeUnit);
  const out = [names[0] as string];
  for (let i = 1; i < n; i++) if (names[i] !== names[i - 1]) out.push(names[i] as string);
  return out;
}

/**
 * The decision from what matched (the name lists may be sorted in place; the decision gets
 * its own arrays). `granted`: an allow rule without a parent condition is among `allow`;
 * without one the allow rules only carry controls and decide nothing.
 */
export function finish(deny: string[] | undefined, allow: string[] | undefined, mask: number, tseActive: boolean, granted: boolean): Decision {
  if (deny && deny.length > 0) return { decision: 'deny', controls: [], matchedRules: sortedUnique(deny), reason: 'deny-rule' };
  if (granted && allow && allow.length > 0) {
    if (tseActive) return { decision: 'allow', controls: [], matchedRules: sortedUnique(allow), reason: 'tse' };
    return { decision: 'allow', controls: [...(CONTROLS_BY_MASK[mask] ?? [])], matchedRules: sortedUnique(allow), reason: 'allow-rule' };
  }
  if (tseActive) return { decision: 'allow', controls: [], matchedRules: [], reason: 'tse' };
  return { decision: 'not-elevated', controls: [], matchedRules: [], reason: 'no-match' };
}

// What matched while one decision is made. decide() runs start to finish synchronously
// (nothing in it yields or calls back out), so one request scratch and one set of lists
// serve every call in this thread without allocating; finish() copies what it keeps.
const scratch = newRequestScratch();
// Filled by index up to their counts, never shortened (a shortened array gives up its storage).
const matchedDeny: string[] = [];
const matchedAllow: string[] = [];
let denyCount = 0;
let allowCount = 0;
let matchedMask = 0;
let matchedGrant = false;
/** The last deny and allow rules that matched: when one alone decides, its shared decision is the answer. */
let lastDeny: CompiledRule | undefined;
let lastAllow: CompiledRule | undefined;

function visitList(list: readonly CompiledRule[], r: NormalizedRequest): void {
  for (let i = 0; i < list.length; i++) {
    const c = list[i] as CompiledRule;
    if (!compiledRuleMatches(c, r)) continue;
    if (c.deny) {
      matchedDeny[denyCount++] = c.name;
      lastDeny = c;
    } else {
      matchedAllow[allowCount++] = c.name;
      lastAllow = c;
      matchedMask |= c.mask;
      if (c.grants) matchedGrant = true;
    }
  }
}

function visit(b: Bucket | undefined, r: NormalizedRequest): void {
  if (b === undefined) return;
  if (b.rules.length > 0) visitList(b.rules, r);
  const byArgs = b.byArgs;
  if (byArgs === undefined) return;
  const a = r.args;
  for (let j = a.indexOf(' '); j >= 0 && j < ARGS_KEY; j = a.indexOf(' ', j + 1)) {
    const list = byArgs.get(a, 0, j + 1);
    if (list !== undefined) visitList(list, r);
  }
}

/** Frozen: decisions are shared between calls (a caller that changed one would change them all). */
function frozen(d: Decision): Decision {
  Object.freeze(d.controls);
  Object.freeze(d.matchedRules);
  return Object.freeze(d);
}

const NOT_ELEVATED = frozen({ decision: 'not-elevated', controls: [], matchedRules: [], reason: 'no-match' });
const TSE_ALONE = frozen({ decision: 'allow', controls: [], matchedRules: [], reason: 'tse' });

/** The decision of one rule matching alone, made once per rule. */
function aloneDecision(c: CompiledRule, tseActive: boolean): Decision {
  if (c.deny) return (c.alone ??= frozen({ decision: 'deny', controls: [], matchedRules: [c.name], reason: 'deny-rule' }));
  if (tseActive) return (c.aloneTse ??= frozen({ decision: 'allow', controls: [], matchedRules: [c.name], reason: 'tse' }));
  return (c.alone ??= frozen({ decision: 'allow', controls: [...(CONTROLS_BY_MASK[c.mask] ?? [])], matchedRules: [c.name], reason: 'allow-rule' }));
}

/**
 * The decision from what one call matched. The common answers (nothing matched, one rule
 * matched) are shared frozen objects: a decision allocates nothing then.
 */
function decided(tseActive: boolean): Decision {
  const nd = denyCount;
  const na = allowCount;
  if (nd === 1 && lastDeny !== undefined) return aloneDecision(lastDeny, tseActive);
  if (nd === 0) {
    // No allow rule that grants: as finish() says, only a TSE session allows then.
    if (na === 0 || !matchedGrant) return tseActive ? TSE_ALONE : NOT_ELEVATED;
    if (na === 1 && matchedGrant && lastAllow !== undefined) return aloneDecision(lastAllow, tseActive);
  }
  return frozen(finish(matchedDeny.slice(0, nd), matchedAllow.slice(0, na), matchedMask, tseActive, matchedGrant));
}

/**
 * Decides a request from a compiled index. The answer is frozen (it may be shared with other
 * calls). For a request in the compared form (see fillRequest) nothing is allocated when no
 * rule or one rule matches: lookups go by ranges of the request's strings, not slices.
 */
export function decide(index: RuleIndex, request: DecisionRequest): Decision {
  const r = fillRequest(scratch, request, false);
  denyCount = 0;
  allowCount = 0;
  matchedMask = 0;
  matchedGrant = false;
  lastDeny = undefined;
  lastAllow = undefined;
  const sha = r.sha256;
  if (sha !== undefined && index.byHash.size > 0) visit(index.byHash.get(sha, 0, sha.length), r);
  const p = r.path;
  const nameStart = r.nameStart;
  visit(index.byFileName.get(p, nameStart, p.length), r);
  if (index.byFolder.size > 0) {
    const lengths = index.folderLength;
    for (let i = p.indexOf('\\'); i >= 0 && i < lengths.length - 1; i = p.indexOf('\\', i + 1)) {
      if (lengths[i + 1] === 1) visit(index.byFolder.get(p, 0, i + 1), r);
    }
  }
  const nameLength = p.length - nameStart;
  const pre = index.prefixLengths;
  for (let i = 0; i < pre.length; i++) {
    const k = pre[i] as number;
    if (k <= nameLength) visit(index.byNamePrefix.get(p, nameStart, nameStart + k), r);
  }
  const suf = index.suffixLengths;
  for (let i = 0; i < suf.length; i++) {
    const k = suf[i] as number;
    if (k <= p.length) visit(index.byNameSuffix.get(p, p.length - k, p.length), r);
  }
  const pub = r.publisher;
  if (pub !== undefined && index.byPublisher.size > 0) visit(index.byPublisher.get(pub, 0, pub.length), r);
  const deb = r.debPublisher;
  if (deb !== undefined && deb !== pub && index.byPublisher.size > 0) visit(index.byPublisher.get(deb, 0, deb.length), r);
  visit(index.residual, r);
  const d = decided(r.tseActive);
  denyCount = 0;
  allowCount = 0;
  lastDeny = undefined;
  lastAllow = undefined;
  return d;
}
