/**
 * Self-relative security descriptors (MS-DTYP 2.4.6) as AD returns nTSecurityDescriptor,
 * with their ACLs (2.4.5) and ACEs (2.4.4), including the object ACEs AD uses for extended
 * rights such as "Apply Group Policy" (2.4.4.3). Pure: no I/O.
 *
 * Layout of SECURITY_DESCRIPTOR_RELATIVE (all little-endian):
 *   0 Revision (1)   1 Sbz1 (1)   2 Control (2)
 *   4 OffsetOwner (4)   8 OffsetGroup (4)   12 OffsetSacl (4)   16 OffsetDacl (4)
 * An offset of 0 means the part is absent.
 * ACL header: AclRevision (1), Sbz1 (1), AclSize (2), AceCount (2), Sbz2 (2), then the ACEs.
 * ACE header: AceType (1), AceFlags (1), AceSize (2), then for the basic types Mask (4) and
 * the SID; for the object types Mask (4), Flags (4), ObjectType (16, when flag 1),
 * InheritedObjectType (16, when flag 2) and the SID.
 */
import { Buffer } from 'node:buffer';
import { AscendError, isAscendError } from '../errors.js';
import { guidToBytes, readGuid } from './guid.js';
import { readSid, sidToBytes } from './sid.js';

/** Which parts of nTSecurityDescriptor to read or write (LDAP_SERVER_SD_FLAGS control). */
export const SD_FLAGS = { OWNER: 1, GROUP: 2, DACL: 4, SACL: 8 } as const;

/** SECURITY_DESCRIPTOR_CONTROL bits (MS-DTYP 2.4.6). */
export const SD_CONTROL = {
  OWNER_DEFAULTED: 0x0001,
  GROUP_DEFAULTED: 0x0002,
  DACL_PRESENT: 0x0004,
  DACL_DEFAULTED: 0x0008,
  SACL_PRESENT: 0x0010,
  SACL_DEFAULTED: 0x0020,
  DACL_TRUSTED: 0x0040,
  SERVER_SECURITY: 0x0080,
  DACL_AUTO_INHERIT_REQ: 0x0100,
  SACL_AUTO_INHERIT_REQ: 0x0200,
  DACL_AUTO_INHERITED: 0x0400,
  SACL_AUTO_INHERITED: 0x0800,
  DACL_PROTECTED: 0x1000,
  SACL_PROTECTED: 0x2000,
  RM_CONTROL_VALID: 0x4000,
  SELF_RELATIVE: 0x8000,
} as const;

/** AceType codes (MS-DTYP 2.4.4.1). */
export const ACE_TYPE = {
  ACCESS_ALLOWED: 0x00,
  ACCESS_DENIED: 0x01,
  SYSTEM_AUDIT: 0x02,
  SYSTEM_ALARM: 0x03,
  ACCESS_ALLOWED_COMPOUND: 0x04,
  ACCESS_ALLOWED_OBJECT: 0x05,
  ACCESS_DENIED_OBJECT: 0x06,
  SYSTEM_AUDIT_OBJECT: 0x07,
  SYSTEM_ALARM_OBJECT: 0x08,
  ACCESS_ALLOWED_CALLBACK: 0x09,
  ACCESS_DENIED_CALLBACK: 0x0a,
  ACCESS_ALLOWED_CALLBACK_OBJECT: 0x0b,
  ACCESS_DENIED_CALLBACK_OBJECT: 0x0c,
  SYSTEM_AUDIT_CALLBACK: 0x0d,
  SYSTEM_ALARM_CALLBACK: 0x0e,
  SYSTEM_AUDIT_CALLBACK_OBJECT: 0x0f,
  SYSTEM_ALARM_CALLBACK_OBJECT: 0x10,
  SYSTEM_MANDATORY_LABEL: 0x11,
  SYSTEM_RESOURCE_ATTRIBUTE: 0x12,
  SYSTEM_SCOPED_POLICY_ID: 0x13,
} as const;

/** AceFlags bits (MS-DTYP 2.4.4.1). */
export const ACE_FLAGS = {
  OBJECT_INHERIT: 0x01,
  CONTAINER_INHERIT: 0x02,
  NO_PROPAGATE_INHERIT: 0x04,
  INHERIT_ONLY: 0x08,
  INHERITED: 0x10,
  SUCCESSFUL_ACCESS: 0x40,
  FAILED_ACCESS: 0x80,
} as const;

/** The Flags field of object ACEs (MS-DTYP 2.4.4.3). */
export const OBJECT_ACE_FLAGS = { OBJECT_TYPE_PRESENT: 0x1, INHERITED_OBJECT_TYPE_PRESENT: 0x2 } as const;

/** Access mask bits of directory objects (MS-ADTS 5.1.3.2, MS-DTYP 2.4.3). */
export const ACCESS_MASK = {
  CREATE_CHILD: 0x0000_0001,
  DELETE_CHILD: 0x0000_0002,
  LIST_CHILDREN: 0x0000_0004,
  SELF_WRITE: 0x0000_0008,
  READ_PROPERTY: 0x0000_0010,
  WRITE_PROPERTY: 0x0000_0020,
  DELETE_TREE: 0x0000_0040,
  LIST_OBJECT: 0x0000_0080,
  CONTROL_ACCESS: 0x0000_0100,
  DELETE: 0x0001_0000,
  READ_CONTROL: 0x0002_0000,
  WRITE_DAC: 0x0004_0000,
  WRITE_OWNER: 0x0008_0000,
  GENERIC_ALL: 0x1000_0000,
  GENERIC_EXECUTE: 0x2000_0000,
  GENERIC_WRITE: 0x4000_0000,
  GENERIC_READ: 0x8000_0000,
} as const;

export type AceKind = 'allow' | 'deny' | 'allow-object' | 'deny-object' | 'audit' | 'audit-object' | 'other';

export interface Ace {
  /** The kind of ACE; 'other' for every type code besides 0, 1, 2, 5, 6 and 7. */
  type: AceKind;
  /** The AceType byte. */
  typeCode: number;
  /** The AceFlags byte (ACE_FLAGS). */
  flags: number;
  /** The access mask, as an unsigned 32-bit number (ACCESS_MASK). */
  mask: number;
  /** The trustee, "S-1-..." ('' for an 'other' ACE whose layout is not understood). */
  sid: string;
  /** Object ACEs: the property, property set, extended right or child class (lower-case GUID). */
  objectType?: string;
  /** Object ACEs: the class of object that inherits the ACE (lower-case GUID). */
  inheritedObjectType?: string;
  /** 'other' ACEs: the ACE's bytes as read, written back unchanged so nothing is lost. */
  raw?: Buffer;
}

export interface SecurityDescriptor {
  /** SECURITY_DESCRIPTOR_CONTROL bits (SD_CONTROL). */
  control: number;
  owner?: string;
  group?: string;
  /** The DACL; absent when the descriptor has none (or a NULL DACL: DACL_PRESENT set, no ACL). */
  dacl?: Ace[];
  /** The SACL, when the descriptor carries one (read only with SD_FLAGS.SACL and the privilege). */
  sacl?: Ace[];
}

const HEADER_SIZE = 20;
const ACL_HEADER_SIZE = 8;
const ACE_HEADER_SIZE = 4;
/** ACL_REVISION: only basic ACEs. ACL_REVISION_DS: may hold object ACEs. */
const ACL_REVISION = 2;
const ACL_REVISION_DS = 4;

const KIND_BY_CODE: ReadonlyMap<number, AceKind> = new Map<number, AceKind>([
  [ACE_TYPE.ACCESS_ALLOWED, 'allow'],
  [ACE_TYPE.ACCESS_DENIED, 'deny'],
  [ACE_TYPE.SYSTEM_AUDIT, 'audit'],
  [ACE_TYPE.ACCESS_ALLOWED_OBJECT, 'allow-object'],
  [ACE_TYPE.ACCESS_DENIED_OBJECT, 'deny-object'],
  [ACE_TYPE.SYSTEM_AUDIT_OBJECT, 'audit-object'],
]);

const CODE_BY_KIND: Readonly<Record<Exclude<AceKind, 'other'>, number>> = {
  allow: ACE_TYPE.ACCESS_ALLOWED,
  deny: ACE_TYPE.ACCESS_DENIED,
  audit: ACE_TYPE.SYSTEM_AUDIT,
  'allow-object': ACE_TYPE.ACCESS_ALLOWED_OBJECT,
  'deny-object': ACE_TYPE.ACCESS_DENIED_OBJECT,
  'audit-object': ACE_TYPE.SYSTEM_AUDIT_OBJECT,
};

/** Type codes whose body has the object layout (Mask, Flags, GUIDs, SID). */
const OBJECT_LAYOUT_CODES: ReadonlySet<number> = new Set<number>([
  ACE_TYPE.ACCESS_ALLOWED_OBJECT,
  ACE_TYPE.ACCESS_DENIED_OBJECT,
  ACE_TYPE.SYSTEM_AUDIT_OBJECT,
  ACE_TYPE.SYSTEM_ALARM_OBJECT,
  ACE_TYPE.ACCESS_ALLOWED_CALLBACK_OBJECT,
  ACE_TYPE.ACCESS_DENIED_CALLBACK_OBJECT,
  ACE_TYPE.SYSTEM_AUDIT_CALLBACK_OBJECT,
  ACE_TYPE.SYSTEM_ALARM_CALLBACK_OBJECT,
]);

/** True for the kinds that carry object types. */
export function isObjectAce(ace: Pick<Ace, 'type' | 'typeCode'>): boolean {
  return ace.type === 'other' ? OBJECT_LAYOUT_CODES.has(ace.typeCode) : ace.type.endsWith('-object');
}

function invalid(offset: number, message: string, cause?: unknown): AscendError {
  return new AscendError('ASC_SD_INVALID', `security descriptor is malformed at byte ${offset}: ${message}`, cause === undefined ? undefined : { cause });
}

/** Reads a SID inside the descriptor, turning SID errors into ASC_SD_INVALID. */
function sidAt(bytes: Uint8Array, offset: number, end: number, what: string): { sid: string; length: number } {
  try {
    const r = readSid(bytes, offset);
    if (offset + r.length > end) throw invalid(offset, `${what} SID runs past the end of its ${end === bytes.length ? 'descriptor' : 'ACE'}`);
    return r;
  } catch (e) {
    if (isAscendError(e) && e.code === 'ASC_SD_INVALID') throw e;
    throw invalid(offset, `${what} SID: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

function parseAce(bytes: Uint8Array, view: DataView, offset: number, size: number, index: number): Ace {
  const typeCode = view.getUint8(offset);
  const flags = view.getUint8(offset + 1);
  const end = offset + size;
  const kind = KIND_BY_CODE.get(typeCode) ?? 'other';
  const objectLayout = OBJECT_LAYOUT_CODES.has(typeCode);
  const what = `ACE ${index}`;
  try {
    let p = offset + ACE_HEADER_SIZE;
    if (p + 4 > end) throw invalid(p, `${what} (type 0x${typeCode.toString(16)}) is too short for its access mask`);
    const mask = view.getUint32(p, true);
    p += 4;
    const ace: Ace = { type: kind, typeCode, flags, mask, sid: '' };
    if (objectLayout) {
      if (p + 4 > end) throw invalid(p, `${what} is too short for its object flags`);
      const objectFlags = view.getUint32(p, true);
      p += 4;
      if ((objectFlags & OBJECT_ACE_FLAGS.OBJECT_TYPE_PRESENT) !== 0) {
        if (p + 16 > end) throw invalid(p, `${what} is too short for its object type GUID`);
        ace.objectType = readGuid(bytes, p);
        p += 16;
      }
      if ((objectFlags & OBJECT_ACE_FLAGS.INHERITED_OBJECT_TYPE_PRESENT) !== 0) {
        if (p + 16 > end) throw invalid(p, `${what} is too short for its inherited object type GUID`);
        ace.inheritedObjectType = readGuid(bytes, p);
        p += 16;
      }
    }
    ace.sid = sidAt(bytes, p, end, what).sid;
    if (kind === 'other') ace.raw = Buffer.from(bytes.subarray(offset, end));
    return ace;
  } catch (e) {
    // An ACE of a type we do not interpret may have a layout we do not know: keep its bytes.
    if (kind === 'other') return { type: kind, typeCode, flags, mask: size >= 8 ? view.getUint32(offset + 4, true) : 0, sid: '', raw: Buffer.from(bytes.subarray(offset, end)) };
    throw e;
  }
}

function parseAcl(bytes: Uint8Array, view: DataView, offset: number, which: string): Ace[] {
  if (offset < HEADER_SIZE || offset + ACL_HEADER_SIZE > bytes.length) {
    throw invalid(offset, `${which} offset ${offset} leaves no room for an ACL header (descriptor is ${bytes.length} bytes)`);
  }
  const revision = view.getUint8(offset);
  if (revision !== ACL_REVISION && revision !== ACL_REVISION_DS) throw invalid(offset, `${which} has ACL revision ${revision}, not 2 or 4`);
  const aclSize = view.getUint16(offset + 2, true);
  const count = view.getUint16(offset + 4, true);
  if (aclSize < ACL_HEADER_SIZE) throw invalid(offset + 2, `${which} declares a size of ${aclSize}, less than its header`);
  if (offset + aclSize > bytes.length) throw invalid(offset + 2, `${which} declares ${aclSize} bytes, ${bytes.length - offset} are left`);
  const end = offset + aclSize;
  const aces: Ace[] = [];
  let p = offset + ACL_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (p + ACE_HEADER_SIZE > end) throw invalid(p, `${which} declares ${count} ACEs but ends after ${i}`);
    const size = view.getUint16(p + 2, true);
    if (size < ACE_HEADER_SIZE + 4) throw invalid(p + 2, `ACE ${i} of the ${which} declares a size of ${size}, too small for any ACE`);
    if (p + size > end) throw invalid(p + 2, `ACE ${i} of the ${which} declares ${size} bytes, its ACL has ${end - p} left`);
    aces.push(parseAce(bytes, view, p, size, i));
    p += size;
  }
  return aces;
}

/** Parses a self-relative security descriptor. Throws ASC_SD_INVALID (naming the byte offset) on malformed input. */
export function parseSecurityDescriptor(bytes: Uint8Array): SecurityDescriptor {
  if (bytes.length < HEADER_SIZE) throw invalid(0, `${bytes.length} bytes are too few for the 20-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const revision = view.getUint8(0);
  if (revision !== 1) throw invalid(0, `revision is ${revision}, not 1`);
  const control = view.getUint16(2, true);
  if ((control & SD_CONTROL.SELF_RELATIVE) === 0) throw invalid(2, 'the SELF_RELATIVE control bit is not set (an absolute descriptor cannot be read from bytes)');
  const offOwner = view.getUint32(4, true);
  const offGroup = view.getUint32(8, true);
  const offSacl = view.getUint32(12, true);
  const offDacl = view.getUint32(16, true);
  const sd: SecurityDescriptor = { control };
  if (offOwner !== 0) {
    if (offOwner < HEADER_SIZE) throw invalid(4, `owner offset ${offOwner} points into the header`);
    sd.owner = sidAt(bytes, offOwner, bytes.length, 'owner').sid;
  }
  if (offGroup !== 0) {
    if (offGroup < HEADER_SIZE) throw invalid(8, `group offset ${offGroup} points into the header`);
    sd.group = sidAt(bytes, offGroup, bytes.length, 'group').sid;
  }
  if ((control & SD_CONTROL.SACL_PRESENT) !== 0 && offSacl !== 0) sd.sacl = parseAcl(bytes, view, offSacl, 'SACL');
  if ((control & SD_CONTROL.DACL_PRESENT) !== 0 && offDacl !== 0) sd.dacl = parseAcl(bytes, view, offDacl, 'DACL');
  return sd;
}

function cannotWrite(message: string, cause?: unknown): AscendError {
  return new AscendError('ASC_SD_INVALID', `security descriptor cannot be written: ${message}`, cause === undefined ? undefined : { cause });
}

function encodeAce(ace: Ace, index: number): Buffer {
  if (ace.type === 'other' && ace.raw !== undefined) {
    if (ace.raw.length < ACE_HEADER_SIZE + 4 || ace.raw.readUInt16LE(2) !== ace.raw.length || ace.raw.length % 4 !== 0) {
      throw cannotWrite(`ACE ${index}: its raw bytes do not form an ACE (size field, length a multiple of 4)`);
    }
    return ace.raw;
  }
  const typeCode = ace.type === 'other' ? ace.typeCode : CODE_BY_KIND[ace.type];
  if (!Number.isInteger(typeCode) || typeCode < 0 || typeCode > 0xff) throw cannotWrite(`ACE ${index}: type code ${typeCode} is not a byte`);
  if (!Number.isInteger(ace.flags) || ace.flags < 0 || ace.flags > 0xff) throw cannotWrite(`ACE ${index}: flags ${ace.flags} are not a byte`);
  if (!Number.isInteger(ace.mask) || ace.mask < 0 || ace.mask > 0xffff_ffff) throw cannotWrite(`ACE ${index}: mask ${ace.mask} is not an unsigned 32-bit number`);
  let sid: Buffer;
  let objectType: Buffer | undefined;
  let inheritedObjectType: Buffer | undefined;
  try {
    sid = sidToBytes(ace.sid);
    if (ace.objectType !== undefined) objectType = guidToBytes(ace.objectType);
    if (ace.inheritedObjectType !== undefined) inheritedObjectType = guidToBytes(ace.inheritedObjectType);
  } catch (e) {
    throw cannotWrite(`ACE ${index}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  const objectLayout = OBJECT_LAYOUT_CODES.has(typeCode);
  if (!objectLayout && (objectType !== undefined || inheritedObjectType !== undefined)) {
    throw cannotWrite(`ACE ${index}: a '${ace.type}' ACE cannot carry object types; use '${ace.type}-object'`);
  }
  const size = ACE_HEADER_SIZE + 4 + (objectLayout ? 4 + (objectType ? 16 : 0) + (inheritedObjectType ? 16 : 0) : 0) + sid.length;
  const out = Buffer.alloc(size);
  out.writeUInt8(typeCode, 0);
  out.writeUInt8(ace.flags, 1);
  out.writeUInt16LE(size, 2);
  out.writeUInt32LE(ace.mask, 4);
  let p = 8;
  if (objectLayout) {
    const objectFlags = (objectType ? OBJECT_ACE_FLAGS.OBJECT_TYPE_PRESENT : 0) | (inheritedObjectType ? OBJECT_ACE_FLAGS.INHERITED_OBJECT_TYPE_PRESENT : 0);
    out.writeUInt32LE(objectFlags, p);
    p += 4;
    if (objectType) p += objectType.copy(out, p);
    if (inheritedObjectType) p += inheritedObjectType.copy(out, p);
  }
  sid.copy(out, p);
  return out;
}

function encodeAcl(aces: readonly Ace[]): Buffer {
  if (aces.length > 0xffff) throw cannotWrite(`an ACL holds at most 65535 ACEs, not ${aces.length}`);
  const encoded = aces.map((ace, i) => encodeAce(ace, i));
  const size = ACL_HEADER_SIZE + encoded.reduce((n, b) => n + b.length, 0);
  if (size > 0xffff) throw cannotWrite(`the ACL would be ${size} bytes, more than 65535`);
  const header = Buffer.alloc(ACL_HEADER_SIZE);
  const needsDs = aces.some((ace) => OBJECT_LAYOUT_CODES.has(ace.type === 'other' ? ace.typeCode : CODE_BY_KIND[ace.type]));
  header.writeUInt8(needsDs ? ACL_REVISION_DS : ACL_REVISION, 0);
  header.writeUInt16LE(size, 2);
  header.writeUInt16LE(aces.length, 4);
  return Buffer.concat([header, ...encoded]);
}

/**
 * Writes a self-relative security descriptor from the owner, group and DACL (no SACL: the
 * SACL_PRESENT bit is cleared). The layout is header, DACL, owner, group. The control bits
 * are kept, SELF_RELATIVE is set, and DACL_PRESENT is set when a DACL is given (left as
 * given otherwise, so a NULL DACL survives a round trip).
 */
export function writeSecurityDescriptor(sd: SecurityDescriptor): Buffer {
  if (!Number.isInteger(sd.control) || sd.control < 0 || sd.control > 0xffff) throw cannotWrite(`control ${sd.control} is not a 16-bit number`);
  let control = (sd.control | SD_CONTROL.SELF_RELATIVE) & ~SD_CONTROL.SACL_PRESENT & 0xffff;
  let owner: Buffer | undefined;
  let group: Buffer | undefined;
  try {
    if (sd.owner !== undefined) owner = sidToBytes(sd.owner);
    if (sd.group !== undefined) group = sidToBytes(sd.group);
  } catch (e) {
    throw cannotWrite(e instanceof Error ? e.message : String(e), e);
  }
  const dacl = sd.dacl === undefined ? undefined : encodeAcl(sd.dacl);
  if (dacl) control |= SD_CONTROL.DACL_PRESENT;
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt8(1, 0);
  header.writeUInt16LE(control, 2);
  let p = HEADER_SIZE;
  if (dacl) {
    header.writeUInt32LE(p, 16);
    p += dacl.length;
  }
  if (owner) {
    header.writeUInt32LE(p, 4);
    p += owner.length;
  }
  if (group) header.writeUInt32LE(p, 8);
  return Buffer.concat([header, ...(dacl ? [dacl] : []), ...(owner ? [owner] : []), ...(group ? [group] : [])]);
}

/**
 * The SD_FLAGS naming the parts a self-relative descriptor carries (owner, group, DACL,
 * SACL), from its header alone: what to send with a write of nTSecurityDescriptor so the
 * server changes exactly those parts. 0 when the bytes are too short for a header.
 */
export function sdFlagsOf(bytes: Uint8Array): number {
  if (bytes.length < HEADER_SIZE) return 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const control = view.getUint16(2, true);
  let flags = 0;
  if (view.getUint32(4, true) !== 0) flags |= SD_FLAGS.OWNER;
  if (view.getUint32(8, true) !== 0) flags |= SD_FLAGS.GROUP;
  if ((control & SD_CONTROL.DACL_PRESENT) !== 0) flags |= SD_FLAGS.DACL;
  if ((control & SD_CONTROL.SACL_PRESENT) !== 0) flags |= SD_FLAGS.SACL;
  return flags;
}
