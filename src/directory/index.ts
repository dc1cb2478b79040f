/**
 * Active Directory over LDAP: the client (connect, search, add, modify, delete) and the
 * pure codecs the GPO integration needs (SIDs, GUIDs, security descriptors, filter and DN
 * escaping).
 */
export {
  Directory,
  SD_FLAGS_CONTROL_OID,
  TREE_DELETE_CONTROL_OID,
  type DirChange,
  type DirEntry,
  type DirectoryOptions,
  type SearchOptions,
} from './client.js';
export { mapLdapError, redact, resultCodeName, type LdapErrorContext, type LdapOperation } from './errors.js';
export { escapeFilterBytes, escapeFilterValue, filterToString, parseFilter, type FilterNode } from './filter.js';
export { dnsDomainFromDn, escapeDnValue, parentDn, splitDn, splitRdn, unescapeDnValue } from './dn.js';
export { DOMAIN_RIDS, WELL_KNOWN_SIDS, domainRelativeSid, isSid, readSid, sidRid, sidToBytes, sidToString } from './sid.js';
export { EXTENDED_RIGHTS, guidToBytes, guidToString, normalizeGuid, readGuid } from './guid.js';
export {
  ACCESS_MASK,
  ACE_FLAGS,
  ACE_TYPE,
  OBJECT_ACE_FLAGS,
  SD_CONTROL,
  SD_FLAGS,
  isObjectAce,
  parseSecurityDescriptor,
  sdFlagsOf,
  writeSecurityDescriptor,
  type Ace,
  type AceKind,
  type SecurityDescriptor,
} from './security-descriptor.js';
