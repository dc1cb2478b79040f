import { Buffer } from 'node:buffer';
import { RegistryPolError } from './errors.js';
import { PREG_HEADER_SIZE, PREG_SIGNATURE, PREG_VERSION, ReadPolEntry } from './reader.js';
import { fixedDataSize, isStringType, RegType, regTypeName, type PolEntry } from './types.js';

// '[' + key NUL + ';' + value NUL + ';' + type + ';' + size + ';' + data + ']'
const ENTRY_OVERHEAD = 2 + 2 + 2 + 2 + 2 + 4 + 2 + 4 + 2 + 2;
/** Strings and data up to this many units/bytes are copied in JS: cheaper than a call into C++. */
const SHORT = 32;

/**
 * Serialises entries to Registry.pol bytes (MS-GPREG 2.2.1), in the order given.
 * Entries the reader returned are written back byte for byte. Entries the reader
 * would refuse (a NUL inside a name, an odd-sized string, a DWORD of 3 bytes) are
 * refused here too, so what we write we can always read.
 */
export class RegistryPolWriter {
  private readonly entries: PolEntry[] = [];

  add(entry: PolEntry): this {
    checkEntry(entry, this.entries.length);
    this.entries.push(entry);
    return this;
  }

  addAll(entries: Iterable<PolEntry>): this {
    for (const e of entries) this.add(e);
    return this;
  }

  /**
   * The file's bytes. One exact-size buffer; short names and data are copied in JS, a key
   * equal to the previous one is copied from where it was just written.
   */
  toBytes(): Uint8Array {
    const entries = this.entries;
    const count = entries.length;
    let total = PREG_HEADER_SIZE;
    for (let i = 0; i < count; i++) {
      const e = entries[i]!;
      total += ENTRY_OVERHEAD + 2 * e.key.length + (e instanceof ReadPolEntry ? e.nameBytes + e.dataSize : 2 * e.valueName.length + e.data.byteLength);
    }
    const out = Buffer.allocUnsafe(total);
    out.writeUInt32LE(PREG_SIGNATURE, 0);
    out.writeUInt32LE(PREG_VERSION, 4);
    let p = PREG_HEADER_SIZE;
    let prevKey = '';
    let prevKeyAt = -1;
    for (let i = 0; i < count; i++) {
      const e = entries[i]!;
      if (e instanceof ReadPolEntry) {
        // An entry read from a file is one validated run of bytes there: copy it whole.
        const keyBytes = e.key.length * 2;
        const from = e.nameOffset - 6 - keyBytes; // '[' key NUL ';' before the name
        const to = e.nameOffset + e.nameBytes + 16 + e.dataSize + 2; // ... data ']'
        e.source.copy(out, p, from, to);
        prevKey = e.key;
        prevKeyAt = p + 2;
        p += to - from;
        continue;
      }
      out[p] = 0x5b; out[p + 1] = 0; p += 2;
      const key = e.key;
      const keyBytes = key.length * 2;
      if (prevKeyAt >= 0 && key === prevKey) out.copyWithin(p, prevKeyAt, prevKeyAt + keyBytes);
      else {
        writeUtf16(out, key, p);
        prevKey = key;
      }
      prevKeyAt = p;
      p += keyBytes;
      out[p] = 0; out[p + 1] = 0; out[p + 2] = 0x3b; out[p + 3] = 0; p += 4;
      const name = e.valueName;
      writeUtf16(out, name, p);
      p += name.length * 2;
      out[p] = 0; out[p + 1] = 0; out[p + 2] = 0x3b; out[p + 3] = 0; p += 4;
      const type = e.type;
      out[p] = type & 0xff; out[p + 1] = (type >>> 8) & 0xff; out[p + 2] = (type >>> 16) & 0xff; out[p + 3] = type >>> 24;
      out[p + 4] = 0x3b; out[p + 5] = 0; p += 6;
      const data = e.data;
      const size = data.byteLength;
      out[p] = size & 0xff; out[p + 1] = (size >>> 8) & 0xff; out[p + 2] = (size >>> 16) & 0xff; out[p + 3] = size >>> 24;
      out[p + 4] = 0x3b; out[p + 5] = 0; p += 6;
      if (size <= SHORT) for (let j = 0; j < size; j++) out[p + j] = data[j]!;
      else out.set(data, p);
      p += size;
      out[p] = 0x5d; out[p + 1] = 0; p += 2;
    }
    return out;
  }
}

/** Writes a string's UTF-16 code units little-endian (lone surrogates as they are). */
function writeUtf16(out: Buffer, s: string, at: number): void {
  const n = s.length;
  if (n > SHORT) {
    out.write(s, at, 'utf16le');
    return;
  }
  for (let i = 0, q = at; i < n; i++, q += 2) {
    const c = s.charCodeAt(i);
    out[q] = c & 0xff;
    out[q + 1] = c >>> 8;
  }
}

function refuse(e: PolEntry, index: number, what: string, expected: string): never {
  throw new RegistryPolError('ASC_POL_BAD_ENTRY', -1, `entry ${index} (${JSON.stringify(e.key)}\\${JSON.stringify(e.valueName)}) ${what}`, expected);
}

function checkEntry(e: PolEntry, index: number): void {
  if (e instanceof ReadPolEntry) return; // the reader checked it
  if (typeof e.key !== 'string' || e.key.includes('\0')) refuse(e, index, 'has a key with a NUL character', 'a key without NUL');
  if (typeof e.valueName !== 'string' || e.valueName.includes('\0')) refuse(e, index, 'has a value name with a NUL character', 'a value name without NUL');
  const type = e.type;
  if (!Number.isInteger(type) || type < 0 || type > 0xffffffff) refuse(e, index, `has type ${String(type)}`, 'a type from 0 to 4294967295');
  if (!(e.data instanceof Uint8Array)) refuse(e, index, 'has data that is not bytes', 'a Uint8Array');
  if (type <= RegType.REG_QWORD) {
    if (isStringType(type) && (e.data.byteLength & 1) !== 0) refuse(e, index, `has ${regTypeName(type)} data of odd length ${e.data.byteLength}`, 'an even data size');
    const fixed = fixedDataSize(type);
    if (fixed !== undefined && e.data.byteLength !== fixed) refuse(e, index, `has ${regTypeName(type)} data of ${e.data.byteLength} bytes`, `${fixed} bytes`);
  }
}

/** Serialises a whole Registry.pol. */
export function writeRegistryPol(entries: Iterable<PolEntry>): Uint8Array {
  return new RegistryPolWriter().addAll(entries).toBytes();
}
