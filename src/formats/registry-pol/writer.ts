import { Buffer } from 'node:buffer';
import { RegistryPolError } from './errors.js';
import { PREG_HEADER_SIZE, PREG_SIGNATURE, PREG_VERSION } from './reader.js';
import { fixedDataSize, isStringType, regTypeName, type PolEntry } from './types.js';

// '[' + key NUL + ';' + value NUL + ';' + type + ';' + size + ';' + data + ']'
const ENTRY_OVERHEAD = 2 + 2 + 2 + 2 + 2 + 4 + 2 + 4 + 2 + 2;

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

  toBytes(): Uint8Array {
    let total = PREG_HEADER_SIZE;
    for (const e of this.entries) total += ENTRY_OVERHEAD + 2 * (e.key.length + e.valueName.length) + e.data.byteLength;
    const out = Buffer.allocUnsafe(total);
    out.writeUInt32LE(PREG_SIGNATURE, 0);
    out.writeUInt32LE(PREG_VERSION, 4);
    let p = PREG_HEADER_SIZE;
    for (const e of this.entries) {
      out[p] = 0x5b; out[p + 1] = 0; p += 2;
      p += out.write(e.key, p, 'utf16le');
      out[p] = 0; out[p + 1] = 0; out[p + 2] = 0x3b; out[p + 3] = 0; p += 4;
      if (e.valueName.length > 0) p += out.write(e.valueName, p, 'utf16le');
      out[p] = 0; out[p + 1] = 0; out[p + 2] = 0x3b; out[p + 3] = 0; p += 4;
      out.writeUInt32LE(e.type, p);
      out[p + 4] = 0x3b; out[p + 5] = 0; p += 6;
      out.writeUInt32LE(e.data.byteLength, p);
      out[p + 4] = 0x3b; out[p + 5] = 0; p += 6;
      out.set(e.data, p);
      p += e.data.byteLength;
      out[p] = 0x5d; out[p + 1] = 0; p += 2;
    }
    return out;
  }
}

function checkEntry(e: PolEntry, index: number): void {
  const fail = (what: string, expected: string): never => {
    throw new RegistryPolError('ASC_POL_BAD_ENTRY', -1, `entry ${index} (${JSON.stringify(e.key)}\\${JSON.stringify(e.valueName)}) ${what}`, expected);
  };
  if (typeof e.key !== 'string' || e.key.includes('\0')) fail('has a key with a NUL character', 'a key without NUL');
  if (typeof e.valueName !== 'string' || e.valueName.includes('\0')) fail('has a value name with a NUL character', 'a value name without NUL');
  if (!Number.isInteger(e.type) || e.type < 0 || e.type > 0xffffffff) fail(`has type ${String(e.type)}`, 'a type from 0 to 4294967295');
  if (!(e.data instanceof Uint8Array)) fail('has data that is not bytes', 'a Uint8Array');
  if (isStringType(e.type) && (e.data.byteLength & 1) !== 0) fail(`has ${regTypeName(e.type)} data of odd length ${e.data.byteLength}`, 'an even data size');
  const fixed = fixedDataSize(e.type);
  if (fixed !== undefined && e.data.byteLength !== fixed) fail(`has ${regTypeName(e.type)} data of ${e.data.byteLength} bytes`, `${fixed} bytes`);
}

/** Serialises a whole Registry.pol. */
export function writeRegistryPol(entries: Iterable<PolEntry>): Uint8Array {
  return new RegistryPolWriter().addAll(entries).toBytes();
}
