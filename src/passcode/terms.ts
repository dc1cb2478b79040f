/**
 * What a passcode says: the Passcode Manager wizard's tabs (Groups, Privileges,
 * Integrity, Validation Logic, Passcode) as one JSON object, the payload of the signed
 * token. Pure: no I/O.
 *
 * `buildTerms` turns what an admin typed into terms, refusing anything invalid with an
 * ASC_PASSCODE_BAD_TERMS error that names the field; `termsProblem` is the strict shape
 * check every decoded payload passes through; `serializeTerms` is the one canonical JSON
 * form (fixed key order, no spaces) that is signed, and that a decoded payload must equal
 * byte for byte.
 */
import { randomUUID } from 'node:crypto';
import { AscendError } from '../errors.js';
import { isSidText, looksLikeSid } from './pattern.js';
import { canonicalPrivilege, isWindowsPrivilege } from './privileges.js';

export const PASSCODE_TERMS_VERSION = 1;
/** BUILTIN\Administrators: the token group when neither the passcode nor the policy lists one. */
export const BUILTIN_ADMINISTRATORS_SID = 'S-1-5-32-544';

export type IntegrityLevel = 'Medium' | 'High' | 'System';
export const INTEGRITY_LEVELS: readonly IntegrityLevel[] = ['Medium', 'High', 'System'];
export const DEFAULT_INTEGRITY: IntegrityLevel = 'High';

/** Bounds of the terms; a payload beyond them is malformed, an input beyond them refused. */
export const TERMS_LIMITS = {
  idLength: 64,
  textLength: 200,
  patternLength: 256,
  listLength: 256,
  maxUses: 1_000_000,
  maxDurationSeconds: 366 * 86_400,
  maxUtcOffsetMinutes: 14 * 60,
} as const;

export interface PasscodeTerms {
  v: 1;
  /** Passcode id: what the revocation list names. [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
  id: string;
  title: string;
  /** Who issued it (free text, e.g. "CORP\\helpdesk-admin"). */
  iss: string;
  /** Issued at, Unix seconds. */
  iat: number;
  /** Maximum allowed usage, >= 1. */
  maxUses: number;
  /** Session length, counted from activation. */
  durationSeconds: number;
  /** End elevated processes and their children when the duration expires. */
  endProcesses: boolean;
  /** Computer name patterns (`*`, `?`) or SIDs; empty = any computer. */
  computers: string[];
  /** User name patterns (`*`, `?`) or SIDs; empty = any user. */
  users: string[];
  /** Activation window, Unix seconds, both inclusive. */
  notBefore?: number;
  notAfter?: number;
  /** Days the passcode may be used, 0 = Sunday .. 6 = Saturday, ascending; absent = every day. */
  weekdays?: number[];
  /** Time of day, "HH:MM" 24 h, `from` inclusive, `to` exclusive; from > to wraps midnight. */
  hours?: { from: string; to: string };
  /** The zone (minutes east of UTC) weekdays and hours are meant in; absent = the checking machine's zone. */
  utcOffsetMinutes?: number;
  /** Token groups (SIDs); empty = the policy's TSE Groups, else BUILTIN\Administrators (S-1-5-32-544). */
  groups: string[];
  /** Privileges to add (Windows Se* names); empty = the policy's. */
  privileges: string[];
  integrity: IntegrityLevel;
}

/** What an admin gives `ascend passcode new`; every field is checked by buildTerms. */
export interface NewPasscodeInput {
  title: string;
  issuer: string;
  maxUses: number;
  /** "30m", "2h", "1d", "90s", "1h30m", or seconds. */
  duration: string | number;
  endProcesses?: boolean;
  computers?: readonly string[];
  users?: readonly string[];
  /**
   * A Date, or "YYYY-MM-DD[THH:MM[:SS]]" with a zone ("Z", "+02:00"); without a zone the
   * text is read in `utcOffsetMinutes`, and refused when that is not given either.
   * A date alone means 00:00:00 for notBefore and 23:59:59 for notAfter.
   */
  notBefore?: Date | string;
  notAfter?: Date | string;
  /** 0-6 (0 = Sunday), or names: "mon", "Tuesday", ranges "mon-fri", lists "sat,sun". */
  weekdays?: readonly (number | string)[];
  /** "08:00-18:00"; "22:00-06:00" wraps midnight; "24:00" may end a range. */
  hours?: string;
  /** The zone weekdays, hours and zone-less dates are meant in: minutes east of UTC, or "+02:00", "-05:30", "Z". */
  utcOffsetMinutes?: number | string;
  groups?: readonly string[];
  privileges?: readonly string[];
  /** Medium, High (default) or System, any case. */
  integrity?: string;
  /** The issue time; defaults to the current time. */
  now?: Date;
  /** The passcode id; defaults to a random UUID. */
  id?: string;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// A UTF-16 surrogate without its partner: JSON would have to escape it, and it is no character.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// Anything either of the two could object to; most text has none, and one test is cheaper.
const SUSPECT = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ud800-\udfff]/;

/** True when the text holds a control character or a lone surrogate. */
function unprintable(x: string): boolean {
  return SUSPECT.test(x) && (CONTROL.test(x) || LONE_SURROGATE.test(x));
}
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

const KEYS = new Set<string>([
  'v', 'id', 'title', 'iss', 'iat', 'maxUses', 'durationSeconds', 'endProcesses', 'computers', 'users',
  'notBefore', 'notAfter', 'weekdays', 'hours', 'utcOffsetMinutes', 'groups', 'privileges', 'integrity',
]);
const REQUIRED = ['v', 'id', 'title', 'iss', 'iat', 'maxUses', 'durationSeconds', 'endProcesses', 'computers', 'users', 'groups', 'privileges', 'integrity'] as const;

/** The canonical JSON of terms: fixed key order, optional fields only when present, no spaces. */
export function serializeTerms(t: PasscodeTerms): string {
  const o: Record<string, unknown> = {
    v: t.v,
    id: t.id,
    title: t.title,
    iss: t.iss,
    iat: t.iat,
    maxUses: t.maxUses,
    durationSeconds: t.durationSeconds,
    endProcesses: t.endProcesses,
    computers: t.computers,
    users: t.users,
  };
  if (t.notBefore !== undefined) o.notBefore = t.notBefore;
  if (t.notAfter !== undefined) o.notAfter = t.notAfter;
  if (t.weekdays !== undefined) o.weekdays = t.weekdays;
  if (t.hours !== undefined) o.hours = { from: t.hours.from, to: t.hours.to };
  if (t.utcOffsetMinutes !== undefined) o.utcOffsetMinutes = t.utcOffsetMinutes;
  o.groups = t.groups;
  o.privileges = t.privileges;
  o.integrity = t.integrity;
  return JSON.stringify(o);
}

const isInt = (x: unknown, min: number, max: number): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= min && x <= max;

function textProblem(field: string, x: unknown): string | undefined {
  if (typeof x !== 'string') return `${field}: must be text`;
  if (x.length === 0 || x.length > TERMS_LIMITS.textLength) return `${field}: must be 1 to ${TERMS_LIMITS.textLength} characters`;
  if (unprintable(x)) return `${field}: must be one line without control characters`;
  if (x.trim() !== x) return `${field}: must not start or end with spaces`;
  return undefined;
}

function patternsProblem(field: string, x: unknown): string | undefined {
  if (!Array.isArray(x)) return `${field}: must be a list`;
  if (x.length > TERMS_LIMITS.listLength) return `${field}: at most ${TERMS_LIMITS.listLength} entries`;
  for (const p of x as unknown[]) {
    if (typeof p !== 'string' || p.length === 0 || p.length > TERMS_LIMITS.patternLength || unprintable(p) || p.trim() !== p) {
      return `${field}: every entry must be a name pattern of 1 to ${TERMS_LIMITS.patternLength} characters`;
    }
    if (looksLikeSid(p) && !(p.startsWith('S-') && isSidText(p))) return `${field}: "${p}" starts like a SID but is not a well-formed SID (SIDs take no wildcards)`;
  }
  return undefined;
}

function sidsProblem(field: string, x: unknown): string | undefined {
  if (!Array.isArray(x)) return `${field}: must be a list`;
  if (x.length > TERMS_LIMITS.listLength) return `${field}: at most ${TERMS_LIMITS.listLength} entries`;
  const seen = new Set<string>();
  for (const s of x as unknown[]) {
    if (typeof s !== 'string' || !s.startsWith('S-') || s.length > TERMS_LIMITS.patternLength || !isSidText(s)) return `${field}: every entry must be a SID (S-1-...)`;
    const folded = s.toUpperCase();
    if (seen.has(folded)) return `${field}: "${s}" is listed twice`;
    seen.add(folded);
  }
  return undefined;
}

/**
 * The first thing wrong with a decoded payload as terms, or undefined when it is exactly
 * what buildTerms can produce. Never throws.
 */
export function termsProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'terms: must be a JSON object';
  const t = value as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!KEYS.has(k)) return `terms: unknown field "${k.slice(0, 40)}"`;
  for (const k of REQUIRED) if (!(k in t)) return `terms: field "${k}" is missing`;
  if (t.v !== PASSCODE_TERMS_VERSION) return `v: version ${JSON.stringify(t.v)} is not supported (only ${PASSCODE_TERMS_VERSION})`;
  if (typeof t.id !== 'string' || !ID_PATTERN.test(t.id)) return 'id: must be 1 to 64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)';
  const text = textProblem('title', t.title) ?? textProblem('iss', t.iss);
  if (text) return text;
  if (!isInt(t.iat, 0, Number.MAX_SAFE_INTEGER)) return 'iat: must be Unix seconds';
  if (!isInt(t.maxUses, 1, TERMS_LIMITS.maxUses)) return `maxUses: must be a whole number from 1 to ${TERMS_LIMITS.maxUses}`;
  if (!isInt(t.durationSeconds, 1, TERMS_LIMITS.maxDurationSeconds)) return `durationSeconds: must be a whole number of seconds from 1 to ${TERMS_LIMITS.maxDurationSeconds}`;
  if (typeof t.endProcesses !== 'boolean') return 'endProcesses: must be true or false';
  const patterns = patternsProblem('computers', t.computers) ?? patternsProblem('users', t.users);
  if (patterns) return patterns;
  if (t.notBefore !== undefined && !isInt(t.notBefore, 0, Number.MAX_SAFE_INTEGER)) return 'notBefore: must be Unix seconds';
  if (t.notAfter !== undefined && !isInt(t.notAfter, 0, Number.MAX_SAFE_INTEGER)) return 'notAfter: must be Unix seconds';
  if (t.notBefore !== undefined && t.notAfter !== undefined && (t.notAfter as number) < (t.notBefore as number)) return 'notAfter: is before notBefore';
  if (t.weekdays !== undefined) {
    const w = t.weekdays;
    if (!Array.isArray(w) || w.length === 0 || w.length > 7) return 'weekdays: must be a list of 1 to 7 days';
    let last = -1;
    for (const d of w as unknown[]) {
      if (!isInt(d, 0, 6) || d <= last) return 'weekdays: days must be 0 (Sunday) to 6 (Saturday), each once, ascending';
      last = d;
    }
  }
  if (t.hours !== undefined) {
    const h = t.hours;
    if (typeof h !== 'object' || h === null || Array.isArray(h)) return 'hours: must be {"from":"HH:MM","to":"HH:MM"}';
    const keys = Object.keys(h);
    const { from, to } = h as Record<string, unknown>;
    if (keys.length !== 2 || typeof from !== 'string' || typeof to !== 'string' || !HH_MM.test(from) || !HH_MM.test(to)) return 'hours: must be {"from":"HH:MM","to":"HH:MM"}';
    if (from === to) return 'hours: from and to are equal, an empty range';
  }
  if (t.utcOffsetMinutes !== undefined && !isInt(t.utcOffsetMinutes, -TERMS_LIMITS.maxUtcOffsetMinutes, TERMS_LIMITS.maxUtcOffsetMinutes)) {
    return `utcOffsetMinutes: must be whole minutes from -${TERMS_LIMITS.maxUtcOffsetMinutes} to ${TERMS_LIMITS.maxUtcOffsetMinutes}`;
  }
  const groups = sidsProblem('groups', t.groups);
  if (groups) return groups;
  if (!Array.isArray(t.privileges)) return 'privileges: must be a list';
  const seen = new Set<string>();
  for (const p of t.privileges as unknown[]) {
    if (typeof p !== 'string' || !isWindowsPrivilege(p)) return `privileges: ${JSON.stringify(p).slice(0, 60)} is not a Windows privilege`;
    if (seen.has(p)) return `privileges: "${p}" is listed twice`;
    seen.add(p);
  }
  if (typeof t.integrity !== 'string' || !(INTEGRITY_LEVELS as readonly string[]).includes(t.integrity)) return 'integrity: must be Medium, High or System';
  return undefined;
}

// ---------------------------------------------------------------- building terms

function bad(message: string): AscendError {
  return new AscendError('ASC_PASSCODE_BAD_TERMS', message);
}

/** Seconds from "30m", "2h", "1d", "90s", "1h30m", "1d 12h", a digit string, or a number of seconds. */
export function parseDuration(duration: string | number, field = 'duration'): number {
  let seconds: number;
  if (typeof duration === 'number') {
    seconds = duration;
  } else if (typeof duration === 'string') {
    const text = duration.replace(/\s+/g, '').toLowerCase();
    if (/^\d{1,9}$/.test(text)) {
      seconds = Number(text);
    } else {
      const m = /^(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,9})s)?$/.exec(text);
      if (!m || text === '') throw bad(`${field}: "${duration}" is not a duration; use e.g. 90s, 30m, 2h, 1d, 1h30m or a number of seconds`);
      seconds = Number(m[1] ?? 0) * 86_400 + Number(m[2] ?? 0) * 3_600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
    }
  } else {
    throw bad(`${field}: must be text such as "30m" or a number of seconds`);
  }
  if (!Number.isSafeInteger(seconds) || seconds < 1) throw bad(`${field}: must be at least 1 second (got ${String(duration)})`);
  if (seconds > TERMS_LIMITS.maxDurationSeconds) throw bad(`${field}: ${String(duration)} is longer than the 366 days allowed`);
  return seconds;
}

/** Minutes east of UTC from a number or "Z", "UTC", "+02:00", "-0530". */
export function parseUtcOffset(offset: number | string, field = 'utcOffsetMinutes'): number {
  const max = TERMS_LIMITS.maxUtcOffsetMinutes;
  if (typeof offset === 'number') {
    if (!Number.isSafeInteger(offset) || Math.abs(offset) > max) throw bad(`${field}: ${offset} is not whole minutes from -${max} to ${max}`);
    return offset;
  }
  const text = typeof offset === 'string' ? offset.trim() : '';
  if (/^(z|utc)$/i.test(text)) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(text);
  if (!m) throw bad(`${field}: "${String(offset)}" is not a UTC offset; use e.g. +02:00, -05:30 or Z`);
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  if (Number(m[3]) > 59 || minutes > max) throw bad(`${field}: "${offset}" is beyond +/-14:00`);
  return m[1] === '-' ? -minutes : minutes;
}

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?\s*(z|utc|[+-]\d{2}:?\d{2})?$/i;

/** Unix seconds of a Date or an ISO-like date/time text (see NewPasscodeInput.notBefore). */
export function parseInstant(value: Date | string, field: string, zone: number | undefined, endOfDay: boolean): number {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms) || ms < 0) throw bad(`${field}: not a valid date`);
    return Math.floor(ms / 1000);
  }
  if (typeof value !== 'string') throw bad(`${field}: must be a date`);
  const text = value.trim();
  const m = INSTANT.exec(text);
  if (!m) throw bad(`${field}: "${value}" is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS] with a zone (Z or +HH:MM)`);
  const [, y, mo, d, h, mi, s, z] = m;
  const dateOnly = h === undefined;
  const parts = [Number(y), Number(mo), Number(d), dateOnly ? (endOfDay ? 23 : 0) : Number(h), dateOnly ? (endOfDay ? 59 : 0) : Number(mi), s !== undefined ? Number(s) : dateOnly && endOfDay ? 59 : 0] as const;
  const [year, month, day, hour, minute, second] = parts;
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (utc.getUTCFullYear() !== year || utc.getUTCMonth() !== month - 1 || utc.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw bad(`${field}: "${value}" is not a real date and time`);
  }
  let offset: number;
  if (z !== undefined) offset = parseUtcOffset(z, field);
  else if (zone !== undefined) offset = zone;
  else throw bad(`${field}: "${value}" names no time zone; add Z or +HH:MM (or give the passcode's UTC offset)`);
  const seconds = utc.getTime() / 1000 - offset * 60;
  if (seconds < 0) throw bad(`${field}: "${value}" is before 1970`);
  return seconds;
}

const DAY_NAMES: Record<string, number> = {
  sun: 0, sunday: 0, mon: 1, monday: 1, tue: 2, tues: 2, tuesday: 2, wed: 3, wednesday: 3,
  thu: 4, thur: 4, thurs: 4, thursday: 4, fri: 5, friday: 5, sat: 6, saturday: 6,
};

function dayOf(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (/^[0-6]$/.test(t)) return Number(t);
  return Object.hasOwn(DAY_NAMES, t) ? DAY_NAMES[t] : undefined;
}

/** Days 0-6 ascending from numbers, names, "mon-fri" ranges (wrapping: "fri-mon") and comma lists. */
export function parseWeekdays(days: readonly (number | string)[]): number[] {
  const out = new Set<number>();
  for (const day of days) {
    if (typeof day === 'number') {
      if (!Number.isInteger(day) || day < 0 || day > 6) throw bad(`weekdays: ${day} is not a day; use 0 (Sunday) to 6 (Saturday) or a name`);
      out.add(day);
      continue;
    }
    if (typeof day !== 'string') throw bad('weekdays: every day must be a number or a name');
    for (const piece of day.split(',')) {
      if (piece.trim() === '') continue;
      const range = piece.split('-');
      const first = dayOf(range[0] ?? '');
      const last = range.length === 2 ? dayOf(range[1] ?? '') : first;
      if (range.length > 2 || first === undefined || last === undefined) throw bad(`weekdays: "${piece.trim()}" is not a day; use mon, tue, ... sun, 0-6, or a range like mon-fri`);
      for (let d = first; ; d = (d + 1) % 7) {
        out.add(d);
        if (d === last) break;
      }
    }
  }
  if (out.size === 0) throw bad('weekdays: the list is empty; leave it out to allow every day');
  return [...out].sort((a, b) => a - b);
}

/** {from, to} from "08:00-18:00" (H:MM allowed; "24:00" may end a range). */
export function parseHours(hours: string): { from: string; to: string } {
  const m = typeof hours === 'string' ? /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(hours) : null;
  if (!m) throw bad(`hours: "${String(hours)}" is not a range; use HH:MM-HH:MM, e.g. 08:00-18:00`);
  const hhmm = (hh: string, mm: string, end: boolean): string => {
    const h = Number(hh);
    const mi = Number(mm);
    if (end && h === 24 && mi === 0) return '00:00';
    if (h > 23 || mi > 59) throw bad(`hours: "${hh}:${mm}" is not a time of day`);
    return `${String(h).padStart(2, '0')}:${mm}`;
  };
  const from = hhmm(m[1] ?? '', m[2] ?? '', false);
  const to = hhmm(m[3] ?? '', m[4] ?? '', true);
  if (from === to) throw bad(`hours: "${hours}" is an empty range; leave hours out to allow the whole day`);
  return { from, to };
}

function patternList(field: 'computers' | 'users', list: readonly string[] | undefined): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of list ?? []) {
    if (typeof raw !== 'string') throw bad(`${field}: every entry must be text`);
    let p = raw.trim();
    if (p === '') throw bad(`${field}: an entry is empty`);
    if (p.length > TERMS_LIMITS.patternLength) throw bad(`${field}: "${p.slice(0, 40)}..." is longer than ${TERMS_LIMITS.patternLength} characters`);
    if (unprintable(p)) throw bad(`${field}: an entry holds control characters or a broken character`);
    if (looksLikeSid(p)) {
      if (!isSidText(p)) throw bad(`${field}: "${p}" starts like a SID but is not one (SIDs are compared whole, without wildcards)`);
      p = `S${p.slice(1)}`;
    }
    const folded = p.toLowerCase();
    if (!seen.has(folded)) out.push(p);
    seen.add(folded);
  }
  if (out.length > TERMS_LIMITS.listLength) throw bad(`${field}: at most ${TERMS_LIMITS.listLength} entries`);
  return out;
}

function text(field: string, value: unknown): string {
  if (typeof value !== 'string') throw bad(`${field}: is required`);
  const t = value.trim();
  if (t === '') throw bad(`${field}: is required`);
  if (t.length > TERMS_LIMITS.textLength) throw bad(`${field}: is longer than ${TERMS_LIMITS.textLength} characters`);
  if (unprintable(t)) throw bad(`${field}: must be one line without control characters`);
  return t;
}

/**
 * Terms from what an admin gave, each field checked; throws ASC_PASSCODE_BAD_TERMS with a
 * one-line message that starts with the field's name ("maxUses: ...").
 */
export function buildTerms(input: NewPasscodeInput): PasscodeTerms {
  const title = text('title', input.title);
  const iss = text('issuer', input.issuer);
  const maxUses = input.maxUses;
  if (typeof maxUses !== 'number' || !Number.isSafeInteger(maxUses) || maxUses < 1 || maxUses > TERMS_LIMITS.maxUses) {
    throw bad(`maxUses: ${String(maxUses)} is not allowed; give a whole number from 1 to ${TERMS_LIMITS.maxUses}`);
  }
  const durationSeconds = parseDuration(input.duration);
  const now = input.now ?? new Date();
  if (!(now instanceof Date) || !Number.isFinite(now.getTime())) throw bad('now: not a valid date');
  const iat = Math.floor(now.getTime() / 1000);
  const id = input.id ?? randomUUID();
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw bad(`id: "${String(id)}" must be 1 to 64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)`);
  const zone = input.utcOffsetMinutes === undefined ? undefined : parseUtcOffset(input.utcOffsetMinutes);
  const notBefore = input.notBefore === undefined ? undefined : parseInstant(input.notBefore, 'notBefore', zone, false);
  const notAfter = input.notAfter === undefined ? undefined : parseInstant(input.notAfter, 'notAfter', zone, true);
  if (notBefore !== undefined && notAfter !== undefined && notAfter < notBefore) {
    throw bad(`notAfter: ${isoSeconds(notAfter)} is before notBefore ${isoSeconds(notBefore)}`);
  }
  if (notAfter !== undefined && notAfter < iat) throw bad(`notAfter: ${isoSeconds(notAfter)} is already past (now ${isoSeconds(iat)})`);
  const groups: string[] = [];
  for (const raw of input.groups ?? []) {
    const g = typeof raw === 'string' ? raw.trim() : '';
    if (!isSidText(g)) throw bad(`groups: "${String(raw)}" is not a SID; give the group's SID, e.g. ${BUILTIN_ADMINISTRATORS_SID} for BUILTIN\\Administrators`);
    const sid = `S${g.slice(1)}`;
    if (!groups.some((x) => x.toUpperCase() === sid.toUpperCase())) groups.push(sid);
  }
  if (groups.length > TERMS_LIMITS.listLength) throw bad(`groups: at most ${TERMS_LIMITS.listLength} entries`);
  const privileges: string[] = [];
  for (const raw of input.privileges ?? []) {
    const p = typeof raw === 'string' ? canonicalPrivilege(raw) : undefined;
    if (p === undefined) throw bad(`privileges: "${String(raw)}" is not a Windows privilege (e.g. SeDebugPrivilege, SeBackupPrivilege)`);
    if (!privileges.includes(p)) privileges.push(p);
  }
  let integrity: IntegrityLevel = DEFAULT_INTEGRITY;
  if (input.integrity !== undefined) {
    const found = INTEGRITY_LEVELS.find((l) => typeof input.integrity === 'string' && l.toLowerCase() === input.integrity.trim().toLowerCase());
    if (!found) throw bad(`integrity: "${String(input.integrity)}" is not Medium, High or System`);
    integrity = found;
  }
  const terms: PasscodeTerms = {
    v: 1,
    id,
    title,
    iss,
    iat,
    maxUses,
    durationSeconds,
    endProcesses: input.endProcesses ?? false,
    computers: patternList('computers', input.computers),
    users: patternList('users', input.users),
    groups,
    privileges,
    integrity,
  };
  if (typeof terms.endProcesses !== 'boolean') throw bad('endProcesses: must be true or false');
  if (notBefore !== undefined) terms.notBefore = notBefore;
  if (notAfter !== undefined) terms.notAfter = notAfter;
  if (input.weekdays !== undefined) terms.weekdays = parseWeekdays(input.weekdays);
  if (input.hours !== undefined) terms.hours = parseHours(input.hours);
  if (zone !== undefined) terms.utcOffsetMinutes = zone;
  const problem = termsProblem(terms);
  if (problem) throw bad(problem);
  return terms;
}

/** "2025-06-01T08:00:00Z" for Unix seconds. */
export function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
