/**
 * sudo's records of what it ran, read into one shape (pure: no I/O).
 *
 * Two forms: the classic line sudo sends to syslog (and so to the journal),
 *   "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u"
 * (without "TTY=" when there is no terminal)
 * and the JSON event of `Defaults log_format=json` (an "accept" or "reject" object, as in
 * sudo's JSON log file). The user controls the command line, the working folder and the
 * terminal name, so the classic line is read strictly: its fields in sudo's order, each once,
 * "COMMAND=" once; a line that could be read two ways is refused (`ambiguous`), never guessed.
 */

/** A command sudo ran (accept) or refused (reject), as sudo recorded it. */
export interface SudoRecord {
  kind: 'accept' | 'reject';
  /** Who ran sudo. */
  user: string;
  /** The user it ran (or would have run) the command as. */
  runAs: string;
  /** The program as sudo logged it (absolute when sudo found it). */
  command: string;
  /** The arguments, when known one by one (the JSON form). */
  argv?: string[];
  /** The arguments as sudo joined them with blanks (the classic line: their boundaries are lost). */
  argsText?: string;
  cwd?: string;
  tty?: string;
  /** When sudo ran it (ISO 8601), when the record says. */
  time?: string;
  /** Why sudo refused (reject). */
  reason?: string;
}

export type ParseOutcome =
  | { ok: true; record: SudoRecord }
  /** Not a record of a command at all (a PAM session line, a "(command continued)" line): ignored. */
  | { ok: false; why: 'not-a-command' }
  /** Looks like a command record but cannot be read safely: skipped and counted. */
  | { ok: false; why: 'malformed' | 'ambiguous' | 'too-large' };

/** Longest record the agent reads (a command line and its environment are at most ARG_MAX, 2 MiB by default). */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;
/** A command line is at most ARG_MAX (2 MiB by default) on Linux. */
const MAX_FIELD = 2 * 1024 * 1024;
const MAX_ARGS = 256 * 1024;

const SEP = ' ; ';
/** The keyed fields before COMMAND=, in the order sudo writes them (eventlog.c new_logline). */
const ORDER = ['TTY', 'CHROOT', 'PWD', 'USER', 'GROUP', 'TSID', 'ENV'] as const;
type Key = (typeof ORDER)[number];
/** An account name as sudo prints it (no blanks, no colon, no control characters). */
const NAME = /^[^\s:;=\x00-\x1f\x7f]{1,256}$/;

function count(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) n++;
  return n;
}

/**
 * The classic syslog line of sudo. Accepted commands have no reason before "TTY="; refused
 * ones start with why ("command not allowed ; TTY=..."), read as kind "reject".
 */
export function parseSudoLine(message: string): ParseOutcome {
  if (message.length > MAX_RECORD_BYTES) return { ok: false, why: 'too-large' };
  // sudo pads the user name to 8 columns ("%8s : %s").
  const colon = message.indexOf(' : ');
  if (colon < 0) return { ok: false, why: 'not-a-command' };
  const user = message.slice(0, colon).trimStart();
  const rest = message.slice(colon + 3);
  const commandAt = rest.indexOf(`${SEP}COMMAND=`);
  if (!NAME.test(user) || commandAt < 0) return { ok: false, why: 'not-a-command' };
  // A second "; COMMAND=" (in the working folder or the arguments) makes the line readable two ways.
  if (count(rest, `${SEP}COMMAND=`) !== 1 || rest.includes('\n')) return { ok: false, why: 'ambiguous' };
  const head = rest.slice(0, commandAt).split(SEP);
  const commandText = rest.slice(commandAt + SEP.length + 'COMMAND='.length);
  // Before the first keyed field: the reason of a refusal (sudo's own words). sudo 1.9.13
  // leaves TTY= out when there is no terminal ("alice : PWD=/tmp ; USER=root ; COMMAND=...").
  const ttyAt = head.findIndex((p) => /^(TTY|CHROOT|PWD)=/.test(p));
  if (ttyAt < 0) return { ok: false, why: 'malformed' };
  const reasons = head.slice(0, ttyAt);
  if (reasons.some((r) => /^[A-Z]+=/.test(r))) return { ok: false, why: 'ambiguous' };
  const fields = new Map<Key, string>();
  let last = -1;
  for (const part of head.slice(ttyAt)) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq) as Key;
    const at = eq > 0 ? ORDER.indexOf(key) : -1;
    // Out of order, repeated or unknown: a value (a folder named "x ; USER=root") forged a field.
    if (at <= last) return { ok: false, why: at < 0 ? 'malformed' : 'ambiguous' };
    last = at;
    fields.set(key, part.slice(eq + 1));
  }
  const runAs = fields.get('USER');
  const cwd = fields.get('PWD');
  const tty = fields.get('TTY');
  if (runAs === undefined || cwd === undefined || !NAME.test(runAs)) return { ok: false, why: 'malformed' };
  if (commandText === '' || commandText.length > MAX_FIELD || cwd.length > MAX_FIELD) return { ok: false, why: commandText === '' ? 'malformed' : 'too-large' };
  const blank = commandText.indexOf(' ');
  const command = blank < 0 ? commandText : commandText.slice(0, blank);
  const argsText = blank < 0 ? '' : commandText.slice(blank + 1);
  const record: SudoRecord = { kind: reasons.length ? 'reject' : 'accept', user, runAs, command, argsText, cwd };
  if (tty !== undefined && tty !== 'unknown') record.tty = tty;
  if (reasons.length) record.reason = reasons.join('; ');
  return { ok: true, record };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length <= MAX_FIELD ? v : undefined;
}

function timeOf(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const t = v as { seconds?: unknown; nanoseconds?: unknown };
  if (typeof t.seconds !== 'number' || !Number.isSafeInteger(t.seconds) || t.seconds < 0) return undefined;
  const ns = typeof t.nanoseconds === 'number' && Number.isInteger(t.nanoseconds) && t.nanoseconds >= 0 && t.nanoseconds < 1e9 ? t.nanoseconds : 0;
  const d = new Date(t.seconds * 1000 + Math.floor(ns / 1e6));
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/**
 * One event of sudo's JSON log: `kind` is its key ("accept", "reject"; others such as
 * "exit" or "alert" are not commands), `body` its object.
 */
export function parseSudoJson(kind: string, body: unknown): ParseOutcome {
  if (kind !== 'accept' && kind !== 'reject') return { ok: false, why: 'not-a-command' };
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { ok: false, why: 'malformed' };
  const b = body as Record<string, unknown>;
  const user = str(b.submituser);
  const command = str(b.command);
  const runAs = str(b.runuser) ?? (b.runuid === 0 ? 'root' : undefined);
  if (user === undefined || command === undefined || command === '' || runAs === undefined || !NAME.test(user) || !NAME.test(runAs)) return { ok: false, why: 'malformed' };
  let argv: string[] | undefined;
  if (b.runargv !== undefined) {
    if (!Array.isArray(b.runargv) || b.runargv.length > MAX_ARGS || b.runargv.some((a) => typeof a !== 'string' || a.length > MAX_FIELD)) return { ok: false, why: 'malformed' };
    // runargv[0] is the name the user typed ("id"); the program is `command`.
    argv = (b.runargv as string[]).slice(1);
  }
  const record: SudoRecord = { kind, user, runAs, command, argv: argv ?? [] };
  const cwd = str(b.runcwd) ?? str(b.submitcwd);
  if (cwd !== undefined) record.cwd = cwd;
  const tty = str(b.ttyname);
  if (tty !== undefined) record.tty = tty;
  const time = timeOf(b.submit_time) ?? timeOf(b.server_time);
  if (time !== undefined) record.time = time;
  const reason = str(b.reason);
  if (kind === 'reject' && reason !== undefined) record.reason = reason;
  return { ok: true, record };
}

/**
 * sudo's JSON log file, as sudo 1.9 writes it: one JSON object whose members are the events,
 *   {\n    "accept": {...},\n    "accept": {...}\n}\n
 * sudo appends an event by writing over the closing "\n}\n", so an event, once written, keeps
 * its offset: the offset of its key is its identity, and the offset after its object is
 * where reading resumes.
 */
export interface ScannedEvent {
  /** Offset of the event's key (its opening quote) in the file. */
  offset: number;
  /** Offset just after the event's object. */
  end: number;
  kind: string;
  /** The object, parsed; undefined when it was larger than MAX_RECORD_BYTES or not JSON. */
  body?: unknown;
  why?: 'too-large' | 'malformed';
}

export interface ScanResult {
  events: ScannedEvent[];
  /** Where reading resumes: after the last complete event (or after the opening brace). */
  next: number;
  /** The bytes at the resume point are not sudo's JSON log (another format, or a file replaced in place). */
  foreign: boolean;
}

const WS = new Set([0x20, 0x0a, 0x0d, 0x09]);

/**
 * Reads complete events from `buf`, which holds the file's bytes from offset `base` on
 * (`base` 0: the file's start; otherwise a resume point from an earlier scan). An event whose
 * object is not complete yet (sudo is still writing, or the read stopped short) ends the scan.
 */
export function scanJsonLog(buf: Uint8Array, base: number): ScanResult {
  const events: ScannedEvent[] = [];
  let i = 0;
  const n = buf.length;
  const skipWs = (): void => {
    while (i < n && WS.has(buf[i] as number)) i++;
  };
  if (base === 0) {
    skipWs();
    if (i >= n) return { events, next: 0, foreign: false };
    if (buf[i] !== 0x7b) return { events, next: 0, foreign: true };
    i++;
  }
  let next = base === 0 ? i : 0;
  for (;;) {
    skipWs();
    if (i >= n) break;
    const c = buf[i];
    if (c === 0x2c /* , */) {
      i++;
      continue;
    }
    // The closing brace of the whole object: nothing more yet.
    if (c === 0x7d) break;
    if (c !== 0x22) return { events, next: base + next, foreign: true };
    const keyAt = i;
    const keyEnd = stringEnd(buf, i);
    if (keyEnd < 0) break;
    let kind: string;
    try {
      kind = JSON.parse(Buffer.from(buf.subarray(keyAt, keyEnd)).toString('utf8')) as string;
    } catch {
      return { events, next: base + next, foreign: true };
    }
    i = keyEnd;
    skipWs();
    if (i >= n) break;
    if (buf[i] !== 0x3a /* : */) return { events, next: base + next, foreign: true };
    i++;
    skipWs();
    if (i >= n) break;
    if (buf[i] !== 0x7b) return { events, next: base + next, foreign: true };
    const objectEnd = valueEnd(buf, i);
    if (objectEnd < 0) break;
    const ev: ScannedEvent = { offset: base + keyAt, end: base + objectEnd, kind };
    if (objectEnd - i > MAX_RECORD_BYTES) ev.why = 'too-large';
    else {
      try {
        ev.body = JSON.parse(Buffer.from(buf.subarray(i, objectEnd)).toString('utf8'));
      } catch {
        ev.why = 'malformed';
      }
    }
    events.push(ev);
    i = objectEnd;
    next = i;
  }
  return { events, next: base + next, foreign: false };
}

/**
 * Where an event too large for one read ends, found by reading on in pieces: a lexer over
 * `"KEY": {...}` (after blanks and commas) that keeps its string, escape and depth state from
 * one piece to the next, so an event of any size is stepped over without holding it (a user
 * controls how long sudo's record of their command is). `read(offset, length)` gives the
 * file's bytes from `offset` (fewer at its end). Answers the offset after the event's object,
 * -1 when it does not end before `size` (still being written), or null when the bytes are not
 * an event of sudo's JSON log.
 */
export async function skipEvent(read: (offset: number, length: number) => Promise<Uint8Array>, from: number, size: number, piece = 1024 * 1024): Promise<number | null> {
  type State = 'before' | 'key' | 'key-escape' | 'colon' | 'open' | 'body' | 'string' | 'string-escape';
  let state: State = 'before';
  let depth = 0;
  for (let at = from; at < size; ) {
    const buf = await read(at, Math.min(piece, size - at));
    if (buf.length === 0) return -1;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i] as number;
      switch (state) {
        case 'before':
          if (WS.has(c) || c === 0x2c) break;
          if (c !== 0x22) return null;
          state = 'key';
          break;
        case 'key':
          if (c === 0x5c) state = 'key-escape';
          else if (c === 0x22) state = 'colon';
          break;
        case 'key-escape':
          state = 'key';
          break;
        case 'colon':
          if (WS.has(c)) break;
          if (c !== 0x3a) return null;
          state = 'open';
          break;
        case 'open':
          if (WS.has(c)) break;
          if (c !== 0x7b) return null;
          depth = 1;
          state = 'body';
          break;
        case 'body':
          if (c === 0x22) state = 'string';
          else if (c === 0x7b || c === 0x5b) depth++;
          else if (c === 0x7d || c === 0x5d) {
            depth--;
            if (depth === 0) return at + i + 1;
          }
          break;
        case 'string':
          if (c === 0x5c) state = 'string-escape';
          else if (c === 0x22) state = 'body';
          break;
        case 'string-escape':
          state = 'string';
          break;
      }
    }
    at += buf.length;
  }
  return -1;
}

/** The offset after the JSON string starting at `at` (a quote), -1 when it does not end in `buf`. */
function stringEnd(buf: Uint8Array, at: number): number {
  for (let i = at + 1; i < buf.length; i++) {
    const c = buf[i];
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

/** The offset after the JSON object starting at `at` (a brace), -1 when it does not end in `buf`. */
function valueEnd(buf: Uint8Array, at: number): number {
  let depth = 0;
  for (let i = at; i < buf.length; i++) {
    const c = buf[i];
    if (c === 0x22) {
      const e = stringEnd(buf, i);
      if (e < 0) return -1;
      i = e - 1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** The arguments as a command line: one by one when known, else as sudo joined them. */
export function argsOf(record: SudoRecord, commandLine: (args: readonly string[]) => string): string {
  return record.argv !== undefined ? commandLine(record.argv) : (record.argsText ?? '');
}
