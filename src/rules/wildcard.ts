/**
 * Wildcard patterns of elevation rules: `*` stands for any run of characters (also none,
 * and also backslashes), `?` for exactly one character; every other character stands for
 * itself. No regular expression is ever built from a pattern, so `(`, `[`, `+`, `.`,
 * `$` ... in a pattern can only match themselves.
 *
 * A pattern is compiled once (per policy change) into the literal pieces between its
 * stars; matching anchors the first piece at the start, the last at the end, and finds
 * the pieces in between left to right (leftmost is always right for star-separated
 * pieces), so a match is linear in practice, O(|pattern|·|value|) at worst, without
 * recursion or back-tracking blow-ups.
 *
 * Both sides are expected in lower case already (the callers fold case once). Text
 * outside the Basic Multilingual Plane is matched per code point, so `?` is one character.
 */

const SURROGATE = /[\ud800-\udfff]/;

export interface Wildcard {
  /** The pattern as compiled (lower-cased by the caller). */
  readonly pattern: string;
  /** Set when the pattern has no wildcard at all: a plain comparison. */
  readonly literal: string | undefined;
  /** The pieces between `*`s; `?` inside a piece is any one character. */
  readonly pieces: readonly string[];
  /** Whether each piece holds a `?`. */
  readonly pieceHasQ: readonly boolean[];
  /** The pattern starts / ends with `*`. */
  readonly openStart: boolean;
  readonly openEnd: boolean;
  /** The pattern needs code-point matching (it has characters outside the BMP). */
  readonly astral: boolean;
  /**
   * The pieces as code points, for code-point matching (computed once, when compiled): the
   * piece strings themselves when the pattern has no surrogate.
   */
  readonly codePieces: readonly (readonly string[])[] | readonly string[];
}

export function hasWildcard(text: string): boolean {
  return text.includes('*') || text.includes('?');
}

/** Shared by every literal pattern: an agent holds thousands of compiled patterns. */
const NO_Q: readonly boolean[] = Object.freeze([false]);

/**
 * The pieces as code points. Without a surrogate in the pattern each UTF-16 unit is a code
 * point, so the piece strings serve as they are (a string is an array of its units) and no
 * per-character arrays are kept.
 */
function codePiecesOf(pieces: readonly string[], astral: boolean): readonly (readonly string[])[] | readonly string[] {
  return astral ? pieces.map((p) => Array.from(p)) : pieces;
}

export function compileWildcard(pattern: string): Wildcard {
  const astral = SURROGATE.test(pattern);
  if (!hasWildcard(pattern)) {
    const pieces = [pattern];
    return { pattern, literal: pattern, pieces, pieceHasQ: NO_Q, openStart: false, openEnd: false, astral, codePieces: codePiecesOf(pieces, astral) };
  }
  const raw = pattern.split('*');
  const openStart = pattern.startsWith('*');
  const openEnd = pattern.endsWith('*');
  // Empty pieces come from leading, trailing or repeated stars; they constrain nothing.
  const pieces = raw.filter((p, i) => p.length > 0 || (i === 0 && !openStart) || (i === raw.length - 1 && !openEnd));
  return { pattern, literal: undefined, pieces, pieceHasQ: pieces.map((p) => p.includes('?')), openStart, openEnd, astral, codePieces: codePiecesOf(pieces, astral) };
}

/** Whether `text` holds a UTF-16 surrogate (a character outside the BMP, or a lone half). */
export function hasSurrogate(text: string): boolean {
  return SURROGATE.test(text);
}

/** Whether `value` (lower case) matches the compiled pattern. */
export function matchWildcard(w: Wildcard, value: string): boolean {
  if (w.literal !== undefined) return w.literal === value;
  if (w.astral || SURROGATE.test(value)) return matchUnits(w, Array.from(value), w.codePieces);
  return matchString(w, value, 0);
}

/**
 * matchWildcard for a caller that already knows whether `value` holds a surrogate
 * (decide() checks each request field once, not once per rule it compares).
 */
export function matchWildcardKnown(w: Wildcard, value: string, valueHasSurrogate: boolean): boolean {
  if (w.literal !== undefined) return w.literal === value;
  if (w.astral || valueHasSurrogate) return matchUnits(w, Array.from(value), w.codePieces);
  return matchString(w, value, 0);
}

/**
 * matchWildcardKnown over the end of `text` from `base` (a file name within its path),
 * without cutting it out: decide() allocates nothing for it.
 */
export function matchWildcardSuffix(w: Wildcard, text: string, base: number, valueHasSurrogate: boolean): boolean {
  const literal = w.literal;
  if (literal !== undefined) {
    if (literal.length !== text.length - base) return false;
    for (let i = 0; i < literal.length; i++) if (literal.charCodeAt(i) !== text.charCodeAt(base + i)) return false;
    return true;
  }
  if (w.astral || valueHasSurrogate) return matchUnits(w, Array.from(text.slice(base)), w.codePieces);
  return matchString(w, text, base);
}

/** Whether `piece` (with `?` as any one unit) sits in `v` at `at`. */
function pieceAt(piece: ArrayLike<string>, v: ArrayLike<string>, at: number): boolean {
  if (at < 0 || at + piece.length > v.length) return false;
  for (let k = 0; k < piece.length; k++) {
    const c = piece[k];
    if (c !== '?' && c !== v[at + k]) return false;
  }
  return true;
}

/** The first index >= from where `piece` sits in `v`, or -1. */
function findPiece(piece: ArrayLike<string>, v: ArrayLike<string>, from: number, plain: boolean): number {
  if (plain && typeof v === 'string' && typeof piece === 'string') return v.indexOf(piece, from);
  for (let at = from; at + piece.length <= v.length; at++) if (pieceAt(piece, v, at)) return at;
  return -1;
}

function matchUnits(w: Wildcard, v: ArrayLike<string>, pieces: readonly ArrayLike<string>[]): boolean {
  const n = pieces.length;
  let start = 0; // first index of v not yet consumed
  let end = v.length; // index after the last unit still free
  let first = 0;
  let last = n - 1;
  if (!w.openStart) {
    const p = pieces[0] ?? '';
    if (!pieceAt(p, v, 0)) return false;
    start = p.length;
    first = 1;
  }
  if (!w.openEnd && last >= first) {
    const p = pieces[last] ?? '';
    if (!pieceAt(p, v, v.length - p.length) || v.length - p.length < start) return false;
    end = v.length - p.length;
    last--;
  } else if (!w.openEnd) {
    // The one piece was anchored at the start and must also reach the end (no star at all
    // cannot happen here, so the pattern was "abc*"-free: e.g. "a?c").
    return start === v.length;
  }
  for (let i = first; i <= last; i++) {
    const p = pieces[i] ?? '';
    const at = findPiece(p, v, start, !(w.pieceHasQ[i] ?? false));
    if (at < 0 || at + p.length > end) return false;
    start = at + p.length;
  }
  return start <= end;
}

// The same algorithm on strings (no surrogates on either side): kept apart from the
// code-point version so these stay monomorphic on the hot path.

function pieceAtString(piece: string, v: string, at: number): boolean {
  if (at < 0 || at + piece.length > v.length) return false;
  for (let k = 0; k < piece.length; k++) {
    const c = piece.charCodeAt(k);
    if (c !== 63 /* ? */ && c !== v.charCodeAt(at + k)) return false;
  }
  return true;
}

function findPieceString(piece: string, v: string, from: number, plain: boolean): number {
  if (plain) return v.indexOf(piece, from);
  for (let at = from; at + piece.length <= v.length; at++) if (pieceAtString(piece, v, at)) return at;
  return -1;
}

/** matchString over v from `base` to its end (the value is that suffix of v). */
function matchString(w: Wildcard, v: string, base: number): boolean {
  const pieces = w.pieces;
  const n = pieces.length;
  let start = base;
  let end = v.length;
  let first = 0;
  let last = n - 1;
  if (!w.openStart) {
    const p = pieces[0] ?? '';
    if (!pieceAtString(p, v, base)) return false;
    start = base + p.length;
    first = 1;
  }
  if (!w.openEnd && last >= first) {
    const p = pieces[last] ?? '';
    if (!pieceAtString(p, v, v.length - p.length) || v.length - p.length < start) return false;
    end = v.length - p.length;
    last--;
  } else if (!w.openEnd) {
    return start === v.length;
  }
  for (let i = first; i <= last; i++) {
    const p = pieces[i] ?? '';
    const at = findPieceString(p, v, start, !(w.pieceHasQ[i] ?? false));
    if (at < 0 || at + p.length > end) return false;
    start = at + p.length;
  }
  return start <= end;
}
