/**
 * Security identifiers (MS-DTYP 2.4.2): the binary form AD stores in objectSid, tokenGroups
 * and security descriptors, and the "S-1-5-21-..." string form. Pure: no I/O.
 *
 * Binary layout: Revision (1 byte, always 1), SubAuthorityCount (1 byte, 0..15),
 * IdentifierAuthority (6 bytes, big-endian), SubAuthority[count] (4 bytes each, little-endian).
 */
import { Buffer } from 'node:buffer';
import { AscendError } from '../errors.js';

export const SID_REVISION = 1;
export const SID_MAX_SUB_AUTHORITIES = 15;

/** Well-known SIDs the GPO code and its tests refer to (MS-DTYP 2.4.2.4). */
export const WELL_KNOWN_SIDS = {
  EVERYONE: 'S-1-1-0',
  CREATOR_OWNER: 'S-1-3-0',
  ENTERPRISE_DOMAIN_CONTROLLERS: 'S-1-5-9',
  AUTHENTICATED_USERS: 'S-1-5-11',
  LOCAL_SYSTEM: 'S-1-5-18',
  BUILTIN_ADMINISTRATORS: 'S-1-5-32-544',
  BUILTIN_USERS: 'S-1-5-32-545',
} as const;

/** Relative identifiers of the domain's well-known groups (append to the domain SID). */
export const DOMAIN_RIDS = {
  ADMINISTRATOR: 500,
  DOMAIN_ADMINS: 512,
  DOMAIN_USERS: 513,
  DOMAIN_GUESTS: 514,
  DOMAIN_COMPUTERS: 515,
  DOMAIN_CONTROLLERS: 516,
  SCHEMA_ADMINS: 518,
  ENTERPRISE_ADMINS: 519,
  GROUP_POLICY_CREATOR_OWNERS: 520,
} as const;

function invalid(message: string): AscendError {
  return new AscendError('ASC_SID_INVALID', message);
}

/** Total byte length of the SID starting at `offset`, from its sub-authority count; no validation beyond that. */
export function sidByteLength(bytes: Uint8Array, offset = 0): number {
  const count = bytes[offset + 1];
  if (count === undefined) throw invalid(`SID at byte ${offset} is truncated: no sub-authority count`);
  return 8 + 4 * count;
}

/**
 * Reads the SID at `offset` of `bytes` (which may hold more after it) and returns its string
 * form and its length in bytes. Throws ASC_SID_INVALID naming the offset when it is malformed.
 */
export function readSid(bytes: Uint8Array, offset = 0): { sid: string; length: number } {
  if (offset < 0 || offset + 8 > bytes.length) {
    throw invalid(`SID at byte ${offset} is truncated: ${Math.max(0, bytes.length - offset)} bytes left, at least 8 needed`);
  }
  const revision = bytes[offset] as number;
  if (revision !== SID_REVISION) throw invalid(`SID at byte ${offset} has revision ${revision}, not 1`);
  const count = bytes[offset + 1] as number;
  if (count > SID_MAX_SUB_AUTHORITIES) {
    throw invalid(`SID at byte ${offset} declares ${count} sub-authorities, more than ${SID_MAX_SUB_AUTHORITIES}`);
  }
  const length = 8 + 4 * count;
  if (offset + length > bytes.length) {
    throw invalid(`SID at byte ${offset} is truncated: it declares ${length} bytes, ${bytes.length - offset} are left`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
  // 48-bit big-endian authority: the high 16 bits, then the low 32 bits.
  const authority = view.getUint16(2) * 0x1_0000_0000 + view.getUint32(4);
  // MS-DTYP 2.4.2.1: an authority of 2^32 or more is written in hexadecimal.
  const authorityText = authority >= 0x1_0000_0000 ? `0x${authority.toString(16).toUpperCase().padStart(12, '0')}` : String(authority);
  let sid = `S-${revision}-${authorityText}`;
  for (let i = 0; i < count; i++) sid += `-${view.getUint32(8 + 4 * i, true)}`;
  return { sid, length };
}

/** The string form ("S-1-5-32-544") of a binary SID; the bytes must hold exactly one SID. */
export function sidToString(bytes: Uint8Array): string {
  const { sid, length } = readSid(bytes, 0);
  if (length !== bytes.length) throw invalid(`SID is ${bytes.length} bytes long but declares ${length}`);
  return sid;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;
const HEX_AUTHORITY = /^0[xX][0-9a-fA-F]{1,12}$/;

/** The binary form of an "S-1-..." SID string (case-insensitive "s-"). */
export function sidToBytes(sid: string): Buffer {
  const parts = sid.split('-');
  if (parts.length < 3 || parts[0]?.toUpperCase() !== 'S') throw invalid(`"${sid}" is not a SID: expected S-1-<authority>[-<subauthority>...]`);
  if (parts[1] !== '1') throw invalid(`SID "${sid}" has revision ${parts[1] ?? ''}, only 1 exists`);
  const authorityText = parts[2] as string;
  let authority: number;
  if (HEX_AUTHORITY.test(authorityText)) authority = Number.parseInt(authorityText.slice(2), 16);
  else if (DECIMAL.test(authorityText)) authority = Number(authorityText);
  else throw invalid(`SID "${sid}" has a malformed identifier authority "${authorityText}"`);
  if (!Number.isSafeInteger(authority) || authority > 0xffff_ffff_ffff) {
    throw invalid(`SID "${sid}" has an identifier authority beyond 48 bits`);
  }
  const subs = parts.slice(3);
  if (subs.length > SID_MAX_SUB_AUTHORITIES) throw invalid(`SID "${sid}" has ${subs.length} sub-authorities, at most ${SID_MAX_SUB_AUTHORITIES} are allowed`);
  const out = Buffer.alloc(8 + 4 * subs.length);
  out[0] = SID_REVISION;
  out[1] = subs.length;
  out.writeUInt16BE(Math.floor(authority / 0x1_0000_0000), 2);
  out.writeUInt32BE(authority % 0x1_0000_0000, 4);
  subs.forEach((text, i) => {
    if (!DECIMAL.test(text)) throw invalid(`SID "${sid}" has a malformed sub-authority "${text}"`);
    const value = Number(text);
    if (value > 0xffff_ffff) throw invalid(`SID "${sid}" has a sub-authority ${text} beyond 32 bits`);
    out.writeUInt32LE(value, 8 + 4 * i);
  });
  return out;
}

/** True when `sid` is a well-formed SID string. */
export function isSid(sid: string): boolean {
  try {
    sidToBytes(sid);
    return true;
  } catch {
    return false;
  }
}

/** The last sub-authority (the RID) of a SID string, e.g. 512 for a Domain Admins SID. */
export function sidRid(sid: string): number {
  const bytes = sidToBytes(sid);
  const count = bytes[1] as number;
  if (count === 0) throw invalid(`SID "${sid}" has no sub-authority, so no RID`);
  return bytes.readUInt32LE(8 + 4 * (count - 1));
}

/** The SID of a domain-relative account: the domain SID with `rid` appended ("S-1-5-21-a-b-c" + 515). */
export function domainRelativeSid(domainSid: string, rid: number): string {
  const composed = `${domainSid}-${rid}`;
  sidToBytes(composed); // validates both parts
  return composed;
}
