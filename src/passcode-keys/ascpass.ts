import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { AscendError } from '../errors.js';
import { isoSeconds, utcOffsetText, type PasscodeTerms } from '../passcode/index.js';
import { createPrivateFile } from './key-file.js';

/**
 * The `.ascpass` export file: a readable summary of `Key: value` lines, then the token
 * between armour lines. Only the token counts: it is signed, the summary is not, and
 * every reader (inspect, check, the agent) ignores the summary.
 *
 *     Ascend TSE passcode. The summary is for people; only the signed token below counts.
 *     Id: 0b6c1d1e-...
 *     Title: Printer driver for Bob
 *     ...
 *
 *     -----BEGIN ASCEND PASSCODE-----
 *     eyJhbGciOiJFZERTQSIsImtpZCI6Ii...
 *     -----END ASCEND PASSCODE-----
 */
export const ASCPASS_EXTENSION = '.ascpass';
export const ASCPASS_FIRST_LINE = 'Ascend TSE passcode. The summary is for people; only the signed token below counts.';
export const ASCPASS_BEGIN = '-----BEGIN ASCEND PASSCODE-----';
export const ASCPASS_END = '-----END ASCEND PASSCODE-----';

/** One summary value on one line: control characters (line breaks among them) become spaces. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

export function formatAscpass(token: string, summary: readonly (readonly [string, string])[]): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(token)) throw new AscendError('ASC_INTERNAL', 'a signed token is not in compact JWS form');
  const lines = [ASCPASS_FIRST_LINE, ...summary.map(([k, v]) => `${k}: ${oneLine(v)}`), '', ASCPASS_BEGIN, token, ASCPASS_END, ''];
  return lines.join('\n');
}

/**
 * The token of an `.ascpass` text: what stands between the armour lines (whitespace
 * removed, so a mail client's wrapping does no harm), or a bare token file. Throws
 * ASC_PASSCODE_MALFORMED when there is none or more than one.
 */
export function tokenFromAscpass(text: string, where: string): string {
  const body = text.replace(/^\uFEFF/, '');
  const begin = body.indexOf(ASCPASS_BEGIN);
  if (begin < 0) {
    const bare = body.trim();
    if (bare.length > 0 && !/\s/.test(bare) && !bare.includes('-----')) return bare;
    throw new AscendError('ASC_PASSCODE_MALFORMED', `${where}: no passcode in the file (no "${ASCPASS_BEGIN}" line)`);
  }
  const from = begin + ASCPASS_BEGIN.length;
  const end = body.indexOf(ASCPASS_END, from);
  if (end < 0) throw new AscendError('ASC_PASSCODE_MALFORMED', `${where}: "${ASCPASS_BEGIN}" without "${ASCPASS_END}"`);
  if (body.indexOf(ASCPASS_BEGIN, end) >= 0) throw new AscendError('ASC_PASSCODE_MALFORMED', `${where}: the file holds more than one passcode`);
  const token = body.slice(from, end).replace(/\s+/g, '');
  if (token.length === 0) throw new AscendError('ASC_PASSCODE_MALFORMED', `${where}: the passcode block is empty`);
  return token;
}

export { readAscpassText } from './ascpass-read.js';

/** Refuses early (before a key is loaded or anything signed) an --out that exists or whose folder does not. */
export async function checkNewAscpassPath(file: string): Promise<void> {
  const abs = path.resolve(file);
  const parent = await fs.stat(path.dirname(abs)).catch(() => undefined);
  if (!parent?.isDirectory()) throw new AscendError('ASC_FILE_NOT_FOUND', `${file}: folder ${path.dirname(file)} does not exist`);
  const existing = await fs.lstat(abs).catch(() => undefined);
  if (existing) throw new AscendError('ASC_FILE_EXISTS', `${file}: exists already; a passcode file is never overwritten`, { hint: 'give a new --out path' });
}

/**
 * Writes a new passcode file: O_EXCL (never overwrites: an earlier passcode may be in that
 * file) and mode 600, since whoever holds the token can use it.
 */
export function writeAscpassFile(file: string, text: string): Promise<string> {
  return createPrivateFile(file, text, 'passcode file', 'give a new --out path');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** "1d2h30m15s" style, the way `--duration` takes it. */
export function durationText(seconds: number): string {
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('') || '0s';
}

/**
 * The readable summary of a passcode's terms, `Key: value` pairs in the wizard's order.
 * Written into .ascpass files and shown by `passcode inspect`; never read back.
 */
export function passcodeSummary(terms: PasscodeTerms, kid: string): [string, string][] {
  const list = (items: readonly string[], empty: string): string => (items.length ? items.join(', ') : empty);
  const zone = terms.utcOffsetMinutes === undefined ? "the machine's time zone" : `UTC${utcOffsetText(terms.utcOffsetMinutes)}`;
  const rows: [string, string][] = [
    ['Id', terms.id],
    ['Title', terms.title],
    ['Issuer', terms.iss],
    ['Issued', isoSeconds(terms.iat)],
    ['Key-Id', kid],
    ['Max-Uses', String(terms.maxUses)],
    ['Duration', `${durationText(terms.durationSeconds)} from activation`],
    ['End-Processes', terms.endProcesses ? 'yes, when the duration expires' : 'no'],
    ['Computers', list(terms.computers, 'any')],
    ['Users', list(terms.users, 'any')],
    ['Not-Before', terms.notBefore === undefined ? 'any time' : isoSeconds(terms.notBefore)],
    ['Not-After', terms.notAfter === undefined ? 'no end' : isoSeconds(terms.notAfter)],
    ['Weekdays', terms.weekdays === undefined ? 'every day' : `${terms.weekdays.map((d) => DAYS[d] ?? String(d)).join(', ')} (${zone})`],
    ['Hours', terms.hours === undefined ? 'all day' : `${terms.hours.from}-${terms.hours.to} (${zone})`],
    ['Groups', list(terms.groups, "the policy's TSE groups, else S-1-5-32-544 (BUILTIN\\Administrators)")],
    ['Privileges', list(terms.privileges, "the policy's TSE privileges")],
    ['Integrity', terms.integrity],
  ];
  return rows;
}
