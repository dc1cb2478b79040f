/**
 * Computer names as the collector binds them to agents. Pure: no I/O.
 *
 * A Windows computer name is case-insensitive, and one machine answers to its NetBIOS
 * name ("PC-A") and its DNS name ("pc-a.corp.example"); a passcode pattern without a dot
 * matches the first label of a DNS name. So one machine is one KEY: the first label,
 * NFKC-normalised (full-width "ＰＣ" is "PC") and case-folded. Two live agents never share
 * a key, and "PC-A", "pc-a " and "pc-a.anything" all collide.
 *
 * A name that could be read as something else is refused: control and format characters,
 * blanks inside, the characters Windows forbids in computer names (\ / : * ? " < > |),
 * wildcards (a pattern is not a name), empty labels, and SIDs ("S-1-...": a SID pattern
 * compares whole against the name, so a computer named like a SID would match it).
 */
import { AscendError } from '../errors.js';
import { matchesAny } from '../passcode/pattern.js';

const MAX_LENGTH = 253;
// Other (Cc control, Cf format, Cs lone surrogate, Co private use, Cn unassigned) and separators (spaces).
const UNPRINTABLE = /[\p{C}\p{Z}]/u;
const FORBIDDEN = /[\\/:*?"<>|]/;

function refuse(what: string, why: string): AscendError {
  return new AscendError('ASC_COLLECTOR_BAD_INPUT', `${what} ${why}`);
}

/**
 * The computer name as stored: trimmed, NFKC-normalised, without a DNS name's final dot.
 * Throws ASC_COLLECTOR_BAD_INPUT (naming `what`) for a name that is not one.
 */
export function checkComputerName(raw: unknown, what = 'the computer name'): string {
  if (typeof raw !== 'string') throw refuse(what, 'must be a string');
  let name = raw.normalize('NFKC').trim();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') throw refuse(what, 'must not be empty');
  if (name.length > MAX_LENGTH) throw refuse(what, `must be at most ${MAX_LENGTH} characters`);
  if (UNPRINTABLE.test(name)) throw refuse(what, 'must not hold control characters or blanks');
  if (FORBIDDEN.test(name)) throw refuse(what, 'must not hold any of \\ / : * ? " < > |');
  if (name.startsWith('.') || name.includes('..')) throw refuse(what, 'must not have an empty DNS label');
  if (/^s-1-/i.test(name)) throw refuse(what, 'must not look like a SID');
  return name;
}

/** Case folding that also folds ß/ss and the dotted/dotless i the way upper-casing does. */
function fold(s: string): string {
  return s.normalize('NFKC').toUpperCase().toLowerCase();
}

/** The machine a (checked) name stands for: its first label, folded. */
export function computerKey(name: string): string {
  const folded = fold(name);
  const dot = folded.indexOf('.');
  return dot < 0 ? folded : folded.slice(0, dot);
}

/** computerKey of a stored name, or null when the stored name is not a valid one (an old row). */
export function computerKeyOrNull(name: string): string | null {
  try {
    return computerKey(checkComputerName(name));
  } catch {
    return null;
  }
}

/**
 * Whether an enrolling agent's name is one a token names: the same machine (key), and when
 * both are DNS names, the same DNS name ("pc-a.corp.example" is not "pc-a.evil.example").
 */
export function sameComputer(named: string, enrolling: string): boolean {
  if (computerKey(named) !== computerKey(enrolling)) return false;
  if (!named.includes('.') || !enrolling.includes('.')) return true;
  return fold(named) === fold(enrolling);
}

/**
 * Whether a passcode's computer patterns allow the agent's enrolled name, judged by the
 * collector: empty = any computer. The collector knows no machine SIDs, so a SID pattern
 * never matches here (fail closed); name patterns match as on the agent.
 */
export function passcodeAllowsComputer(patterns: readonly string[], enrolledName: string): boolean {
  if (patterns.length === 0) return true;
  return matchesAny(patterns, enrolledName, undefined, '.');
}
