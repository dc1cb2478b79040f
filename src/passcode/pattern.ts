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

/**
 * True when the text is a well-formed SID string (MS-DTYP 2.4.2.1): "S-1-", an authority
 * below 2^48 (decimal without leading zeros, or 0x and 1-12 hex digits), then at most 15
 * sub-authorities, each decimal without leading zeros and below 2^32. The rules of
 * directory/sid.ts, in one pass without allocating (this runs in the check's hot path).
 */
export function isSidText(t: string): boolean {
  const n = t.length;
  if (n < 5 || (t.charCodeAt(0) | 0x20) !== 0x73 || t.charCodeAt(1) !== 0x2d || t.charCodeAt(2) !== 0x31 || t.charCodeAt(3) !== 0x2d) return false;
  let i = 4;
  if (t.charCodeAt(i) === 0x30 && (t.charCodeAt(i + 1) | 0x20) === 0x78) {
    i += 2;
    const start = i;
    while (i < n && isHexDigit(t.charCodeAt(i))) i++;
    if (i === start || i - start > 12) return false;
  } else {
    i = decimalEnd(t, i, 0xffff_ffff_ffff);
    if (i < 0) return false;
  }
  for (let subs = 0; i < n; subs++) {
    if (subs === 15 || t.charCodeAt(i) !== 0x2d) return false;
    i = decimalEnd(t, i + 1, 0xffff_ffff);
    if (i < 0) return false;
  }
  return true;
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/** Where the decimal number at i ends, or -1 when there is none, it has a leading zero or exceeds max. */
function decimalEnd(t: string, i: number, max: number): number {
  const start = i;
  let value = 0;
  for (; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
    if (value > max) return -1;
  }
  if (i === start || (i - start > 1 && t.charCodeAt(start) === 0x30)) return -1;
  return i;
}

/** True when the text is written as a SID ("S-1-..."), well-formed or not. */
export function looksLikeSid(text: string): boolean {
  return SID_PREFIX.test(text);
}

/**
 * Whether `value` matches `pattern`: `*` and `?` wildcards, case-insensitive, every other
 * character literal; SID patterns ("S-1-...") compare exactly, ignoring case.
 */
export function matchPattern(pattern: string, value: string): boolean {
  return matchLower(pattern.toLowerCase(), value.toLowerCase());
}

/** matchPattern for a pattern and value already in lower case. */
function matchLower(p: string, v: string): boolean {
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
  const full = name.toLowerCase();
  let short: string | undefined;
  if (separator === '\\') {
    const at = full.lastIndexOf('\\');
    if (at >= 0) short = full.slice(at + 1);
  } else {
    const at = full.indexOf('.');
    if (at > 0) short = full.slice(0, at);
  }
  for (const pattern of patterns) {
    const p = pattern.toLowerCase();
    if (looksLikeSid(p)) {
      if (p === full) return true;
      if (sids) for (const sid of sids) if (p === sid.toLowerCase()) return true;
      continue;
    }
    if (matchLower(p, full)) return true;
    if (short !== undefined && !p.includes(separator) && matchLower(p, short)) return true;
  }
  return false;
}
