/**
 * No self-approval (issue 13): an approver never approves an elevation its own account
 * requested. The request names its user as the agent's name service does (alice,
 * CORP\alice, alice@corp.example; a SID when an agent sends one; "uid:N" when the uid has
 * no name); the approver is known by its token's owners (names and SIDs; an Active
 * Directory session holds the account's UPN, DOMAIN\sAMAccountName and SID), or, for a
 * token without an owner, by the token's name.
 *
 * The comparison fails closed: every spelling difference makes two names more alike, never
 * less. Names are compared by their account part only (what follows "DOMAIN\", what comes
 * before "@"), after Unicode compatibility folding (full-width letters), without invisible
 * format characters, surrounding space or case; the domain is ignored, so alice of one
 * domain may not approve alice of another either. A request naming a SID is compared with
 * the approver's SIDs; an approver without a known SID cannot approve it. A request whose
 * user cannot be named (empty, control characters, "uid:N", a malformed SID) is not
 * approved by anyone. Denying is never refused: denying one's own request takes nothing.
 */
import { AscendError } from '../../errors.js';

/** One way an account is written, reduced to what is compared. */
export type AccountForm = { kind: 'sid'; sid: string } | { kind: 'name'; account: string } | { kind: 'unknown' };

const SID = /^S-1-\d{1,15}(-\d{1,10}){1,15}$/;

/** NFKC, no format characters (zero-width, BOM, soft hyphen), no surrounding space, one space for a run of them, lower case. */
function fold(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\p{Cf}/gu, '')
    .trim()
    .replace(/[ \u00a0\u3000]+/g, ' ')
    .toLowerCase();
}

/** What an account name or SID is compared as. */
export function accountForm(text: string): AccountForm {
  if (typeof text !== 'string') return { kind: 'unknown' };
  const folded = fold(text);
  if (folded === '' || /[\p{Cc}\p{Zl}\p{Zp}]/u.test(folded)) return { kind: 'unknown' };
  if (/^s-1-/.test(folded)) {
    const sid = folded.toUpperCase();
    return SID.test(sid) ? { kind: 'sid', sid } : { kind: 'unknown' };
  }
  // The agent's name for a uid the name service does not know: it could be anyone.
  if (/^uid:/.test(folded)) return { kind: 'unknown' };
  const afterDomain = folded.slice(folded.lastIndexOf('\\') + 1);
  const at = afterDomain.indexOf('@');
  const account = (at >= 0 ? afterDomain.slice(0, at) : afterDomain).trim();
  return account === '' ? { kind: 'unknown' } : { kind: 'name', account };
}

/** Who decides: the token's owners, or its name when it has none. */
export interface Approver {
  name: string;
  owners: readonly string[];
}

/** Printable and on one line, for messages. */
function shown(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}...` : text);
}

function refuse(message: string): AscendError {
  return new AscendError('ASC_COLLECTOR_SELF_APPROVAL', message, { hint: 'ask another approver' });
}

/**
 * Throws ASC_COLLECTOR_SELF_APPROVAL when `approver` is, or cannot be told apart from, the
 * user who requested the elevation.
 */
export function assertNotSelfApproval(requestUser: string, approver: Approver): void {
  const request = accountForm(requestUser);
  if (request.kind === 'unknown') {
    throw refuse(`the request's user ${shown(requestUser)} cannot be compared with the approver, so no one may approve it; deny it or have it filed again`);
  }
  const forms = (approver.owners.length > 0 ? approver.owners : [approver.name]).map(accountForm);
  const sids = new Set(forms.flatMap((f) => (f.kind === 'sid' ? [f.sid] : [])));
  const accounts = new Set(forms.flatMap((f) => (f.kind === 'name' ? [f.account] : [])));
  const who = shown(approver.name);
  if (request.kind === 'sid') {
    if (sids.has(request.sid)) throw refuse(`${who} requested this elevation (${request.sid}) and may not approve it; an approver never approves their own request`);
    if (sids.size === 0) throw refuse(`the request names its user by SID (${request.sid}) and the SID of ${who} is not known, so it cannot approve it; sign in with Active Directory or use a token whose owner is given by SID`);
    return;
  }
  if (accounts.has(request.account)) throw refuse(`${who} requested this elevation (as ${shown(requestUser)}) and may not approve it; an approver never approves their own request`);
  if (accounts.size === 0) throw refuse(`the request names its user by account name (${shown(requestUser)}) and ${who} is known by no account name, so it cannot approve it; give the token's owner by name too`);
}

/** Owners of a new token: the ones asked for, and always those of the token (or session) that makes it. */
export function ownersForNewToken(asked: readonly string[] | undefined, maker: { owners: readonly string[] } | undefined): string[] {
  const out: string[] = [];
  for (const o of [...(maker?.owners ?? []), ...(asked ?? [])]) {
    const t = o.trim();
    if (t !== '' && !out.some((x) => x.toLowerCase() === t.toLowerCase())) out.push(t);
  }
  return out;
}
