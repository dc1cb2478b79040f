/**
 * The reference decision: a plain scan of every rule with the semantics of engine.ts,
 * written separately (its own wildcard matcher, no index, no precompiled matchers) so the
 * tests can hold decide() against it as an oracle and the benchmark can time it as the
 * baseline. Only the lower-cased forms of each rule's fields are cached (per rule object),
 * as any sensible scan would.
 */
import { isDebPublisher, RULE_CONTROLS, type Rule } from './model.js';
import { finish, type Decision } from './engine.js';
import { computerForms, entryIsQualified, isFullPathPattern, normalizeArgs, normalizePathPattern, normalizeRequest, type DecisionRequest, type NormalizedRequest } from './normalize.js';

/**
 * Whether `value` matches `pattern` (`*` any run, `?` one character; both lower case):
 * the textbook dynamic programme over the two strings, per code point.
 */
export function plainWildcard(pattern: string, value: string): boolean {
  const p = Array.from(pattern);
  const v = Array.from(value);
  // row[j]: does p[0..i) match v[0..j)?
  let row: boolean[] = new Array<boolean>(v.length + 1).fill(false);
  row[0] = true;
  for (let i = 0; i < p.length; i++) {
    const next: boolean[] = new Array<boolean>(v.length + 1).fill(false);
    const pc = p[i];
    if (pc === '*') {
      let any = false;
      for (let j = 0; j <= v.length; j++) {
        any = any || (row[j] ?? false);
        next[j] = any;
      }
    } else {
      for (let j = 1; j <= v.length; j++) next[j] = (row[j - 1] ?? false) && (pc === '?' || pc === v[j - 1]);
    }
    row = next;
  }
  return row[v.length] ?? false;
}

const WILD = /[*?]/;

function like(pattern: string, value: string): boolean {
  return WILD.test(pattern) ? plainWildcard(pattern, value) : pattern === value;
}

interface Plain {
  path: string | undefined;
  parent: string | undefined;
  sha256: string | undefined;
  publisher: string | undefined;
  args: string | undefined;
  users: string[] | undefined;
  groups: string[] | undefined;
  computers: string[] | undefined;
  collections: string[] | undefined;
}

const cache = new WeakMap<Rule, Plain>();

function plain(rule: Rule): Plain {
  let p = cache.get(rule);
  if (p) return p;
  const lower = (xs: readonly string[] | undefined): string[] | undefined => (xs && xs.length > 0 ? xs.map((x) => x.trim().toLowerCase()) : undefined);
  p = {
    path: rule.match.path === undefined ? undefined : normalizePathPattern(rule.match.path),
    parent: rule.match.parent === undefined ? undefined : normalizePathPattern(rule.match.parent),
    sha256: rule.match.sha256?.toLowerCase(),
    publisher: rule.match.publisher?.trim().toLowerCase(),
    args: rule.match.args === undefined ? undefined : normalizeArgs(rule.match.args),
    users: lower(rule.target.users),
    groups: lower(rule.target.groups),
    computers: rule.target.computers && rule.target.computers.length > 0 ? rule.target.computers.map((c) => computerForms(c).full) : undefined,
    collections: lower(rule.target.collections),
  };
  cache.set(rule, p);
  return p;
}

function pathLike(pattern: string, full: string | undefined, name: string | undefined): boolean {
  const value = isFullPathPattern(pattern) ? full : name;
  return value !== undefined && like(pattern, value);
}

function anyPrincipal(entries: string[], full: readonly string[], short: readonly string[]): boolean {
  return entries.some((e) => (entryIsQualified(e) ? full.includes(e) : short.includes(e)));
}

/** Whether a rule matches a normalised request, checked field by field. */
export function ruleMatches(rule: Rule, r: NormalizedRequest): boolean {
  const p = plain(rule);
  if (p.path !== undefined && !pathLike(p.path, r.path, r.fileName)) return false;
  if (p.sha256 !== undefined && p.sha256 !== r.sha256) return false;
  if (p.publisher !== undefined) {
    const pub = isDebPublisher(p.publisher) ? r.debPublisher : r.publisher;
    if (pub === undefined || !like(p.publisher, pub)) return false;
  }
  if (p.args !== undefined && !like(p.args, r.args)) return false;
  // Parent conditions only restrict: an unknown parent satisfies them (fail closed).
  if (p.parent !== undefined && r.parentPath !== undefined && !pathLike(p.parent, r.parentPath, r.parentName)) return false;
  if (p.users !== undefined || p.groups !== undefined) {
    const who = (p.users !== undefined && anyPrincipal(p.users, r.userFull, r.userShort)) || (p.groups !== undefined && anyPrincipal(p.groups, r.groupFull, r.groupShort));
    if (!who) return false;
  }
  if (p.computers !== undefined || p.collections !== undefined) {
    const where =
      (p.computers !== undefined && p.computers.some((c) => like(c, c.includes('.') ? r.computerFull : r.computerHost))) ||
      (p.collections !== undefined && p.collections.some((c) => r.collections.includes(c)));
    if (!where) return false;
  }
  return true;
}

/** Decides a request by checking every rule: the oracle and the baseline of decide(). */
export function linearDecide(rules: readonly Rule[], request: DecisionRequest): Decision {
  const r = normalizeRequest(request);
  const deny: string[] = [];
  const allow: string[] = [];
  let mask = 0;
  let granted = false;
  for (const rule of rules) {
    if (!ruleMatches(rule, r)) continue;
    if (rule.action === 'deny') deny.push(rule.name);
    else {
      allow.push(rule.name);
      for (const c of rule.controls) mask |= 1 << RULE_CONTROLS.indexOf(c);
      // An allow rule with a parent condition only adds its controls to an allow another rule grants.
      if (rule.match.parent === undefined) granted = true;
    }
  }
  return finish(deny, allow, mask, r.tseActive, granted);
}
