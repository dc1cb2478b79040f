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
 * - With an active TSE session and no deny: "allow" with reason "tse" and no controls
 *   (the passcode is the admin's authorisation; allow rules that also match are listed).
 * - Nothing matches, no session: "not-elevated" (the program runs with the user's rights).
 */
import { type Rule, type RuleControl, RULE_CONTROLS } from './model.js';
import { compileWildcard, hasWildcard, matchWildcard, type Wildcard } from './wildcard.js';
import {
  computerForms,
  entryIsQualified,
  isFullPathPattern,
  normalizeArgs,
  normalizePathPattern,
  normalizeRequest,
  principalForms,
  type DecisionRequest,
  type NormalizedRequest,
} from './normalize.js';

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

interface PrincipalMatcher {
  readonly qualified: ReadonlySet<string>;
  readonly bare: ReadonlySet<string>;
}

interface ComputerMatcher {
  readonly full: readonly Wildcard[];
  readonly host: readonly Wildcard[];
  readonly exactFull: ReadonlySet<string>;
  readonly exactHost: ReadonlySet<string>;
}

export interface CompiledRule {
  readonly rule: Rule;
  readonly name: string;
  readonly deny: boolean;
  /** Controls as bits, in RULE_CONTROLS order. */
  readonly mask: number;
  readonly path: PathMatcher | undefined;
  readonly sha256: string | undefined;
  readonly publisher: Wildcard | undefined;
  readonly args: Wildcard | undefined;
  readonly parent: PathMatcher | undefined;
  readonly users: PrincipalMatcher | undefined;
  readonly groups: PrincipalMatcher | undefined;
  readonly computers: ComputerMatcher | undefined;
  readonly collections: ReadonlySet<string> | undefined;
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
}

/** Rules compiled for lookups: every rule sits in exactly one bucket. */
export interface RuleIndex {
  readonly byHash: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Path patterns whose file name is literal, by that name. */
  readonly byFileName: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Full-path patterns with a wildcard in the file name, by their literal folder prefix (ending in `\`). */
  readonly byFolder: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Wildcard file-name patterns by their literal prefix (at most AFFIX characters). */
  readonly byNamePrefix: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Wildcard path patterns by their literal suffix (at most AFFIX characters, no `\`). */
  readonly byNameSuffix: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Rules without a path or hash, by literal publisher. */
  readonly byPublisher: ReadonlyMap<string, readonly CompiledRule[]>;
  /** What no key narrows: checked on every request. */
  readonly residual: readonly CompiledRule[];
  /** The key lengths byNamePrefix and byNameSuffix hold, so a request looks up only those. */
  readonly prefixLengths: readonly number[];
  readonly suffixLengths: readonly number[];
  readonly stats: IndexStats;
}

const AFFIX = 8;

function principals(list: readonly string[] | undefined): PrincipalMatcher | undefined {
  if (!list || list.length === 0) return undefined;
  const qualified = new Set<string>();
  const bare = new Set<string>();
  for (const entry of list) {
    const lower = entry.trim().toLowerCase();
    (entryIsQualified(lower) ? qualified : bare).add(lower);
  }
  return { qualified, bare };
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
  return { full, host, exactFull, exactHost };
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
    rule,
    name: rule.name,
    deny: rule.action === 'deny',
    mask: rule.action === 'deny' ? 0 : maskOf(rule.controls),
    path: pathMatcher(m.path),
    sha256: m.sha256?.toLowerCase(),
    publisher: m.publisher === undefined ? undefined : compileWildcard(m.publisher.trim().toLowerCase()),
    args: m.args === undefined ? undefined : compileWildcard(normalizeArgs(m.args)),
    parent: pathMatcher(m.parent),
    users: principals(t.users),
    groups: principals(t.groups),
    computers: computers(t.computers),
    collections: t.collections && t.collections.length > 0 ? new Set(t.collections.map((c) => c.trim().toLowerCase())) : undefined,
  };
}

function push(map: Map<string, CompiledRule[]>, key: string, rule: CompiledRule): void {
  const list = map.get(key);
  if (list) list.push(rule);
  else map.set(key, [rule]);
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

/** Builds the index; run once per policy change. */
export function compileRules(rules: readonly Rule[]): RuleIndex {
  const byHash = new Map<string, CompiledRule[]>();
  const byFileName = new Map<string, CompiledRule[]>();
  const byFolder = new Map<string, CompiledRule[]>();
  const byNamePrefix = new Map<string, CompiledRule[]>();
  const byNameSuffix = new Map<string, CompiledRule[]>();
  const byPublisher = new Map<string, CompiledRule[]>();
  const residual: CompiledRule[] = [];
  const stats: IndexStats = { rules: rules.length, byHash: 0, byFileName: 0, byFolder: 0, byNamePrefix: 0, byNameSuffix: 0, byPublisher: 0, residual: 0 };
  for (const rule of rules) {
    const c = compileRule(rule);
    if (c.sha256 !== undefined) {
      push(byHash, c.sha256, c);
      stats.byHash++;
      continue;
    }
    if (c.path) {
      const p = c.path.w.pattern;
      const name = p.slice(p.lastIndexOf('\\') + 1);
      if (!hasWildcard(name)) {
        // Every path this pattern matches ends in "\name" (or is "name"), so its file name is name.
        push(byFileName, name, c);
        stats.byFileName++;
        continue;
      }
      if (c.path.full) {
        const prefix = literalPrefix(p);
        const folder = prefix.slice(0, prefix.lastIndexOf('\\') + 1);
        if (folder.length > 0) {
          push(byFolder, folder, c);
          stats.byFolder++;
          continue;
        }
      } else {
        const prefix = literalPrefix(p);
        if (prefix.length > 0) {
          push(byNamePrefix, prefix.slice(0, AFFIX), c);
          stats.byNamePrefix++;
          continue;
        }
      }
      const suffix = literalSuffix(p);
      if (suffix.length > 0 && !suffix.includes('\\')) {
        push(byNameSuffix, suffix.slice(-AFFIX), c);
        stats.byNameSuffix++;
        continue;
      }
    } else if (c.publisher && c.publisher.literal !== undefined) {
      push(byPublisher, c.publisher.literal, c);
      stats.byPublisher++;
      continue;
    }
    residual.push(c);
    stats.residual++;
  }
  const lengths = (m: Map<string, unknown>): number[] => [...new Set([...m.keys()].map((k) => k.length))].sort((a, b) => a - b);
  return { byHash, byFileName, byFolder, byNamePrefix, byNameSuffix, byPublisher, residual, prefixLengths: lengths(byNamePrefix), suffixLengths: lengths(byNameSuffix), stats };
}

// ---- matching ------------------------------------------------------------------------

function pathMatches(m: PathMatcher, full: string | undefined, name: string | undefined): boolean {
  const value = m.full ? full : name;
  return value !== undefined && matchWildcard(m.w, value);
}

function principalMatches(m: PrincipalMatcher, full: readonly string[], short: readonly string[]): boolean {
  if (m.qualified.size > 0) for (const x of full) if (m.qualified.has(x)) return true;
  if (m.bare.size > 0) for (const x of short) if (m.bare.has(x)) return true;
  return false;
}

function computerMatches(m: ComputerMatcher, full: string, host: string): boolean {
  if (m.exactHost.has(host) || m.exactFull.has(full)) return true;
  for (const w of m.host) if (matchWildcard(w, host)) return true;
  for (const w of m.full) if (matchWildcard(w, full)) return true;
  return false;
}

/** Whether a compiled rule matches a normalised request. */
export function compiledRuleMatches(c: CompiledRule, r: NormalizedRequest): boolean {
  if (c.sha256 !== undefined && c.sha256 !== r.sha256) return false;
  if (c.path && !pathMatches(c.path, r.path, r.fileName)) return false;
  if (c.publisher && (r.publisher === undefined || !matchWildcard(c.publisher, r.publisher))) return false;
  if (c.args && !matchWildcard(c.args, r.args)) return false;
  if (c.parent && !pathMatches(c.parent, r.parentPath, r.parentName)) return false;
  if (c.users || c.groups) {
    const who = (c.users !== undefined && principalMatches(c.users, r.userFull, r.userShort)) || (c.groups !== undefined && principalMatches(c.groups, r.groupFull, r.groupShort));
    if (!who) return false;
  }
  if (c.computers || c.collections) {
    let where = c.computers !== undefined && computerMatches(c.computers, r.computerFull, r.computerHost);
    if (!where && c.collections) for (const x of r.collections) if (c.collections.has(x)) { where = true; break; }
    if (!where) return false;
  }
  return true;
}

/** Collects matches while a decision is made. */
class Tally {
  deny: string[] | undefined;
  allow: string[] | undefined;
  mask = 0;

  visit(list: readonly CompiledRule[] | undefined, r: NormalizedRequest): void {
    if (!list) return;
    for (const c of list) {
      if (!compiledRuleMatches(c, r)) continue;
      if (c.deny) (this.deny ??= []).push(c.name);
      else {
        (this.allow ??= []).push(c.name);
        this.mask |= c.mask;
      }
    }
  }
}

function sortedUnique(names: string[]): string[] {
  if (names.length < 2) return names;
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out = [names[0] as string];
  for (let i = 1; i < names.length; i++) if (names[i] !== names[i - 1]) out.push(names[i] as string);
  return out;
}

/** The decision from what matched. */
export function finish(deny: string[] | undefined, allow: string[] | undefined, mask: number, tseActive: boolean): Decision {
  if (deny && deny.length > 0) return { decision: 'deny', controls: [], matchedRules: sortedUnique(deny), reason: 'deny-rule' };
  if (allow && allow.length > 0) {
    if (tseActive) return { decision: 'allow', controls: [], matchedRules: sortedUnique(allow), reason: 'tse' };
    return { decision: 'allow', controls: [...(CONTROLS_BY_MASK[mask] ?? [])], matchedRules: sortedUnique(allow), reason: 'allow-rule' };
  }
  if (tseActive) return { decision: 'allow', controls: [], matchedRules: [], reason: 'tse' };
  return { decision: 'not-elevated', controls: [], matchedRules: [], reason: 'no-match' };
}

/** Decides a request from a compiled index. */
export function decide(index: RuleIndex, request: DecisionRequest): Decision {
  const r = normalizeRequest(request);
  const t = new Tally();
  if (r.sha256 !== undefined && index.byHash.size > 0) t.visit(index.byHash.get(r.sha256), r);
  t.visit(index.byFileName.get(r.fileName), r);
  if (index.byFolder.size > 0) {
    const p = r.path;
    for (let i = p.indexOf('\\'); i >= 0; i = p.indexOf('\\', i + 1)) t.visit(index.byFolder.get(p.slice(0, i + 1)), r);
  }
  const name = r.fileName;
  for (const k of index.prefixLengths) if (k <= name.length) t.visit(index.byNamePrefix.get(name.slice(0, k)), r);
  const p = r.path;
  for (const k of index.suffixLengths) if (k <= p.length) t.visit(index.byNameSuffix.get(p.slice(p.length - k)), r);
  if (r.publisher !== undefined && index.byPublisher.size > 0) t.visit(index.byPublisher.get(r.publisher), r);
  t.visit(index.residual, r);
  return finish(t.deny, t.allow, t.mask, r.tseActive);
}
