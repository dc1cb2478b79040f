import { Buffer } from 'node:buffer';
import { RegistryPolError } from './errors.js';
import { fixedDataSize, isStringType, RegType, regTypeName, type PolEntry } from './types.js';

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** "PReg" read as a little-endian uint32. */
export const PREG_SIGNATURE = 0x67655250;
export const PREG_VERSION = 1;
export const PREG_HEADER_SIZE = 8;
/** Default cap on the size of a file the reader accepts. */
export const DEFAULT_MAX_POL_BYTES = 16 * 1024 * 1024;

const OPEN = 0x5b; // '['
const SEMI = 0x3b; // ';'
const CLOSE = 0x5d; // ']'

export interface RegistryPolReadOptions {
  /** Refuse input larger than this many bytes (default 16 MiB). */
  maxBytes?: number;
}

/**
 * Parses a Registry.pol (MS-GPREG 2.2.1) by the lengths it declares. Names are
 * NUL-terminated UTF-16LE strings; everything after the value name is located by the
 * fixed-size type and size fields, so data containing ';' or ']' never confuses it.
 * Every failure is a RegistryPolError naming the byte offset where the faulty or
 * incomplete field starts (the size field when the data does not fit).
 * Each entry's `data` is a Uint8Array view into the given bytes, not a copy.
 */
export class RegistryPolReader {
  private readonly buf: Buffer;
  private pos = 0;
  // A DataView reads UTF-16 units and compares four bytes at a time.
  private readonly dv: DataView;
  // The same bytes as UTF-16 code units when they start at an even offset on a
  // little-endian machine: the NUL that ends a name is then found by a native indexOf.
  private readonly u16: Uint16Array | undefined;
  // Where the previous key's bytes are, and its string: keys repeat, and comparing bytes is cheaper than decoding.
  private prevKeyStart = 0;
  private prevKeyLen = 0;
  private prevKey = '';

  constructor(bytes: Uint8Array, options: RegistryPolReadOptions = {}) {
    const max = options.maxBytes ?? DEFAULT_MAX_POL_BYTES;
    if (bytes.byteLength > max) {
      throw new RegistryPolError('ASC_POL_TOO_LARGE', 0, `file of ${bytes.byteLength} bytes is over the cap`, `at most ${max} bytes`);
    }
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.u16 = LITTLE_ENDIAN && (bytes.byteOffset & 1) === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1) : undefined;
  }

  /** Reads and checks the 8-byte header. */
  readHeader(): void {
    const buf = this.buf;
    if (buf.length < 4) throw new RegistryPolError('ASC_POL_TRUNCATED', 0, 'file ends inside the header', 'the 4-byte signature "PReg"');
    if (buf.readUInt32LE(0) !== PREG_SIGNATURE) {
      throw new RegistryPolError('ASC_POL_BAD_SIGNATURE', 0, `signature is 0x${buf.readUInt32BE(0).toString(16).padStart(8, '0')}`, 'the signature "PReg" (50 52 65 67)');
    }
    if (buf.length < PREG_HEADER_SIZE) throw new RegistryPolError('ASC_POL_TRUNCATED', 4, 'file ends inside the header', 'a 4-byte version');
    const version = buf.readUInt32LE(4);
    if (version !== PREG_VERSION) throw new RegistryPolError('ASC_POL_BAD_VERSION', 4, `version is ${version}`, 'version 1');
    this.pos = PREG_HEADER_SIZE;
  }

  /**
   * Reads the next entry, or returns undefined at the end of the file. This is the hot
   * loop of the codec, so it is written flat: inline byte compares on the good path, the
   * previous key reused when its bytes repeat, and errors built in cold functions. The
   * checks and the offsets they report are those of MS-GPREG order: '[', key, ';', value
   * name, ';', type, ';', size, ';', data, ']'.
   */
  readEntry(): PolEntry | undefined {
    const buf = this.buf;
    const len = buf.length;
    const last = len - 1;
    const start = this.pos;
    if (start === len) return undefined;
    if (start + 1 >= len || buf[start] !== OPEN || buf[start + 1] !== 0) {
      throw new RegistryPolError('ASC_POL_TRAILING_BYTES', start, `${len - start} byte(s) after the last entry do not start an entry`, `'[' or the end of the file`);
    }

    // Key name. Keys repeat, so first try the previous key: equal bytes followed by a NUL.
    const keyStart = start + 2;
    const dv = this.dv;
    const prevLen = this.prevKeyLen;
    let p = keyStart + prevLen;
    let key: string;
    if (p < last && dv.getUint16(p) === 0 && sameBytes(dv, keyStart, this.prevKeyStart, prevLen)) {
      key = this.prevKey;
    } else {
      p = this.findNul(keyStart);
      if (p < 0) throw nameTruncated(keyStart, 'key name');
      key = this.prevKey = buf.toString('utf16le', keyStart, p);
      this.prevKeyLen = p - keyStart;
    }
    this.prevKeyStart = keyStart;
    p += 2;
    if (p + 1 < len && buf[p] === SEMI && buf[p + 1] === 0) p += 2;
    else throw semicolonError(buf, p, 'after the key name');

    // Value name.
    const valueStart = p;
    p = this.findNul(valueStart);
    if (p < 0) throw nameTruncated(valueStart, 'value name');
    const valueEnd = p;
    p += 2;
    if (p + 1 < len && buf[p] === SEMI && buf[p + 1] === 0) p += 2;
    else throw semicolonError(buf, p, 'after the value name');

    // Type and size: fixed-size fields, each followed by ';'.
    if (p + 4 > len) throw new RegistryPolError('ASC_POL_TRUNCATED', p, 'file ends inside the type field', 'a 4-byte type');
    const type = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
    p += 4;
    if (p + 1 < len && buf[p] === SEMI && buf[p + 1] === 0) p += 2;
    else throw semicolonError(buf, p, 'after the type');
    const sizeAt = p;
    if (p + 4 > len) throw new RegistryPolError('ASC_POL_TRUNCATED', p, 'file ends inside the size field', 'a 4-byte size');
    const size = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
    p += 4;
    if (p + 1 < len && buf[p] === SEMI && buf[p + 1] === 0) p += 2;
    else throw semicolonError(buf, p, 'after the size');

    // Data, located by its declared size, then ']'.
    if (size > len - p) {
      throw new RegistryPolError('ASC_POL_SIZE_BEYOND_END', sizeAt, `declared data size ${size} runs past the end of the file`, `at most ${len - p} bytes of data`);
    }
    if (type <= RegType.REG_QWORD) checkDataSize(type, size, sizeAt);
    p += size;
    if (p + 1 >= len) throw new RegistryPolError('ASC_POL_TRUNCATED', p, 'file ends before the end of the entry', `']'`);
    if (buf[p] !== CLOSE || buf[p + 1] !== 0) throw new RegistryPolError('ASC_POL_BAD_DELIMITER', p, 'entry is not closed', `']' after ${size} bytes of data`);
    this.pos = p + 2;
    return new ReadPolEntry(key, buf, valueStart, valueEnd - valueStart);
  }

  /** Offset of the UTF-16 NUL at or after `from` (an even distance from the entry start), or -1. */
  private findNul(from: number): number {
    const u16 = this.u16;
    if (u16 !== undefined && (from & 1) === 0) {
      // Most names are short: a JS loop finds their end sooner than a native call would start.
      const start = from >> 1;
      const stop = Math.min(start + 48, u16.length);
      for (let i = start; i < stop; i++) if (u16[i] === 0) return i * 2;
      const i = u16.indexOf(0, stop);
      return i < 0 ? -1 : i * 2;
    }
    const dv = this.dv;
    const last = this.buf.length - 1;
    let p = from;
    while (p < last && dv.getUint16(p) !== 0) p += 2;
    return p < last ? p : -1;
  }

  /** Reads the header and every entry. */
  readAll(): PolEntry[] {
    this.readHeader();
    const entries: PolEntry[] = [];
    for (let e = this.readEntry(); e !== undefined; e = this.readEntry()) entries.push(e);
    return entries;
  }
}

/**
 * An entry as read from a file. The reader has checked every field; the object keeps only
 * the key and where the value name starts and ends. The type, the size and the data follow
 * the name at fixed distances (NUL, ';', type, ';', size, ';'), so they are read from the
 * file's bytes when asked for, and the name is decoded on first use. 100,000 small objects
 * cost far less to keep than 100,000 objects with strings and views (garbage collection
 * dominates a read otherwise). The writer copies names and data straight from the source.
 */
export class ReadPolEntry implements PolEntry {
  private name: string | undefined;

  constructor(
    readonly key: string,
    /** The whole file the entry was read from. */
    readonly source: Buffer,
    /** Where the value name's UTF-16LE bytes are in `source` (without the NUL). */
    readonly nameOffset: number,
    readonly nameBytes: number,
  ) {}

  get valueName(): string {
    return (this.name ??= decodeName(this.source, this.nameOffset, this.nameOffset + this.nameBytes));
  }

  get type(): number {
    return this.source.readUInt32LE(this.nameOffset + this.nameBytes + TYPE_AFTER_NAME);
  }

  get dataSize(): number {
    return this.source.readUInt32LE(this.nameOffset + this.nameBytes + SIZE_AFTER_NAME);
  }

  get dataOffset(): number {
    return this.nameOffset + this.nameBytes + DATA_AFTER_NAME;
  }

  /** A view into the file's bytes (made anew on each access: keep it if you need it twice). */
  get data(): Uint8Array {
    const s = this.source;
    return new Uint8Array(s.buffer, s.byteOffset + this.dataOffset, this.dataSize);
  }

  /** A plain-object copy (`{ key, valueName, type, data }`), for comparing and serialising. */
  toJSON(): PolEntry {
    return { key: this.key, valueName: this.valueName, type: this.type, data: this.data };
  }
}

// Distances from the end of a value name: NUL (2), ';' (2), type (4), ';' (2), size (4), ';' (2).
const TYPE_AFTER_NAME = 4;
const SIZE_AFTER_NAME = 10;
const DATA_AFTER_NAME = 16;

/** Whether the n bytes at a and b are equal (n even), compared four bytes at a time. */
function sameBytes(dv: DataView, a: number, b: number, n: number): boolean {
  let i = 0;
  for (const end = n - 3; i < end; i += 4) if (dv.getUint32(a + i) !== dv.getUint32(b + i)) return false;
  return i === n || dv.getUint16(a + i) === dv.getUint16(b + i);
}

/** Scratch arrays of exact lengths for decoding short names without a call into C++. */
const SHORT_NAME = 32;
const scratch: number[][] = Array.from({ length: SHORT_NAME + 1 }, (_, n) => new Array<number>(n).fill(0));

/**
 * UTF-16LE bytes [start, end) as a string, code unit for code unit (lone surrogates are
 * kept, unlike TextDecoder). Short names are built in JS, which beats Buffer#toString's
 * per-call cost; longer ones go to Buffer#toString.
 */
function decodeName(buf: Buffer, start: number, end: number): string {
  const n = (end - start) >> 1;
  if (n === 0) return '';
  if (n > SHORT_NAME) return buf.toString('utf16le', start, end);
  const units = scratch[n]!;
  for (let i = 0, q = start; i < n; i++, q += 2) units[i] = buf[q]! | (buf[q + 1]! << 8);
  return String.fromCharCode.apply(null, units);
}

function nameTruncated(from: number, what: string): RegistryPolError {
  return new RegistryPolError('ASC_POL_TRUNCATED', from, `file ends inside the ${what}`, `a ${what} ended by a UTF-16 NUL`);
}

function semicolonError(buf: Buffer, p: number, where: string): RegistryPolError {
  if (p + 1 >= buf.length) return new RegistryPolError('ASC_POL_TRUNCATED', p, `file ends ${where}`, `';'`);
  return new RegistryPolError('ASC_POL_BAD_DELIMITER', p, `no ';' ${where}`, `';'`);
}

/** String types need an even size; DWORD and QWORD need exactly 4 and 8 bytes. */
function checkDataSize(type: number, size: number, sizeAt: number): void {
  if (isStringType(type) && (size & 1) !== 0) {
    throw new RegistryPolError('ASC_POL_ODD_UTF16', sizeAt, `${regTypeName(type)} data of ${size} bytes is not whole UTF-16 characters`, 'an even data size');
  }
  const fixed = fixedDataSize(type);
  if (fixed !== undefined && size !== fixed) {
    throw new RegistryPolError('ASC_POL_BAD_DATA_SIZE', sizeAt, `${regTypeName(type)} data is ${size} bytes`, `${fixed} bytes`);
  }
}

/** Parses a whole Registry.pol. */
export function readRegistryPol(bytes: Uint8Array, options?: RegistryPolReadOptions): PolEntry[] {
  return new RegistryPolReader(bytes, options).readAll();
}
