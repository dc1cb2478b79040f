/**
 * Security filtering: whether an account's token may read a GPO and holds the Apply
 * Group Policy right on it, evaluated from the GPO's DACL the way an access check does
 * (deny ACEs win; inherit-only ACEs do not apply to the object itself). Pure.
 */
import type { Ace, SecurityDescriptor } from '../src/directory/index.js';
import { APPLY_GROUP_POLICY_RIGHT } from './layout.js';

const ADS_RIGHT_DS_READ_PROPERTY = 0x10;
const ADS_RIGHT_DS_CONTROL_ACCESS = 0x100;
const GENERIC_ALL = 0x10000000;
const GENERIC_READ = 0x80000000;
const INHERIT_ONLY_ACE = 0x08;

export interface GpoAccess {
  read: boolean;
  apply: boolean;
}

/** What one ACE grants or denies of the two rights Group Policy needs. */
function rightsOf(ace: Ace): GpoAccess {
  const mask = ace.mask >>> 0;
  const all = (mask & GENERIC_ALL) !== 0;
  const objectType = ace.objectType?.toLowerCase();
  // An object ACE with an object type covers only that property set or extended right.
  if (objectType !== undefined) {
    return { read: false, apply: objectType === APPLY_GROUP_POLICY_RIGHT && ((mask & ADS_RIGHT_DS_CONTROL_ACCESS) !== 0 || all) };
  }
  return {
    read: all || (mask & GENERIC_READ) !== 0 || (mask & ADS_RIGHT_DS_READ_PROPERTY) !== 0,
    apply: all || (mask & ADS_RIGHT_DS_CONTROL_ACCESS) !== 0,
  };
}

/**
 * Read and Apply Group Policy for a token (a set of SID strings). A NULL DACL grants
 * everything; an empty DACL nothing. Any matching deny ACE wins, wherever it stands: the
 * rule this product promises admins. (Windows walks a DACL in order, so an explicit allow
 * placed before an inherited deny would grant there; canonical DACLs put denies first.)
 */
export function gpoAccess(sd: SecurityDescriptor, token: ReadonlySet<string>): GpoAccess {
  if (sd.dacl === undefined) return { read: true, apply: true };
  let read = false;
  let apply = false;
  let readDenied = false;
  let applyDenied = false;
  for (const ace of sd.dacl) {
    if ((ace.flags & INHERIT_ONLY_ACE) !== 0 || !token.has(ace.sid)) continue;
    const r = rightsOf(ace);
    if (ace.type === 'deny' || ace.type === 'deny-object') {
      readDenied ||= r.read;
      applyDenied ||= r.apply;
    } else if (ace.type === 'allow' || ace.type === 'allow-object') {
      read ||= r.read;
      apply ||= r.apply;
    }
  }
  return { read: read && !readDenied, apply: apply && !applyDenied };
}
