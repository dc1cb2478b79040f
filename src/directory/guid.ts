/**
 * GUIDs as AD stores them (objectGUID, schemaIDGUID, rightsGuid, object ACE types): the
 * Windows GUID structure (MS-DTYP 2.3.4.2) in memory order, so Data1 (4 bytes), Data2 and
 * Data3 (2 bytes each) are little-endian and Data4 (8 bytes) is in order. Pure: no I/O.
 *
 *   string  edacfd8f-ffb3-11d1-b41d-00a0c968f939
 *   bytes   8f fd ac ed  b3 ff  d1 11  b4 1d 00 a0 c9 68 f9 39
 */
import { Buffer } from 'node:buffer';
import { AscendError } from '../errors.js';

/** Extended rights (controlAccessRight rightsGuid values) used by Group Policy. */
export const EXTENDED_RIGHTS = {
  /** "Apply Group Policy": security filtering of GPOs checks it on the GPO container. */
  APPLY_GROUP_POLICY: 'edacfd8f-ffb3-11d1-b41d-00a0c968f939',
} as const;

const GUID_TEXT = /^\{?([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})\}?$/;

function hex(bytes: Uint8Array, from: number, to: number, reverse: boolean): string {
  let text = '';
  if (reverse) for (let i = to - 1; i >= from; i--) text += (bytes[i] as number).toString(16).padStart(2, '0');
  else for (let i = from; i < to; i++) text += (bytes[i] as number).toString(16).padStart(2, '0');
  return text;
}

/** Reads the 16-byte GUID at `offset` of `bytes` as lower-case "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
export function readGuid(bytes: Uint8Array, offset = 0): string {
  if (offset < 0 || offset + 16 > bytes.length) {
    throw new AscendError('ASC_GUID_INVALID', `GUID at byte ${offset} is truncated: 16 bytes needed, ${Math.max(0, bytes.length - offset)} left`);
  }
  const o = offset;
  return `${hex(bytes, o, o + 4, true)}-${hex(bytes, o + 4, o + 6, true)}-${hex(bytes, o + 6, o + 8, true)}-${hex(bytes, o + 8, o + 10, false)}-${hex(bytes, o + 10, o + 16, false)}`;
}

/** The string form of a 16-byte binary GUID in AD's byte order, lower case, no braces. */
export function guidToString(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new AscendError('ASC_GUID_INVALID', `a binary GUID has 16 bytes, not ${bytes.length}`);
  return readGuid(bytes, 0);
}

/** The 16 bytes (AD byte order) of a GUID string; braces and any letter case are accepted. */
export function guidToBytes(guid: string): Buffer {
  const m = GUID_TEXT.exec(guid);
  if (m === null || guid.startsWith('{') !== guid.endsWith('}')) {
    throw new AscendError('ASC_GUID_INVALID', `"${guid}" is not a GUID: expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`);
  }
  const [, d1, d2, d3, d4a, d4b] = m as unknown as [string, string, string, string, string, string];
  const out = Buffer.alloc(16);
  out.writeUInt32LE(Number.parseInt(d1, 16), 0);
  out.writeUInt16LE(Number.parseInt(d2, 16), 4);
  out.writeUInt16LE(Number.parseInt(d3, 16), 6);
  Buffer.from(d4a + d4b, 'hex').copy(out, 8);
  return out;
}

/** Lower case, braces removed: the canonical form this module returns. Throws on a malformed GUID. */
export function normalizeGuid(guid: string): string {
  return guidToString(guidToBytes(guid));
}
