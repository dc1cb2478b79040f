/**
 * GPT.INI, byte for byte (DESIGN sections 3 and 4).
 *
 * Windows writes GPT.INI through the profile API in the system's ANSI code page (1251 on a
 * Russian DC, 1252 on an English one, 932 on a Japanese one); some tools write UTF-16LE
 * with a BOM or UTF-8 with a BOM. Nothing in the file says which code page it is in. The
 * syntax Ascend reads and edits ([General], `Version=`, line ends) is ASCII in every one of
 * them, so this codec never decodes the file to edit it: it finds the Version digits as
 * ASCII code units (bytes, or 16-bit units after a UTF-16LE BOM), and an edit replaces
 * only those bytes. Every other byte (a displayName in any code page, CRLF or LF, other
 * sections and keys, trailing bytes, a missing final newline) is kept exactly.
 *
 * Double-byte code pages (932, 936, 949, 950) are safe as well: their lead bytes are
 * 0x81 or above, and CR, LF and '=' are never trail bytes, so no key of a line can read as
 * "Version" and no Version digits can be found inside a multi-byte character.
 *
 * Reading follows the profile API: section and key names are case-insensitive and
 * trimmed of blanks, the first [General] section counts, and in it the first Version.
 * Pure: no I/O.
 */
import { AscendError } from '../../errors.js';

/** How the file's bytes are laid out; 'ascii-compatible' is any single- or double-byte code page, or UTF-8 without a BOM. */
export type GptIniEncoding = 'utf-16le-bom' | 'utf-8-bom' | 'ascii-compatible';

/** GPT.INI as read: the bytes, where its values are, and the Version. */
export interface GptIni {
  /** The file as read; an edit copies it with only the Version digits replaced. */
  readonly bytes: Uint8Array;
  readonly encoding: GptIniEncoding;
  /** [General] Version: the user half << 16 | the computer half. */
  readonly version: number;
  /** Byte offsets [start, end) of the Version digits in `bytes`. */
  readonly versionAt: readonly [number, number];
  /** Byte offsets [start, end) of the [General] displayName value, undecoded, when there is one. */
  readonly displayNameAt?: readonly [number, number];
}

/** A GPT.INI is a few dozen bytes; anything near this is not one. */
export const MAX_GPT_INI_BYTES = 1024 * 1024;
/** The code page a displayName without a BOM that is not UTF-8 is decoded in, unless told otherwise. */
export const DEFAULT_GPT_INI_CODE_PAGE = 'windows-1252';

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const EQ = 0x3d;
const OPEN = 0x5b;
const CLOSE = 0x5d;

/** The file's code units: bytes, or little-endian 16-bit units after a UTF-16LE BOM. */
interface Units {
  readonly encoding: GptIniEncoding;
  /** Byte offset of unit 0 (after the BOM). */
  readonly start: number;
  /** Bytes per unit. */
  readonly width: 1 | 2;
  readonly length: number;
  at(i: number): number;
}

function unitsOf(bytes: Uint8Array): Units {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
    // An odd final byte is no unit; it stays in the file untouched.
    return { encoding: 'utf-16le-bom', start: 2, width: 2, length: (bytes.length - 2) >>> 1, at: (i) => (bytes[2 + 2 * i] as number) | ((bytes[3 + 2 * i] as number) << 8) };
  }
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const start = bom ? 3 : 0;
  return { encoding: bom ? 'utf-8-bom' : 'ascii-compatible', start, width: 1, length: bytes.length - start, at: (i) => bytes[start + i] as number };
}

const isBlank = (u: number): boolean => u === SPACE || u === TAB;

/** [from, to) with blanks trimmed off both ends. */
function trim(u: Units, from: number, to: number): [number, number] {
  let a = from;
  let b = to;
  while (a < b && isBlank(u.at(a))) a++;
  while (b > a && isBlank(u.at(b - 1))) b--;
  return [a, b];
}

/** True when units [from, to) spell `word` (ASCII letters, case-insensitive). */
function spells(u: Units, from: number, to: number, word: string): boolean {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    const c = u.at(from + i);
    const lower = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
    if (lower !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** Units [from, to) for a message: printable ASCII as is, anything else escaped, cut at 40. */
function shown(u: Units, from: number, to: number): string {
  let out = '';
  for (let i = from; i < to && i < from + 40; i++) {
    const c = u.at(i);
    out += c >= 0x20 && c < 0x7f && c !== 0x5c && c !== 0x22 ? String.fromCharCode(c) : u.width === 1 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return to - from > 40 ? `${out}...` : out;
}

/**
 * Reads GPT.INI's bytes. Refuses (ASC_GPO_INVALID) a file without a [General] Version, a
 * Version that is not a decimal number of 32 bits, and a file larger than MAX_GPT_INI_BYTES.
 */
export function parseGptIni(bytes: Uint8Array): GptIni {
  if (bytes.length > MAX_GPT_INI_BYTES) throw new AscendError('ASC_GPO_INVALID', `GPT.INI is ${bytes.length} bytes, more than a GPT.INI can be (${MAX_GPT_INI_BYTES})`);
  const u = unitsOf(bytes);
  const toBytes = (from: number, to: number): [number, number] => [u.start + from * u.width, u.start + to * u.width];
  /** 0: before the first [General], 1: in it, 2: after it (later [General] sections do not count). */
  let general = 0;
  let versionAt: [number, number] | undefined;
  let displayNameAt: [number, number] | undefined;
  let lineStart = 0;
  while (lineStart <= u.length && general < 2) {
    let lineEnd = lineStart;
    while (lineEnd < u.length && u.at(lineEnd) !== LF) lineEnd++;
    const next = lineEnd + 1;
    if (lineEnd > lineStart && u.at(lineEnd - 1) === CR) lineEnd--;
    const [a, b] = trim(u, lineStart, lineEnd);
    if (a < b && u.at(a) === OPEN) {
      let close = a + 1;
      while (close < b && u.at(close) !== CLOSE) close++;
      const [na, nb] = trim(u, a + 1, close);
      const isGeneral = spells(u, na, nb, 'general');
      if (general === 1) general = 2;
      else if (general === 0 && isGeneral) general = 1;
    } else if (general === 1) {
      let eq = a;
      while (eq < b && u.at(eq) !== EQ) eq++;
      if (eq < b) {
        const [ka, kb] = trim(u, a, eq);
        const [va, vb] = trim(u, eq + 1, b);
        if (versionAt === undefined && spells(u, ka, kb, 'version')) {
          let digits = va < vb;
          for (let i = va; i < vb && digits; i++) digits = u.at(i) >= 0x30 && u.at(i) <= 0x39;
          if (!digits) throw new AscendError('ASC_GPO_INVALID', `GPT.INI: Version "${shown(u, va, vb)}" is not a number`);
          versionAt = [va, vb];
        } else if (displayNameAt === undefined && spells(u, ka, kb, 'displayname')) {
          displayNameAt = [va, vb];
        }
      }
    }
    lineStart = next;
  }
  if (versionAt === undefined) throw new AscendError('ASC_GPO_INVALID', 'GPT.INI has no [General] Version');
  let version = 0;
  for (let i = versionAt[0]; i < versionAt[1]; i++) {
    version = version * 10 + (u.at(i) - 0x30);
    if (version > 0xffffffff) throw new AscendError('ASC_GPO_INVALID', `GPT.INI: Version "${shown(u, versionAt[0], versionAt[1])}" is larger than 32 bits`);
  }
  return {
    bytes,
    encoding: u.encoding,
    version,
    versionAt: toBytes(versionAt[0], versionAt[1]),
    ...(displayNameAt !== undefined ? { displayNameAt: toBytes(displayNameAt[0], displayNameAt[1]) } : {}),
  };
}

function checkVersion(version: number): string {
  if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) throw new AscendError('ASC_GPO_INVALID', `GPT.INI: Version ${String(version)} is not a 32-bit number`);
  return String(version);
}

/**
 * The file with a new Version: the same bytes, except the Version digits, written in the
 * file's own layout (bytes, or UTF-16LE units). Nothing else is decoded or re-encoded.
 */
export function setGptIniVersion(ini: GptIni, version: number): Uint8Array {
  const digits = checkVersion(version);
  const width = ini.encoding === 'utf-16le-bom' ? 2 : 1;
  const value = new Uint8Array(digits.length * width);
  for (let i = 0; i < digits.length; i++) value[i * width] = digits.charCodeAt(i);
  const [start, end] = ini.versionAt;
  const out = new Uint8Array(ini.bytes.length - (end - start) + value.length);
  out.set(ini.bytes.subarray(0, start), 0);
  out.set(value, start);
  out.set(ini.bytes.subarray(end), start + value.length);
  return out;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * A new GPT.INI, ASCII only, CRLF: `[General]`, `Version=N` and, when the name is
 * printable ASCII without blanks at its ends, `displayName=NAME`. A name with anything else
 * is left out, as `samba-tool gpo create` leaves it out for every GPO: the file has no code
 * page of its own, a UTF-8 name would read as mojibake on Windows, and no client reads the
 * name there (the directory's displayName is the GPO's name). A line end in a name could
 * otherwise add lines, a second Version among them.
 */
export function createGptIni(version: number, displayName?: string): Uint8Array {
  const lines = ['[General]', `Version=${checkVersion(version)}`];
  if (displayName !== undefined && displayName !== '' && PRINTABLE_ASCII.test(displayName) && displayName === displayName.trim()) lines.push(`displayName=${displayName}`);
  return new TextEncoder().encode(`${lines.join('\r\n')}\r\n`);
}

const NAMED_CODE_PAGES: Readonly<Record<number, string>> = { 932: 'shift_jis', 936: 'gbk', 949: 'euc-kr', 950: 'big5', 20866: 'koi8-r', 21866: 'koi8-u', 28591: 'iso-8859-1' };

/**
 * The TextDecoder encoding for a code page given as a Windows number ("1251", "932") or a
 * WHATWG label ("windows-1251", "cp1251", "shift_jis"). Only ASCII-compatible code pages:
 * a UTF-16 file carries its BOM and needs none. Unknown ones are refused (ASC_USAGE).
 */
export function gptIniCodePage(text: string): string {
  const t = text.trim().toLowerCase();
  let label = t;
  if (/^\d{3,5}$/.test(t)) {
    const n = Number(t);
    label = NAMED_CODE_PAGES[n] ?? (n === 874 || (n >= 1250 && n <= 1258) ? `windows-${n}` : n >= 28592 && n <= 28606 ? `iso-8859-${n - 28590}` : '');
  }
  let encoding: string | undefined;
  try {
    encoding = label === '' ? undefined : new TextDecoder(label).encoding;
  } catch {
    encoding = undefined;
  }
  if (encoding === undefined || encoding.startsWith('utf-16') || encoding === 'replacement') {
    throw new AscendError('ASC_USAGE', `"${text.slice(0, 40)}" is not a code page GPT.INI can be read in`, { hint: 'give a Windows code page number such as 1251 or 932, or a label such as windows-1251' });
  }
  return encoding;
}

/**
 * The [General] displayName as text, for showing only (an edit never writes it back):
 * UTF-16LE after its BOM, UTF-8 after its BOM, valid UTF-8 (ASCII included), else the
 * given code page (a number or label, default windows-1252), the system code page the
 * file was most likely written in.
 */
export function decodeGptIniDisplayName(ini: GptIni, codePage: string = DEFAULT_GPT_INI_CODE_PAGE): string | undefined {
  if (ini.displayNameAt === undefined) return undefined;
  const raw = ini.bytes.subarray(ini.displayNameAt[0], ini.displayNameAt[1]);
  if (ini.encoding === 'utf-16le-bom') return new TextDecoder('utf-16le').decode(raw);
  if (ini.encoding === 'utf-8-bom') return new TextDecoder('utf-8').decode(raw);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return new TextDecoder(gptIniCodePage(codePage)).decode(raw);
  }
}
