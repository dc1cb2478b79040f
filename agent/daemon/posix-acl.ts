/**
 * POSIX access ACLs as Linux stores them in the `system.posix_acl_access` extended attribute
 * (read by the native addon), and who they let write. Pure: bytes in, entries and grants out.
 *
 * The format (include/uapi/linux/posix_acl_xattr.h): a little-endian u32 version, 2, then one
 * 8-byte entry per line of the ACL: tag u16, perm u16, id u32 (the uid or gid of a named entry,
 * 0xffffffff for the others). When an ACL is present the group bits of st_mode are its mask,
 * which caps what named entries and the owning group get.
 */
import { AscendError } from '../../src/errors.js';

export const ACL_USER_OBJ = 0x01;
export const ACL_USER = 0x02;
export const ACL_GROUP_OBJ = 0x04;
export const ACL_GROUP = 0x08;
export const ACL_MASK = 0x10;
export const ACL_OTHER = 0x20;

const VERSION = 2;

/** An ACL that cannot be read: the caller trusts nothing then. */
function badAcl(why: string): AscendError {
  return new AscendError('ASC_FILE_UNREADABLE', why);
}
const KNOWN_TAGS = new Set([ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER]);
const PERM_WRITE = 0o2;
const PERM_ALL = 0o7;

export interface AclEntry {
  tag: number;
  /** rwx as 4/2/1. */
  perm: number;
  /** uid (ACL_USER) or gid (ACL_GROUP); undefined for the other tags. */
  id?: number;
}

/** Who an ACL lets write (through the mask): named users and groups, the owning group, others. */
export type AclWriteGrant = { kind: 'user'; uid: number } | { kind: 'group'; gid: number } | { kind: 'owning-group' } | { kind: 'others' };

/**
 * Parses the xattr bytes. Throws on anything that is not a well-formed version-2 ACL (unknown
 * tag or perm bits, a truncated entry): the caller then trusts nothing rather than guessing.
 */
export function parsePosixAcl(bytes: Uint8Array): AclEntry[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4) throw badAcl(`an ACL of ${buf.length} bytes has no header`);
  const version = buf.readUInt32LE(0);
  if (version !== VERSION) throw badAcl(`ACL version ${version}, expected ${VERSION}`);
  if ((buf.length - 4) % 8 !== 0) throw badAcl(`an ACL of ${buf.length} bytes ends inside an entry`);
  const entries: AclEntry[] = [];
  for (let at = 4; at < buf.length; at += 8) {
    const tag = buf.readUInt16LE(at);
    const perm = buf.readUInt16LE(at + 2);
    const id = buf.readUInt32LE(at + 4);
    if (!KNOWN_TAGS.has(tag)) throw badAcl(`ACL entry ${(at - 4) / 8} has an unknown tag 0x${tag.toString(16)}`);
    if ((perm & ~PERM_ALL) !== 0) throw badAcl(`ACL entry ${(at - 4) / 8} has unknown permission bits 0x${perm.toString(16)}`);
    entries.push(tag === ACL_USER || tag === ACL_GROUP ? { tag, perm, id } : { tag, perm });
  }
  return entries;
}

/**
 * Everyone but the file's owner that the ACL lets write. The mask caps named users, named
 * groups and the owning group (not the owner, not others). A named entry for the owner's own
 * uid is never consulted by the kernel (the owner entry is), so it grants nothing.
 */
export function aclWriteGrants(entries: readonly AclEntry[], ownerUid: number): AclWriteGrant[] {
  const mask = entries.find((e) => e.tag === ACL_MASK);
  const capped = (perm: number) => (mask ? perm & mask.perm : perm);
  const grants: AclWriteGrant[] = [];
  for (const e of entries) {
    if (e.tag === ACL_USER && e.id !== ownerUid && capped(e.perm) & PERM_WRITE) grants.push({ kind: 'user', uid: e.id as number });
    else if (e.tag === ACL_GROUP && capped(e.perm) & PERM_WRITE) grants.push({ kind: 'group', gid: e.id as number });
    else if (e.tag === ACL_GROUP_OBJ && capped(e.perm) & PERM_WRITE) grants.push({ kind: 'owning-group' });
    else if (e.tag === ACL_OTHER && e.perm & PERM_WRITE) grants.push({ kind: 'others' });
  }
  return grants;
}
