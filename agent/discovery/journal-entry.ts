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
  const outcome = messageOutcome(message);
  if (outcome.ok && outcome.record.time === undefined && realtime !== undefined) outcome.record.time = realtime;
  const senderUid = Number(uid);
  return realtime !== undefined ? { cursor, outcome, realtime, senderUid } : { cursor, outcome, senderUid };
}

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
