import { Buffer } from 'node:buffer';
import { RegistryPolError } from './errors.js';
import { fixedDataSize, isStringType, regTypeName, type PolEntry } from './types.js';

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
 * Every failure is a RegistryPolError naming the byte offset.
 */
export class RegistryPolReader {
  private readonly buf: Buffer;
  private pos = 0;
  // The previous key's bytes and string: keys repeat, and comparing bytes is cheaper than decoding.
  private prevKeyStart = -1;
  private prevKeyEnd = -1;
  private prevKey = '';

  constructor(bytes: Uint8Array, options: RegistryPolReadOptions = {}) {
    const max = options.maxBytes ?? DEFAULT_MAX_POL_BYTES;
    if (bytes.byteLength > max) {
      throw new RegistryPolError('ASC_POL_TOO_LARGE', 0, `file of ${bytes.byteLength} bytes is over the cap`, `at most ${max} bytes`);
    }
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

  /** Reads the next entry, or returns undefined at the end of the file. */
  readEntry(): PolEntry | undefined {
    const buf = this.buf;
    const len = buf.length;
    const start = this.pos;
    if (start === len) return undefined;
    if (start + 1 >= len || buf[start] !== OPEN || buf[start + 1] !== 0) {
      throw new RegistryPolError('ASC_POL_TRAILING_BYTES', start, `${len - start} byte(s) after the last entry do not start an entry`, `'[' or the end of the file`);
    }
    const keyStart = start + 2;
    const keyEnd = this.findNul(keyStart, 'key name');
    const key = this.decodeKey(keyStart, keyEnd);
    let p = this.expectSemicolon(keyEnd + 2, 'after the key name');
    const valueStart = p;
    const valueEnd = this.findNul(valueStart, 'value name');
    const valueName = valueEnd === valueStart ? '' : buf.toString('utf16le', valueStart, valueEnd);
    p = this.expectSemicolon(valueEnd + 2, 'after the value name');
    if (p + 4 > len) throw new RegistryPolError('ASC_POL_TRUNCATED', p, 'file ends inside the type field', 'a 4-byte type');
    const type = buf.readUInt32LE(p);
    p = this.expectSemicolon(p + 4, 'after the type');
    const sizeAt = p;
    if (p + 4 > len) throw new RegistryPolError('ASC_POL_TRUNCATED', p, 'file ends inside the size field', 'a 4-byte size');
    const size = buf.readUInt32LE(p);
    p = this.expectSemicolon(p + 4, 'after the size');
    if (size > len - p) {
      throw new RegistryPolError('ASC_POL_SIZE_BEYOND_END', sizeAt, `declared data size ${size} runs past the end of the file`, `at most ${len - p} bytes of data`);
    }
    checkDataSize(type, size, sizeAt);
    const data = buf.subarray(p, p + size);
    p += size;
    if (p + 1 >= len) throw new RegistryPolError('ASC_POL_TRUNCATED', p, 'file ends before the end of the entry', `']'`);
    if (buf[p] !== CLOSE || buf[p + 1] !== 0) throw new RegistryPolError('ASC_POL_BAD_DELIMITER', p, 'entry is not closed', `']' after ${size} bytes of data`);
    this.pos = p + 2;
    return { key, valueName, type, data };
  }

  /** Reads the header and every entry. */
  readAll(): PolEntry[] {
    this.readHeader();
    const entries: PolEntry[] = [];
    for (let e = this.readEntry(); e !== undefined; e = this.readEntry()) entries.push(e);
    return entries;
  }

  /** Offset of the UTF-16 NUL that ends the string starting at `from`. */
  private findNul(from: number, what: string): number {
    const buf = this.buf;
    const last = buf.length - 1;
    let p = from;
    while (p < last) {
      if (buf[p] === 0 && buf[p + 1] === 0) return p;
      p += 2;
    }
    throw new RegistryPolError('ASC_POL_TRUNCATED', from, `file ends inside the ${what}`, `a ${what} ended by a UTF-16 NUL`);
  }

  private expectSemicolon(p: number, where: string): number {
    const buf = this.buf;
    if (p + 1 >= buf.length) throw new RegistryPolError('ASC_POL_TRUNCATED', p, `file ends ${where}`, `';'`);
    if (buf[p] !== SEMI || buf[p + 1] !== 0) throw new RegistryPolError('ASC_POL_BAD_DELIMITER', p, `no ';' ${where}`, `';'`);
    return p + 2;
  }

  private decodeKey(start: number, end: number): string {
    const buf = this.buf;
    const n = end - start;
    if (n === this.prevKeyEnd - this.prevKeyStart) {
      const ps = this.prevKeyStart;
      let i = 0;
      while (i < n && buf[start + i] === buf[ps + i]) i++;
      if (i === n) {
        this.prevKeyStart = start;
        this.prevKeyEnd = end;
        return this.prevKey;
      }
    }
    const key = buf.toString('utf16le', start, end);
    this.prevKeyStart = start;
    this.prevKeyEnd = end;
    this.prevKey = key;
    return key;
  }
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
