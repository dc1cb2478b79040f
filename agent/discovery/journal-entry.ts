/**
 * One line of `journalctl -o json`: a journal entry, accepted as sudo's record only when the
 * journal itself vouches that sudo wrote it (pure: no I/O).
 *
 * Anyone can put a line that reads like sudo's into the journal (`logger -t sudo ...`); what
 * they cannot set are the fields journald adds from the kernel's view of the sender (the
 * "trusted" fields, names starting with "_"): the process name (_COMM), the executable (_EXE),
 * the transport and the sender's real uid (_UID). An entry counts only when the process was
 * one of the agent's known sudo executables logging through syslog. sudo logs with the real
 * uid of the user who ran it (seen on Debian 12: _UID=1002 for a user's sudo), so _UID is not
 * 0; it is returned as `senderUid`, and discovery reports the record only when the record's
 * user is that uid's account (a user can at most speak of themselves: see discovery.ts).
 */
import { parseSudoJson, parseSudoLine, type ParseOutcome } from './sudo-record.js';

export type JournalOutcome =
  | { cursor: string; outcome: ParseOutcome; realtime?: string; senderUid: number }
  /** The line is not a journal entry at all (no cursor): nothing to resume from. */
  | { cursor: null; outcome: { ok: false; why: 'malformed' } }
  /** A journal entry that sudo did not write (a forged "sudo" line): skipped and counted. */
  | { cursor: string; outcome: { ok: false; why: 'untrusted' } };

const MAX_LINE = 8 * 1024 * 1024;

/** A field holding one text value: journalctl writes a field that is not UTF-8 as an array of bytes, and a repeated field as an array of values. */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length > 0 && v.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 255)) {
    // Not UTF-8: read what can be read (a name with an invalid byte shows U+FFFD, never a different valid name).
    return Buffer.from(v as number[]).toString('utf8');
  }
  return undefined;
}

/** The entry of one `journalctl -o json` line; `sudoExes` are the real paths of sudo on this machine. */
export function journalEntry(line: string, sudoExes: ReadonlySet<string>): JournalOutcome {
  if (line.length > MAX_LINE) return { cursor: null, outcome: { ok: false, why: 'malformed' } };
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return { cursor: null, outcome: { ok: false, why: 'malformed' } };
  }
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return { cursor: null, outcome: { ok: false, why: 'malformed' } };
  const e = entry as Record<string, unknown>;
  const cursor = e.__CURSOR;
  if (typeof cursor !== 'string' || cursor === '' || cursor.length > 4096) return { cursor: null, outcome: { ok: false, why: 'malformed' } };
  // Trusted fields: each present once, as text (a repeated _UID is not the journal's doing).
  const uid = e._UID;
  const comm = e._COMM;
  const exe = e._EXE;
  if (typeof uid !== 'string' || !/^\d{1,10}$/.test(uid) || comm !== 'sudo' || typeof exe !== 'string' || !sudoExes.has(exe) || e._TRANSPORT !== 'syslog') return { cursor, outcome: { ok: false, why: 'untrusted' } };
  const message = text(e.MESSAGE);
  if (message === undefined) return { cursor, outcome: { ok: false, why: 'malformed' }, senderUid: Number(uid) };
  const realtime = typeof e.__REALTIME_TIMESTAMP === 'string' && /^\d{1,17}$/.test(e.__REALTIME_TIMESTAMP) ? new Date(Math.floor(Number(e.__REALTIME_TIMESTAMP) / 1000)).toISOString() : undefined;
  let outcome = messageOutcome(message);
  // sudo splits a classic line longer than its syslog limit at a blank, and a working folder can
  // hold " ; USER=root ; COMMAND=..." just before that blank: the first part then reads as a
  // record of another command. So a classic record counts only when it agrees with the command
  // line the journal read from sudo's own process (_CMDLINE): the same program and arguments.
  if (outcome.ok && !isCee(message) && !agreesWithCmdline(outcome.record, text(e._CMDLINE))) outcome = { ok: false, why: 'ambiguous' };
  if (outcome.ok && outcome.record.time === undefined && realtime !== undefined) outcome.record.time = realtime;
  const senderUid = Number(uid);
  return realtime !== undefined ? { cursor, outcome, realtime, senderUid } : { cursor, outcome, senderUid };
}

function isCee(message: string): boolean {
  const cee = message.indexOf('@cee:');
  return cee >= 0 && cee <= 1;
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/**
 * sudo's options that take no value: they may stand before the command. Any other option
 * (a prompt, a folder, a timeout, another user's list: values that may hold blanks and so
 * cannot be told apart from the command in the blank-joined _CMDLINE) makes the record
 * unverifiable, except -u/-g, whose value must be the record's own run-as user / a plain group.
 */
const PLAIN_FLAGS = new Set(['A', 'b', 'E', 'H', 'K', 'k', 'n', 'P', 'S', 'B', 'N']);
const LONG_PLAIN = new Set(['--askpass', '--background', '--preserve-env', '--set-home', '--remove-timestamp', '--reset-timestamp', '--non-interactive', '--preserve-groups', '--stdin', '--bell', '--no-update']);

/**
 * Where the command starts in sudo's argv, and the run-as user and group the options name;
 * null when the options cannot be read one way only.
 */
function sudoCommandStart(words: readonly string[]): { at: number; user?: string; group?: string } | null {
  let user: string | undefined;
  let group: string | undefined;
  const plainName = (v: string | undefined): v is string => v !== undefined && /^[A-Za-z0-9_][A-Za-z0-9_.@-]*\$?$/.test(v);
  for (let i = 1; i < words.length; i++) {
    const w = words[i] as string;
    if (w === '--') return { at: i + 1, ...(user === undefined ? {} : { user }), ...(group === undefined ? {} : { group }) };
    if (!w.startsWith('-') || w === '-') return { at: i, ...(user === undefined ? {} : { user }), ...(group === undefined ? {} : { group }) };
    if (w.startsWith('--')) {
      const [name, value] = w.includes('=') ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w, undefined];
      if (name === '--user' || name === '--group') {
        const v = value ?? words[++i];
        if (!plainName(v)) return null;
        if (name === '--user') user = v;
        else group = v;
        continue;
      }
      if (LONG_PLAIN.has(name) && (value === undefined || name === '--preserve-env')) {
        if (value !== undefined && !/^[A-Za-z0-9_,]*$/.test(value)) return null;
        continue;
      }
      return null;
    }
    // A bundle of short options: flags, then at most one -u/-g whose value is the rest or the next word.
    for (let k = 1; k < w.length; k++) {
      const c = w[k] as string;
      if (PLAIN_FLAGS.has(c)) continue;
      if (c === 'u' || c === 'g') {
        const v = k + 1 < w.length ? w.slice(k + 1) : words[++i];
        if (!plainName(v)) return null;
        if (c === 'u') user = v;
        else group = v;
        break;
      }
      return null;
    }
  }
  return null;
}

/**
 * Whether a classic record is what sudo's process was started with: the journal's _CMDLINE
 * (argv joined by blanks) read with sudo's option grammar must give exactly the record's
 * program (the path sudo logged, or a bare name sudo found in a system folder) and arguments,
 * and the run-as user the options name (root without -u). No _CMDLINE, options that take other
 * values, or a relative program path: not verifiable, not counted.
 */
export function agreesWithCmdline(r: { command: string; argsText?: string; runAs?: string }, cmdline: string | undefined): boolean {
  if (cmdline === undefined || cmdline === '') return false;
  const words = cmdline.split(' ');
  if (baseName(words[0] ?? '') !== 'sudo') return false;
  const start = sudoCommandStart(words);
  if (start === null || start.at >= words.length) return false;
  const program = words[start.at] as string;
  if (words.slice(start.at + 1).join(' ') !== (r.argsText ?? '')) return false;
  if (r.runAs !== undefined && r.runAs !== (start.user ?? 'root')) return false;
  if (program.includes('/')) return program === r.command;
  // A bare name: sudo found it on its secure_path; only the system folders count (not /usr/local).
  return program === baseName(r.command) && SECURE_DIRS.has(r.command.slice(0, r.command.lastIndexOf('/')));
}

/** The system folders of Debian's default secure_path (sudoers), where sudo finds a bare name. */
const SECURE_DIRS: ReadonlySet<string> = new Set(['/usr/sbin', '/usr/bin', '/sbin', '/bin']);

/**
 * sudo's message: the classic line, or with `log_format=json` its JSON event sent to syslog
 * ("@cee:" and an object holding one event, under "sudo" or at the top).
 */
function messageOutcome(message: string): ParseOutcome {
  const cee = message.indexOf('@cee:');
  if (cee >= 0 && cee <= 1) {
    let v: unknown;
    try {
      v = JSON.parse(message.slice(cee + 5));
    } catch {
      return { ok: false, why: 'malformed' };
    }
    const outer = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    const inner = outer && outer.sudo && typeof outer.sudo === 'object' && !Array.isArray(outer.sudo) ? (outer.sudo as Record<string, unknown>) : outer;
    if (!inner) return { ok: false, why: 'malformed' };
    const keys = Object.keys(inner);
    if (keys.length !== 1) return { ok: false, why: 'malformed' };
    return parseSudoJson(keys[0] as string, inner[keys[0] as string]);
  }
  return parseSudoLine(message);
}
