/**
 * Sign-in to the collector with Active Directory: an LDAP simple bind over TLS to the
 * configured DC with the user's own credentials, then the role from the user's transitive
 * group memberships (tokenGroups) compared with the groups configured per role.
 *
 * What this guarantees:
 * - No anonymous bind: an empty user name or password is refused before any network I/O.
 * - No bind in clear: ldap:// is accepted only with StartTLS (refused when constructed).
 * - A failed bind says the same thing whatever the reason (unknown user, wrong password,
 *   disabled, expired, locked out), so the answer never tells whether the account exists.
 * - Every value put in an LDAP filter is escaped; the password is in no message.
 * - The connection is closed on every path.
 */
import { Directory, type DirEntry } from '../../directory/client.js';
import { splitDn } from '../../directory/dn.js';
import { escapeFilterValue } from '../../directory/filter.js';
import { DOMAIN_RIDS, domainRelativeSid, isSid, sidToString } from '../../directory/sid.js';
import { AscendError, isAscendError } from '../../errors.js';
import type { ApiRole } from '../storage/index.js';

export interface AdSignInOptions {
  /** ldaps://dc.corp.example:636, or ldap://dc.corp.example with startTls (plain LDAP is refused). */
  url: string;
  /** A PEM CA bundle to trust for the DC's certificate (instead of the system's CAs). */
  caFile?: string;
  /** Accept any certificate (test DCs only). */
  tlsInsecure?: boolean;
  /** The name to check the DC's certificate against, when the URL names it otherwise (e.g. by IP). */
  tlsServerName?: string;
  /** With ldap://: StartTLS before the bind. */
  startTls?: boolean;
  /** Per-operation and connect timeout; default 15000. */
  timeoutMs?: number;
  /**
   * The UPN suffix for bare names: "alice" binds as "alice@<domain>". Without it, users
   * must sign in as user@domain or DOMAIN\user (a bare name cannot be bound).
   */
  domain?: string;
  /**
   * Groups per role: each a SID (S-1-5-21-...-1107), a group's sAMAccountName ("Ascend
   * Approvers", optionally "CORP\Ascend Approvers"), or a DN. Membership is transitive
   * (nested groups count, the primary group too); a SID may also name a user account.
   * When `admin` is not given (undefined), Domain Admins (domain SID + 512) is the admin
   * group; an empty list means no one is admin through AD.
   */
  groups: { admin?: string[]; approver?: string[]; viewer?: string[] };
  /** How long resolved group SIDs (and unresolvable names) are kept; default 5 minutes. */
  cacheTtlMs?: number;
  /** Told (one line each) when a configured group cannot be found; at most once per cache period per group. */
  onWarning?: (message: string) => void;
}

export interface SignedIn {
  /** The account's user principal name (alice@corp.example.test), else sAMAccountName@domain. */
  name: string;
  /** The account's DN. */
  dn: string;
  /** The account's objectSid. */
  sid: string;
  role: ApiRole;
  /**
   * Every way an agent may name this account (UPN, sAMAccountName@dnsDomain,
   * NETBIOS\\sAMAccountName) and its SID: the session's owners, so it never approves the
   * account's own requests, whichever form the agent's name service uses.
   */
  identities: string[];
}

/** The one message for every refused bind: it must not tell an unknown user from a wrong password. */
export const AD_SIGN_IN_FAILED_MESSAGE = 'Sign-in failed: the user name or password is incorrect';

const DEFAULT_CACHE_TTL_MS = 5 * 60_000;
/** Longer than any sAMAccountName (20) or UPN anyone uses; stops absurd input before I/O. */
const MAX_USER_LENGTH = 256;
/** Highest first: the first role with a matching group wins. */
const ROLES_BY_RANK: readonly ApiRole[] = ['admin', 'approver', 'viewer'];

type GroupRef = { kind: 'sid'; sid: string; text: string } | { kind: 'dn'; dn: string; text: string } | { kind: 'name'; name: string; text: string };

/** How the user typed their name, and what to bind with. */
interface UserName {
  /** What the DC is asked to bind: a UPN or DOMAIN\user. */
  bindName: string;
  /** user@suffix (for the userPrincipalName match), when the name has that form. */
  upn?: { full: string; local: string; suffix: string };
  /** DOMAIN\user, when the name has that form. */
  nt4?: { domain: string; sam: string };
}

interface DomainFacts {
  domainSid: string;
  /** Lower-cased; '' when the directory does not say. */
  netbios: string;
}

interface CachedSid {
  sid: string | undefined;
  expires: number;
}

function unauthenticated(message = AD_SIGN_IN_FAILED_MESSAGE): AscendError {
  return new AscendError('ASC_COLLECTOR_UNAUTHENTICATED', message);
}

function forbidden(message: string): AscendError {
  return new AscendError('ASC_COLLECTOR_FORBIDDEN', message);
}

function hasControlCharacters(text: string): boolean {
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').replace(/ {2,}/g, ' ').trim();
}

/** The string form of an objectSid value, or undefined when there is none (or it is malformed). */
function sidOf(entry: DirEntry | undefined): string | undefined {
  const raw = entry?.binary['objectsid']?.[0];
  if (raw === undefined) return undefined;
  try {
    return sidToString(raw);
  } catch {
    return undefined;
  }
}

function first(entry: DirEntry, attribute: string): string | undefined {
  return entry.attrs[attribute.toLowerCase()]?.[0];
}

/** Classifies one configured group: SID, DN, or sAMAccountName (a "DOMAIN\" prefix is dropped). */
function parseGroupRef(raw: string, role: ApiRole): GroupRef {
  const text = raw.trim();
  if (text === '') throw new AscendError('ASC_CONFIG', `an empty group name is configured for the ${role} role`);
  if (hasControlCharacters(text)) throw new AscendError('ASC_CONFIG', `the ${role} group ${JSON.stringify(text)} contains control characters`);
  if (/^s-1-/i.test(text)) {
    if (!isSid(text)) throw new AscendError('ASC_CONFIG', `the ${role} group "${text}" looks like a SID but is not a well-formed one`);
    return { kind: 'sid', sid: `S${text.slice(1)}`, text };
  }
  // A sAMAccountName cannot hold "=", so anything with one is meant as a DN.
  if (text.includes('=')) {
    const rdns = splitDn(text);
    if (rdns.length === 0 || rdns.some((r) => !/^[A-Za-z][A-Za-z0-9-]*\s*=/.test(r) && !/^[0-9]+(\.[0-9]+)*\s*=/.test(r))) {
      throw new AscendError('ASC_CONFIG', `the ${role} group "${text}" is neither a SID, a group name nor a well-formed DN`);
    }
    return { kind: 'dn', dn: text, text };
  }
  const backslash = text.lastIndexOf('\\');
  const name = backslash >= 0 ? text.slice(backslash + 1) : text;
  if (name === '') throw new AscendError('ASC_CONFIG', `the ${role} group "${text}" names no group after "\\"`);
  return { kind: 'name', name, text };
}

function validateUrl(url: string, startTls: boolean | undefined): void {
  let scheme: string;
  try {
    scheme = new URL(url).protocol.replace(/:$/, '').toLowerCase();
  } catch {
    throw new AscendError('ASC_CONFIG', `"${url}" is not an LDAP URL: expected ldaps://host[:port] or ldap://host[:port] with StartTLS`);
  }
  if (scheme === 'ldap' && startTls !== true) {
    throw new AscendError(
      'ASC_LDAP_INSECURE_REFUSED',
      `Refusing Active Directory sign-in over ${url} without TLS (passwords would cross the network in clear): use ldaps:// (port 636) or StartTLS`,
    );
  }
  if (scheme !== 'ldap' && scheme !== 'ldaps') throw new AscendError('ASC_CONFIG', `"${url}" is not an LDAP URL: the scheme must be ldaps:// or ldap:// with StartTLS`);
}

/** Active Directory sign-in for the collector's admin API. One instance per configuration; safe to share. */
export class AdSignIn {
  private readonly opts: AdSignInOptions;
  private readonly domain: string | undefined;
  private readonly refs: ReadonlyMap<ApiRole, readonly GroupRef[]>;
  /** Domain Admins of the bound domain stands in for the admin groups. */
  private readonly defaultAdmin: boolean;
  private readonly ttlMs: number;
  private readonly sidCache = new Map<string, CachedSid>();
  /** Per default naming context; a domain's SID and NetBIOS name do not change. */
  private readonly domainCache = new Map<string, DomainFacts>();

  constructor(opts: AdSignInOptions) {
    validateUrl(opts.url, opts.startTls);
    if (opts.domain !== undefined) {
      const d = opts.domain.trim().replace(/^@/, '');
      if (d === '' || /[\s@\\/]/.test(d) || hasControlCharacters(d)) {
        throw new AscendError('ASC_CONFIG', `"${opts.domain}" is not a domain name for user names (expected e.g. corp.example.com)`);
      }
      this.domain = d;
    }
    const ttl = opts.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    if (!Number.isFinite(ttl) || ttl < 0) throw new AscendError('ASC_CONFIG', `group cache time ${ttl} ms is not a non-negative number`);
    this.ttlMs = ttl;
    const refs = new Map<ApiRole, GroupRef[]>();
    for (const role of ROLES_BY_RANK) refs.set(role, (opts.groups[role] ?? []).map((g) => parseGroupRef(g, role)));
    this.refs = refs;
    this.defaultAdmin = opts.groups.admin === undefined;
    this.opts = { ...opts, groups: { ...opts.groups } };
  }

  /**
   * Binds as the user and resolves their role from tokenGroups. Throws AscendError:
   * ASC_COLLECTOR_UNAUTHENTICATED for a refused bind or empty input (one message for every
   * reason), ASC_COLLECTOR_FORBIDDEN when the account is in none of the configured groups
   * (or is not a user of this domain), and the ASC_LDAP_* codes (ASC_LDAP_UNREACHABLE,
   * ASC_LDAP_TLS_FAILED, ...) for trouble with the DC.
   */
  async authenticate(user: string, password: string): Promise<SignedIn> {
    // Everything before the connection: no I/O for input that can never sign in.
    if (typeof user !== 'string' || typeof password !== 'string' || user.trim() === '' || password === '') {
      throw unauthenticated('Sign-in failed: a user name and a password are required');
    }
    const name = this.parseUser(user.trim());

    let dir: Directory;
    try {
      dir = await Directory.connect({
        url: this.opts.url,
        bindDn: name.bindName,
        password,
        ...(this.opts.caFile !== undefined ? { caFile: this.opts.caFile } : {}),
        ...(this.opts.tlsInsecure !== undefined ? { tlsInsecure: this.opts.tlsInsecure } : {}),
        ...(this.opts.tlsServerName !== undefined ? { tlsServerName: this.opts.tlsServerName } : {}),
        ...(this.opts.startTls !== undefined ? { startTls: this.opts.startTls } : {}),
        ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}),
        allowPlainLdap: false,
      });
    } catch (e) {
      // Deliberately without the cause: it says "no such user" or "wrong password".
      if (isAscendError(e) && e.code === 'ASC_LDAP_BAD_CREDENTIALS') throw unauthenticated();
      throw this.passThrough(e);
    }
    try {
      const entry = await this.findSelf(dir, name);
      const userSid = sidOf(entry);
      if (userSid === undefined) throw new AscendError('ASC_LDAP_ERROR', `The directory at ${dir.url} returned no objectSid for "${entry.dn}"`);
      const accountName = this.accountName(dir, entry);
      const held = new Set<string>([userSid, ...(await dir.tokenGroups(entry.dn))].map((s) => s.toUpperCase()));
      for (const role of ROLES_BY_RANK) {
        const sids = await this.roleSids(dir, role);
        if (sids.some((s) => held.has(s.toUpperCase()))) return { name: accountName, dn: entry.dn, sid: userSid, role, identities: await this.identities(dir, entry, accountName, userSid) };
      }
      throw forbidden(`The account ${accountName} is not a member of any group that grants access to Ascend (admin, approver or viewer)`);
    } catch (e) {
      throw this.passThrough(e);
    } finally {
      await dir.close();
    }
  }

  /** The name to bind with, refusing (before any I/O) what cannot be a user name. */
  private parseUser(user: string): UserName {
    if (user.length > MAX_USER_LENGTH || hasControlCharacters(user)) throw unauthenticated();
    const backslash = user.indexOf('\\');
    if (backslash >= 0) {
      const domain = user.slice(0, backslash);
      const sam = user.slice(backslash + 1);
      if (domain === '' || sam === '' || sam.includes('\\') || sam.includes('@')) throw unauthenticated();
      // AD and Samba both accept DOMAIN\user in a simple bind, and check the domain part themselves.
      return { bindName: user, nt4: { domain, sam } };
    }
    const at = user.lastIndexOf('@');
    if (at >= 0) {
      const local = user.slice(0, at);
      const suffix = user.slice(at + 1);
      if (local === '' || suffix === '') throw unauthenticated();
      return { bindName: user, upn: { full: user, local, suffix } };
    }
    if (this.domain === undefined) {
      throw unauthenticated('Sign-in failed: sign in as user@domain or DOMAIN\\user (no default domain is configured for bare user names)');
    }
    const full = `${user}@${this.domain}`;
    return { bindName: full, upn: { full, local: user, suffix: this.domain } };
  }

  /** The bound account's own entry: by userPrincipalName, else by sAMAccountName within this domain. */
  private async findSelf(dir: Directory, name: UserName): Promise<DirEntry> {
    const base = dir.defaultNamingContext;
    const attributes = ['objectSid', 'sAMAccountName', 'userPrincipalName'];
    const people = (clause: string): string => `(&(objectCategory=person)(objectClass=user)${clause})`;
    const unique = (found: DirEntry[], what: string): DirEntry | undefined => {
      if (found.length > 1) throw forbidden(`Sign-in refused: more than one account in ${dir.dnsDomain} has the ${what} "${name.bindName}"`);
      return found[0];
    };

    let sam: string | undefined;
    if (name.upn !== undefined) {
      const byUpn = unique(
        await dir.search(base, { scope: 'sub', filter: people(`(userPrincipalName=${escapeFilterValue(name.upn.full)})`), attributes }),
        'user principal name',
      );
      if (byUpn !== undefined) return byUpn;
      // An account without userPrincipalName binds with its implicit UPN sAMAccountName@dnsDomain.
      // Only then is the sAMAccountName match the bound account (not one of a trusted domain).
      const suffix = name.upn.suffix.toLowerCase();
      if (suffix === dir.dnsDomain.toLowerCase() || suffix === (await this.domainFacts(dir)).netbios) sam = name.upn.local;
    } else if (name.nt4 !== undefined) {
      const netbios = (await this.domainFacts(dir)).netbios;
      const domain = name.nt4.domain.toLowerCase();
      if (domain === netbios || domain === dir.dnsDomain.toLowerCase()) sam = name.nt4.sam;
    }
    if (sam !== undefined) {
      const bySam = unique(await dir.search(base, { scope: 'sub', filter: people(`(sAMAccountName=${escapeFilterValue(sam)})`), attributes }), 'account name');
      if (bySam !== undefined) return bySam;
    }
    throw forbidden(`Sign-in refused: "${name.bindName}" is not a user account of the domain ${dir.dnsDomain}`);
  }

  private async identities(dir: Directory, entry: DirEntry, accountName: string, sid: string): Promise<string[]> {
    const out = [accountName, sid];
    const sam = first(entry, 'sAMAccountName');
    if (sam !== undefined && sam !== '') {
      out.push(`${sam}@${dir.dnsDomain}`);
      const netbios = (await this.domainFacts(dir)).netbios;
      if (netbios !== '') out.push(`${netbios.toUpperCase()}\\${sam}`);
    }
    return out;
  }

  private accountName(dir: Directory, entry: DirEntry): string {
    const upn = first(entry, 'userPrincipalName');
    if (upn !== undefined && upn !== '') return upn;
    const sam = first(entry, 'sAMAccountName') ?? entry.dn;
    return `${sam}@${dir.dnsDomain}`;
  }

  /** The domain's SID (from the naming context's head) and NetBIOS name (from its crossRef). */
  private async domainFacts(dir: Directory): Promise<DomainFacts> {
    const key = dir.defaultNamingContext.toLowerCase();
    const cached = this.domainCache.get(key);
    if (cached !== undefined) return cached;
    const head = await dir.search(dir.defaultNamingContext, { scope: 'base', attributes: ['objectSid'] });
    const domainSid = sidOf(head[0]);
    if (domainSid === undefined) throw new AscendError('ASC_LDAP_ERROR', `The directory at ${dir.url} returned no objectSid for the domain "${dir.defaultNamingContext}"`);
    let netbios = '';
    if (dir.configurationNamingContext !== '') {
      const refs = await dir.search(`CN=Partitions,${dir.configurationNamingContext}`, {
        scope: 'one',
        filter: `(&(objectClass=crossRef)(nCName=${escapeFilterValue(dir.defaultNamingContext)}))`,
        attributes: ['nETBIOSName'],
      });
      netbios = (refs[0] !== undefined ? first(refs[0], 'nETBIOSName') : undefined)?.toLowerCase() ?? '';
    }
    const facts = { domainSid, netbios };
    this.domainCache.set(key, facts);
    return facts;
  }

  /** The SIDs that grant `role`: configured groups resolved (cached), or Domain Admins for a default admin. */
  private async roleSids(dir: Directory, role: ApiRole): Promise<string[]> {
    if (role === 'admin' && this.defaultAdmin) {
      return [domainRelativeSid((await this.domainFacts(dir)).domainSid, DOMAIN_RIDS.DOMAIN_ADMINS)];
    }
    const out: string[] = [];
    for (const ref of this.refs.get(role) ?? []) {
      const sid = await this.resolve(dir, ref);
      if (sid !== undefined) out.push(sid);
    }
    return out;
  }

  private async resolve(dir: Directory, ref: GroupRef): Promise<string | undefined> {
    if (ref.kind === 'sid') return ref.sid;
    const key = `${dir.defaultNamingContext.toLowerCase()}|${ref.kind}|${ref.text.toLowerCase()}`;
    const now = Date.now();
    const cached = this.sidCache.get(key);
    if (cached !== undefined && cached.expires > now) return cached.sid;

    let sid: string | undefined;
    if (ref.kind === 'dn') {
      try {
        sid = sidOf(await dir.get(ref.dn, ['objectSid']));
      } catch (e) {
        // A DN the server will not take (bad syntax, another partition): this group grants nothing.
        if (!isAscendError(e) || e.code !== 'ASC_LDAP_ERROR') throw e;
        this.opts.onWarning?.(oneLine(`Active Directory sign-in: the configured group "${ref.text}" cannot be read: ${e.message}`));
        return undefined;
      }
    } else {
      const found = await dir.search(dir.defaultNamingContext, {
        scope: 'sub',
        filter: `(&(objectCategory=group)(sAMAccountName=${escapeFilterValue(ref.name)}))`,
        attributes: ['objectSid'],
      });
      sid = found.length === 1 ? sidOf(found[0]) : undefined;
    }
    if (sid === undefined) this.opts.onWarning?.(oneLine(`Active Directory sign-in: the configured group "${ref.text}" was not found in ${dir.dnsDomain}; it grants no role`));
    this.sidCache.set(key, { sid, expires: now + this.ttlMs });
    return sid;
  }

  /** AscendErrors pass on (on one line); anything else is a bug, reported without detail that could carry input. */
  private passThrough(e: unknown): AscendError {
    if (isAscendError(e)) {
      if (!/[\r\n]/.test(e.message)) return e;
      return new AscendError(e.code, oneLine(e.message), { cause: e, ...(e.hint !== undefined ? { hint: e.hint } : {}) });
    }
    return new AscendError('ASC_INTERNAL', `Active Directory sign-in failed unexpectedly: ${e instanceof Error ? e.name : typeof e}`, { cause: e });
  }
}
