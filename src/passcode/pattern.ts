/**
 * Name patterns of a passcode's validation logic: computer and user names with the
 * wildcards `*` (any run of characters, also none) and `?` (exactly one character),
 * compared case-insensitively; every other character stands for itself. No regular
 * expression is built, so a pattern such as "(x)+" or "[ab]" can only match itself.
 * A pattern that starts with "S-1-" is a SID and is compared whole (case-insensitively),
 * without wildcards.
 */

const SID_PREFIX = /^s-1-/i;
const SURROGATE = /[\ud800-\udfff]/;

/** True when the text is written as a SID ("S-1-..."), well-formed or not. */
export function looksLikeSid(text: string): boolean {
  return SID_PREFIX.test(text);
}

/**
 * Whether `value` matches `pattern`: `*` and `?` wildcards, case-insensitive, every other
 * character literal; SID patterns ("S-1-...") compare exactly, ignoring case.
 */
export function matchPattern(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  if (looksLikeSid(p)) return p === v;
  if (!SURROGATE.test(p) && !SURROGATE.test(v)) return wildcard(p, v);
  // Outside the BMP, `?` stands for one character (code point), not one UTF-16 unit.
  return wildcard(Array.from(p), Array.from(v));
}

/**
 * Iterative wildcard match with one back-tracking point (the last `*` seen): linear in
 * practice and O(|p|·|v|) at worst, with no recursion.
 */
function wildcard(p: ArrayLike<string>, v: ArrayLike<string>): boolean {
  let pi = 0;
  let vi = 0;
  let star = -1; // index in p of the last `*`
  let resume = 0; // index in v where that `*` resumes
  while (vi < v.length) {
    const pc = pi < p.length ? p[pi] : undefined;
    if (pc === '*') {
      star = pi++;
      resume = vi;
    } else if (pc !== undefined && (pc === '?' || pc === v[vi])) {
      pi++;
      vi++;
    } else if (star >= 0) {
      pi = star + 1;
      vi = ++resume;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/**
 * Whether any pattern matches an account: a SID pattern against the account's SIDs, a
 * name pattern against its name. `shortForm` gives a second name a pattern may match when
 * it has none of `separator` (so "alice" matches "CORP\alice", "ws-01" matches
 * "ws-01.corp.example"). An empty pattern list allows every account.
 */
export function matchesAny(patterns: readonly string[], name: string, sids: readonly string[] | undefined, separator: '\\' | '.'): boolean {
  if (patterns.length === 0) return true;
  let short: string | undefined;
  if (separator === '\\') {
    const at = name.lastIndexOf('\\');
    if (at >= 0) short = name.slice(at + 1);
  } else {
    const at = name.indexOf('.');
    if (at > 0) short = name.slice(0, at);
  }
  for (const pattern of patterns) {
    if (looksLikeSid(pattern)) {
      if (matchPattern(pattern, name)) return true;
      if (sids) for (const sid of sids) if (matchPattern(pattern, sid)) return true;
      continue;
    }
    if (matchPattern(pattern, name)) return true;
    if (short !== undefined && !pattern.includes(separator) && matchPattern(pattern, short)) return true;
  }
  return false;
}
