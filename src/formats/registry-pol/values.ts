import { Buffer } from 'node:buffer';
import { RegType, regTypeName, type PolEntry } from './types.js';

/** Data of a REG_SZ or REG_EXPAND_SZ: UTF-16LE with its terminating NUL. */
export function encodeSz(text: string): Uint8Array {
  const out = Buffer.alloc(text.length * 2 + 2);
  out.write(text, 0, 'utf16le');
  return out;
}

/** Text of string data, without the terminating NUL(s). */
export function decodeSz(data: Uint8Array): string {
  let end = data.byteLength & ~1;
  while (end >= 2 && data[end - 1] === 0 && data[end - 2] === 0) end -= 2;
  return Buffer.from(data.buffer, data.byteOffset, end).toString('utf16le');
}

/** Data of a REG_MULTI_SZ: each string NUL-terminated, then one more NUL. */
export function encodeMultiSz(items: readonly string[]): Uint8Array {
  for (const s of items) {
    if (s.length === 0 || s.includes('\0')) throw new RangeError('REG_MULTI_SZ strings must be non-empty and contain no NUL');
  }
  return encodeSz(items.length === 0 ? '' : items.join('\0') + '\0');
}

export function decodeMultiSz(data: Uint8Array): string[] {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength & ~1).toString('utf16le');
  return text.split('\0').filter((s) => s.length > 0);
}

export function encodeDword(n: number, bigEndian = false): Uint8Array {
  const out = Buffer.alloc(4);
  if (bigEndian) out.writeUInt32BE(n >>> 0, 0);
  else out.writeUInt32LE(n >>> 0, 0);
  return out;
}

export function decodeDword(data: Uint8Array, bigEndian = false): number {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return bigEndian ? b.readUInt32BE(0) : b.readUInt32LE(0);
}

export function encodeQword(n: bigint): Uint8Array {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt.asUintN(64, n), 0);
  return out;
}

export function decodeQword(data: Uint8Array): bigint {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).readBigUInt64LE(0);
}

export function toHex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}

/** A value's data in the JSON form of `ascend pol show --json`. */
export type JsonData = string | number | string[];

/** Decodes data for display: text, numbers, a decimal string for QWORD, hex for the rest. */
export function dataToJson(type: number, data: Uint8Array): JsonData {
  switch (type) {
    case RegType.REG_SZ:
    case RegType.REG_EXPAND_SZ:
      return decodeSz(data);
    case RegType.REG_DWORD:
      return decodeDword(data);
    case RegType.REG_DWORD_BIG_ENDIAN:
      return decodeDword(data, true);
    case RegType.REG_QWORD:
      return decodeQword(data).toString();
    case RegType.REG_MULTI_SZ:
      return decodeMultiSz(data);
    default:
      return toHex(data);
  }
}

/** An entry in the JSON form of `ascend pol show --json`. */
export interface JsonEntry {
  key: string;
  value: string;
  type: string;
  data: JsonData;
}

export function entryToJson(e: PolEntry): JsonEntry {
  return { key: e.key, value: e.valueName, type: regTypeName(e.type), data: dataToJson(e.type, e.data) };
}

/** Shorthands that build entries. */
export const polEntry = {
  sz: (key: string, valueName: string, text: string): PolEntry => ({ key, valueName, type: RegType.REG_SZ, data: encodeSz(text) }),
  expandSz: (key: string, valueName: string, text: string): PolEntry => ({ key, valueName, type: RegType.REG_EXPAND_SZ, data: encodeSz(text) }),
  dword: (key: string, valueName: string, n: number): PolEntry => ({ key, valueName, type: RegType.REG_DWORD, data: encodeDword(n) }),
  qword: (key: string, valueName: string, n: bigint): PolEntry => ({ key, valueName, type: RegType.REG_QWORD, data: encodeQword(n) }),
  multiSz: (key: string, valueName: string, items: readonly string[]): PolEntry => ({ key, valueName, type: RegType.REG_MULTI_SZ, data: encodeMultiSz(items) }),
  /** `**del.NAME`, written as GPMC does: REG_SZ " " (size 4). */
  deleteValue: (key: string, valueName: string): PolEntry => ({ key, valueName: `**del.${valueName}`, type: RegType.REG_SZ, data: encodeSz(' ') }),
  /** `**delvals.`: clears every value of the key before what follows. */
  deleteAllValues: (key: string): PolEntry => ({ key, valueName: '**delvals.', type: RegType.REG_SZ, data: encodeSz(' ') }),
};
