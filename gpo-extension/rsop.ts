/**
 * The client side of Group Policy: the resultant set of policy (RSoP) for an account,
 * like gpresult. Which GPOs apply, in which order, why the others do not, and what
 * every Ascend setting ends up as, with the GPO that won.
 *
 * The directory is read in a few bulk searches (containers with links, every GPO, the
 * accounts, the groups) and the decision is made in memory, so resolving every
 * computer of an OU costs the same handful of LDAP round trips as resolving one.
 */
import { AscendError, isAscendError } from '../src/errors.js';
import type { PolicyCatalog } from '../src/catalog/index.js';
import type { PolEntry } from '../src/formats/registry-pol/index.js';
import { resolveEffectivePolicies, type EffectivePolicy, type PolSource } from '../src/policy/index.js';
import { escapeFilterValue, parentDn, parseSecurityDescriptor, splitDn, sidToString, SD_FLAGS, WELL_KNOWN_SIDS, type DirEntry, type Directory, type SecurityDescriptor } from '../src/directory/index.js';
import type { SysvolStore } from './sysvol/index.js';
import { GPO_ATTRIBUTES, gpoFromEntry, readGpoRegistryPol, type GpoInfo } from './admin.js';
import {
  GPLINK_OPT_DISABLED,
  GPLINK_OPT_ENFORCED,
  GPO_BLOCK_INHERITANCE,
  GPO_FLAG_MACHINE_DISABLED,
  GPO_FLAG_USER_DISABLED,
  guidOfGpoDn,
  parseGpLink,
  policiesContainerDn,
  splitVersion,
} from './layout.js';
import { gpoAccess } from './security-filter.js';

export type AccountKind = 'computer' | 'user';

/** SIDs every authenticated token holds besides the account's own and its groups' (the one copy: resolveAppliedGpos and the bulk RSoP use it). */
const WELL_KNOWN_TOKEN_SIDS = [WELL_KNOWN_SIDS.EVERYONE, WELL_KNOWN_SIDS.AUTHENTICATED_USERS];

export interface RsopAccount {
  name: string;
  kind: AccountKind;
  dn: string;
  sid: string;
}

export interface AppliedGpo {
  guid: string;
  displayName: string;
  /** The container the winning link is on. */
  linkedTo: string;
  enforced: boolean;
  /** 1 = applied first (lowest precedence). */
  appliedOrder: number;
  /** 1 = highest precedence, as gpresult lists them. */
  precedence: number;
  version: number;
  /** A WMI filter is named on the GPO; Ascend cannot evaluate it and applies the GPO as if it passed. */
  wmiFilter?: string;
}

export interface DeniedGpo {
  guid: string;
  displayName: string;
  linkedTo: string;
  reason: string;
}

export interface RsopSetting extends Omit<EffectivePolicy, 'source'> {
  /** The GPO whose entry decided the setting; null when Not Configured. */
  source: { guid: string; displayName: string } | null;
}

export interface RsopResult {
  account: RsopAccount;
  applied: AppliedGpo[];
  notApplied: DeniedGpo[];
  settings: RsopSetting[];
  /** Notes on what was not evaluated (WMI filters, site links). */
  notes: string[];
}

/** A container on the way from the domain down to an account, with its links. */
interface Som {
  dn: string;
  links: ReturnType<typeof parseGpLink>;
  blocksInheritance: boolean;
}

/** What an RSoP run reads from the directory once and shares between accounts. */
export interface DomainSnapshot {
  domainDn: string;
  domainSid: string;
  /** Containers with gPLink or gPOptions, by normalised DN. */
  soms: Map<string, Som>;
  /** GPOs by GUID, with their parsed security descriptors. */
  gpos: Map<string, { info: GpoInfo; sd: SecurityDescriptor | undefined }>;
}

/**
 * A DN for comparison: its RDNs as splitDn separates them (escapes kept, so "\\," stays
 * part of a value), trailing spaces trimmed, joined by commas, lower-cased.
 */
export function normDn(dn: string): string {
  return splitDn(dn)
    .map((rdn) => rdn.replace(/(?<!\\) +$/, ''))
    .join(',')
    .toLowerCase();
}

function somFromEntry(c: DirEntry): Som {
  return {
    dn: c.dn,
    links: parseGpLink(c.attrs.gplink?.[0]),
    blocksInheritance: (Number(c.attrs.gpoptions?.[0] ?? '0') & GPO_BLOCK_INHERITANCE) !== 0,
  };
}

/** GPOs of the domain's Policies container that match `filter` (an extra condition, or none), with their security descriptors. */
async function readGpos(dir: Directory, domainDn: string, filter?: string): Promise<DomainSnapshot['gpos']> {
  const gpoEntries = await dir.search(policiesContainerDn(domainDn), {
    scope: 'one',
    filter: filter === undefined ? '(objectClass=groupPolicyContainer)' : `(&(objectClass=groupPolicyContainer)${filter})`,
    attributes: [...GPO_ATTRIBUTES, 'nTSecurityDescriptor'],
    binaryAttributes: ['nTSecurityDescriptor'],
    sdFlags: SD_FLAGS.OWNER | SD_FLAGS.GROUP | SD_FLAGS.DACL,
  });
  const gpos = new Map<string, { info: GpoInfo; sd: SecurityDescriptor | undefined }>();
  for (const e of gpoEntries) {
    const info = gpoFromEntry(e);
    const raw = e.binary.ntsecuritydescriptor?.[0];
    gpos.set(info.guid, { info, sd: raw ? parseSecurityDescriptor(raw) : undefined });
  }
  return gpos;
}

/** Reads every linked container and every GPO of the domain: three searches. */
export async function readDomainSnapshot(dir: Directory): Promise<DomainSnapshot> {
  const domainDn = dir.defaultNamingContext;
  const domain = await dir.get(domainDn, ['objectSid'], ['objectSid']);
  const sidBytes = domain?.binary.objectsid?.[0];
  if (!sidBytes) throw new AscendError('ASC_LDAP_ERROR', `the domain object ${domainDn} has no objectSid`);
  const containers = await dir.search(domainDn, { scope: 'sub', filter: '(|(gPLink=*)(gPOptions=*))', attributes: ['gPLink', 'gPOptions'] });
  const soms = new Map<string, Som>();
  for (const c of containers) soms.set(normDn(c.dn), somFromEntry(c));
  const gpos = await readGpos(dir, domainDn);
  return { domainDn, domainSid: sidToString(sidBytes), soms, gpos };
}

/** The containers from an account's parent up to the domain, nearest first (the domain always last). */
function containersAbove(accountDn: string, domainDn: string): string[] {
  const domainKey = normDn(domainDn);
  const chain: string[] = [];
  for (let dn = parentDn(accountDn); dn !== ''; dn = parentDn(dn)) {
    if (normDn(dn) === domainKey) break;
    chain.push(dn);
  }
  chain.push(domainDn);
  return chain;
}

/**
 * What one account's RSoP needs, in two searches whose cost does not grow with the
 * domain: the containers from the account up to the domain (by DN, with the domain's
 * objectSid), then only the GPOs linked on them. For that account it decides exactly as
 * readDomainSnapshot does: orderLinks looks at no other container, selectGpos at no
 * other GPO. (A domain-wide search for gPLink/gPOptions cannot use an index and reads
 * every object of the domain.)
 */
export async function readAccountSnapshot(dir: Directory, accountDn: string): Promise<DomainSnapshot> {
  const domainDn = dir.defaultNamingContext;
  const domainKey = normDn(domainDn);
  const chain = containersAbove(accountDn, domainDn);
  const containers = await dir.search(domainDn, {
    scope: 'sub',
    filter: `(|${chain.map((dn) => `(distinguishedName=${escapeFilterValue(dn)})`).join('')})`,
    attributes: ['gPLink', 'gPOptions', 'objectSid'],
    binaryAttributes: ['objectSid'],
  });
  // Every container above an existing account exists; should the server match a DN otherwise
  // than expected (unusual escaping), read the whole domain rather than miss a link.
  const wanted = new Set(chain.map(normDn));
  if (new Set(containers.map((c) => normDn(c.dn)).filter((dn) => wanted.has(dn))).size !== wanted.size) return readDomainSnapshot(dir);
  let sidBytes: Buffer | undefined;
  const soms = new Map<string, Som>();
  for (const c of containers) {
    if (normDn(c.dn) === domainKey) sidBytes = c.binary.objectsid?.[0];
    // As the domain-wide read: only containers that carry gPLink or gPOptions.
    if (c.attrs.gplink !== undefined || c.attrs.gpoptions !== undefined) soms.set(normDn(c.dn), somFromEntry(c));
  }
  if (!sidBytes) throw new AscendError('ASC_LDAP_ERROR', `the domain object ${domainDn} has no objectSid`);
  const guids = new Set<string>();
  for (const som of soms.values()) {
    for (const link of som.links) {
      const guid = guidOfGpoDn(link.gpoDn);
      if (guid !== undefined) guids.add(guid);
    }
  }
  const gpos = guids.size === 0 ? new Map() : await readGpos(dir, domainDn, `(|${[...guids].map((g) => `(cn=${escapeFilterValue(g)})`).join('')})`);
  return { domainDn, domainSid: sidToString(sidBytes), soms, gpos };
}

interface Candidate {
  guid: string;
  som: Som;
  enforced: boolean;
}

/**
 * The GPO links that reach an account, lowest precedence first, as Windows orders them:
 * non-enforced links from the domain down to the account's OU (inside a container, the
 * last link in gPLink is link order 1 and applies last); then enforced links from the
 * account's OU up to the domain, so an enforced link higher up wins. Block Inheritance
 * on an OU stops non-enforced links from above it; disabled links do not apply.
 */
export function orderLinks(accountDn: string, snapshot: DomainSnapshot): { candidates: Candidate[]; denied: { guid: string; som: Som; reason: string }[] } {
  const chain: Som[] = [];
  const domainKey = normDn(snapshot.domainDn);
  for (let dn = parentDn(accountDn); dn !== ''; dn = parentDn(dn)) {
    chain.unshift(snapshot.soms.get(normDn(dn)) ?? { dn, links: [], blocksInheritance: false });
    if (normDn(dn) === domainKey) break;
  }
  const candidates: Candidate[] = [];
  const denied: { guid: string; som: Som; reason: string }[] = [];
  const guidOf = (gpoDn: string): string => guidOfGpoDn(gpoDn) ?? gpoDn;
  chain.forEach((som, i) => {
    const blocker = chain.slice(i + 1).find((below) => below.blocksInheritance);
    for (const link of som.links) {
      const guid = guidOf(link.gpoDn);
      if (link.options & GPLINK_OPT_DISABLED) denied.push({ guid, som, reason: 'the link is disabled' });
      else if (link.options & GPLINK_OPT_ENFORCED) continue;
      else if (blocker) denied.push({ guid, som, reason: `Block Inheritance on ${blocker.dn}` });
      else candidates.push({ guid, som, enforced: false });
    }
  });
  for (const som of [...chain].reverse()) {
    for (const link of som.links) {
      if (link.options & GPLINK_OPT_ENFORCED && !(link.options & GPLINK_OPT_DISABLED)) candidates.push({ guid: guidOf(link.gpoDn), som, enforced: true });
    }
  }
  return { candidates, denied };
}

export interface AccountToken {
  account: RsopAccount;
  /** SIDs of the account, its groups (nested), and the well-known ones. */
  sids: Set<string>;
}

/**
 * Decides which GPOs apply to an account (lowest precedence first) and why the others
 * do not: link disabled, blocked, GPO missing, half disabled, functionality version,
 * security filtering (Read and Apply Group Policy; deny wins), or empty half.
 */
export function selectGpos(token: AccountToken, snapshot: DomainSnapshot): { applied: AppliedGpo[]; notApplied: DeniedGpo[]; notes: string[] } {
  const { candidates, denied } = orderLinks(token.account.dn, snapshot);
  const kind = token.account.kind;
  const notApplied: DeniedGpo[] = [];
  const notes: string[] = [];
  const nameOf = (guid: string): string => snapshot.gpos.get(guid)?.info.displayName ?? guid;
  for (const d of denied) notApplied.push({ guid: d.guid, displayName: nameOf(d.guid), linkedTo: d.som.dn, reason: d.reason });

  const passing: { c: Candidate; info: GpoInfo }[] = [];
  for (const c of candidates) {
    const gpo = snapshot.gpos.get(c.guid);
    const deny = (reason: string): void => {
      notApplied.push({ guid: c.guid, displayName: nameOf(c.guid), linkedTo: c.som.dn, reason });
    };
    if (!gpo) {
      deny('the linked GPO does not exist (a dangling link)');
      continue;
    }
    const info = gpo.info;
    const half = kind === 'computer' ? splitVersion(info.version).machine : splitVersion(info.version).user;
    if (kind === 'computer' && info.flags & GPO_FLAG_MACHINE_DISABLED) deny('its computer settings are disabled (GPO status)');
    else if (kind === 'user' && info.flags & GPO_FLAG_USER_DISABLED) deny('its user settings are disabled (GPO status)');
    else if (info.functionalityVersion < 2) deny(`gPCFunctionalityVersion ${info.functionalityVersion} is below 2`);
    else {
      if (!gpo.sd) notes.push(`security filtering of GPO "${info.displayName}" was not evaluated: its security descriptor could not be read (the account used lacks Read permissions on it); it is shown as applied`);
      const access = gpo.sd ? gpoAccess(gpo.sd, token.sids) : { read: true, apply: true };
      if (!access.read) deny('security filtering: the account may not read the GPO');
      else if (!access.apply) deny('security filtering: the account lacks the Apply Group Policy right');
      else if (half === 0) deny(`empty: the ${kind} half has version 0`);
      else passing.push({ c, info });
    }
  }
  // A GPO linked in several places applies once, at its highest-precedence link.
  const lastIndex = new Map<string, number>();
  passing.forEach((p, i) => lastIndex.set(p.c.guid, i));
  const kept = passing.filter((p, i) => lastIndex.get(p.c.guid) === i);
  // A GPO that applies through one link is not listed as not applied through another.
  const appliedGuids = new Set(kept.map((p) => p.c.guid));
  for (let i = notApplied.length - 1; i >= 0; i--) if (appliedGuids.has((notApplied[i] as DeniedGpo).guid)) notApplied.splice(i, 1);
  const applied = kept.map(({ c, info }, i): AppliedGpo => {
    if (info.wmiFilter) notes.push(`GPO "${info.displayName}" has a WMI filter, which Ascend does not evaluate; it is shown as applied`);
    return {
      guid: c.guid,
      displayName: info.displayName,
      linkedTo: c.som.dn,
      enforced: c.enforced,
      appliedOrder: i + 1,
      precedence: kept.length - i,
      version: info.version,
      ...(info.wmiFilter ? { wmiFilter: info.wmiFilter } : {}),
    };
  });
  return { applied, notApplied, notes: [...new Set(notes)] };
}

/** Reads each applied GPO's Registry.pol (once per GUID and version) and folds them. */
export class PolicyFileCache {
  private readonly files = new Map<string, Promise<PolEntry[]>>();

  constructor(
    private readonly store: SysvolStore,
    private readonly dnsDomain: string,
  ) {}

  entries(gpo: AppliedGpo, kind: AccountKind): Promise<PolEntry[]> {
    const id = `${gpo.guid}:${gpo.version}:${kind}`;
    let p = this.files.get(id);
    if (!p) {
      p = this.load(gpo, kind);
      this.files.set(id, p);
    }
    return p;
  }

  private load(gpo: AppliedGpo, kind: AccountKind): Promise<PolEntry[]> {
    return readGpoRegistryPol(this.store, this.dnsDomain, gpo, kind === 'computer' ? 'Machine' : 'User');
  }
}

/** The effective catalog settings from the applied GPOs (the catalog's policies of that class). */
export async function effectiveSettings(catalog: PolicyCatalog, applied: AppliedGpo[], kind: AccountKind, cache: PolicyFileCache): Promise<RsopSetting[]> {
  const files = await Promise.all(applied.map(async (g) => ({ source: g.guid, entries: await cache.entries(g, kind) })));
  return settingsOf(catalog, applied, kind, files);
}

/** One fold of the applied GPOs' Registry.pol sources (lowest precedence first), decoded through the catalog's policies of the account's class. */
function settingsOf(catalog: PolicyCatalog, applied: readonly AppliedGpo[], kind: AccountKind, files: readonly PolSource[]): RsopSetting[] {
  const wanted = kind === 'computer' ? ['Machine', 'Both'] : ['User', 'Both'];
  const classCatalog: PolicyCatalog = { ...catalog, policies: catalog.policies.filter((p) => wanted.includes(p.class)) };
  const byGuid = new Map(applied.map((g) => [g.guid, g.displayName]));
  return resolveEffectivePolicies(classCatalog, files).map((s) => ({
    ...s,
    source: s.source === null ? null : { guid: s.source, displayName: byGuid.get(s.source) ?? s.source },
  }));
}

const ACCOUNT_ATTRIBUTES = ['sAMAccountName', 'objectSid', 'objectClass', 'primaryGroupID', 'memberOf'];

function accountFromEntry(e: DirEntry, kind: AccountKind): RsopAccount {
  const sid = e.binary.objectsid?.[0];
  return { name: e.attrs.samaccountname?.[0] ?? e.dn, kind, dn: e.dn, sid: sid ? sidToString(sid) : '' };
}

/** Finds a computer (NAME or NAME$) or a user by sAMAccountName. */
export async function findAccount(dir: Directory, name: string, kind: AccountKind): Promise<DirEntry> {
  const bare = name.replace(/\$$/, '');
  const filter =
    kind === 'computer'
      ? `(&(objectClass=computer)(sAMAccountName=${escapeFilterValue(`${bare}$`)}))`
      : `(&(objectClass=user)(!(objectClass=computer))(sAMAccountName=${escapeFilterValue(name)}))`;
  const found = await dir.search(dir.defaultNamingContext, { scope: 'sub', filter, attributes: ACCOUNT_ATTRIBUTES, binaryAttributes: ['objectSid'] });
  const entry = found[0];
  if (!entry) throw new AscendError('ASC_ACCOUNT_NOT_FOUND', `no ${kind} account "${name}"`, { hint: kind === 'computer' ? 'give the computer name, with or without the trailing $' : 'give the sAMAccountName' });
  return entry;
}

/** The GPOs that apply to one account, in the order they apply, with their Registry.pol sources. */
export interface AppliedGpos {
  /** The account; `sid` is '' when the account used cannot read its objectSid. */
  account: RsopAccount;
  /** The SIDs of the account's groups (tokenGroups: nested, and the primary group). */
  groupSids: string[];
  /** Lowest precedence first: the order their Registry.pol files fold in. */
  applied: AppliedGpo[];
  notApplied: DeniedGpo[];
  notes: string[];
  /**
   * The Registry.pol (the account's half) of each applied GPO, in `applied` order, with the
   * GPO's GUID as `source`; a GPO whose file is damaged is left out here and listed in `damaged`.
   */
  sources: PolSource[];
  /** Applied GPOs whose Registry.pol does not parse (an ASC_POL_* error), in `applied` order. */
  damaged: { gpo: AppliedGpo; error: AscendError }[];
}

/**
 * The one RSoP read for an account (computer or user): its token from the DC's tokenGroups
 * (with the well-known SIDs every authenticated token holds), the containers above it and
 * the GPOs linked there (readAccountSnapshot), the GPOs that apply in order (selectGpos), and
 * each applied GPO's Registry.pol from SYSVOL. resolveRsop, the agent's domain policy source
 * and the rules commands' --rsop-computer all start here. A damaged Registry.pol is reported
 * in `damaged` (each caller decides what it means); SYSVOL or LDAP that cannot be read throws.
 */
export async function resolveAppliedGpos(dir: Directory, store: SysvolStore, name: string, kind: AccountKind): Promise<AppliedGpos> {
  const entry = await findAccount(dir, name, kind);
  const account = accountFromEntry(entry, kind);
  const [groupSids, snapshot] = await Promise.all([dir.tokenGroups(entry.dn), readAccountSnapshot(dir, entry.dn)]);
  const token: AccountToken = { account, sids: new Set([account.sid, ...groupSids, ...WELL_KNOWN_TOKEN_SIDS]) };
  const { applied, notApplied, notes } = selectGpos(token, snapshot);
  const cache = new PolicyFileCache(store, dir.dnsDomain);
  // Every read settles before anything is decided, so nothing is still reading SYSVOL when the caller closes it.
  const reads = await Promise.allSettled(applied.map((g) => cache.entries(g, kind)));
  const sources: PolSource[] = [];
  const damaged: AppliedGpos['damaged'] = [];
  reads.forEach((r, i) => {
    const gpo = applied[i] as AppliedGpo;
    if (r.status === 'fulfilled') sources.push({ source: gpo.guid, entries: r.value });
    else if (isAscendError(r.reason) && r.reason.code.startsWith('ASC_POL_')) damaged.push({ gpo, error: r.reason });
  });
  const failed = reads.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(isAscendError(r.reason) && r.reason.code.startsWith('ASC_POL_')));
  if (failed) throw failed.reason;
  return { account, groupSids, applied, notApplied, notes, sources, damaged };
}

/**
 * RSoP for one account (resolveAppliedGpos), its settings from one fold of the applied
 * GPOs' Registry.pol. A damaged Registry.pol in an applied GPO fails the RSoP (gpresult
 * cannot show what the account gets).
 */
export async function resolveRsop(dir: Directory, store: SysvolStore, catalog: PolicyCatalog, name: string, kind: AccountKind): Promise<RsopResult> {
  const { account, applied, notApplied, notes, sources, damaged } = await resolveAppliedGpos(dir, store, name, kind);
  if (damaged[0]) throw damaged[0].error;
  return { account, applied, notApplied, settings: settingsOf(catalog, applied, kind, sources), notes };
}

/**
 * Nested group membership from one read of every group: the SIDs of the groups an
 * account is in, directly, through nesting, or as its primary group. Equivalent to the
 * DC's tokenGroups for security filtering, without a query per account.
 */
export class GroupGraph {
  private readonly sidByDn = new Map<string, string>();
  private readonly dnBySid = new Map<string, string>();
  private readonly parentsByDn = new Map<string, string[]>();
  private readonly memo = new Map<string, Set<string>>();

  constructor(
    groups: readonly DirEntry[],
    private readonly domainSid: string,
  ) {
    for (const g of groups) {
      const sid = g.binary.objectsid?.[0];
      if (sid) {
        this.sidByDn.set(normDn(g.dn), sidToString(sid));
        this.dnBySid.set(sidToString(sid), normDn(g.dn));
      }
      this.parentsByDn.set(normDn(g.dn), (g.attrs.memberof ?? []).map(normDn));
    }
  }

  private closure(dn: string, seen: Set<string>): Set<string> {
    const memo = this.memo.get(dn);
    if (memo) return memo;
    const out = new Set<string>();
    const sid = this.sidByDn.get(dn);
    if (sid) out.add(sid);
    seen.add(dn);
    for (const parent of this.parentsByDn.get(dn) ?? []) {
      if (seen.has(parent)) continue; // membership cycles are legal in AD
      for (const s of this.closure(parent, seen)) out.add(s);
    }
    seen.delete(dn);
    if (seen.size === 0) this.memo.set(dn, out);
    return out;
  }

  /** The group SIDs of an account entry (memberOf and primaryGroupID). */
  tokenGroups(account: DirEntry): string[] {
    const out = new Set<string>();
    for (const parent of (account.attrs.memberof ?? []).map(normDn)) for (const s of this.closure(parent, new Set())) out.add(s);
    const rid = account.attrs.primarygroupid?.[0];
    if (rid) {
      const primary = `${this.domainSid}-${rid}`;
      out.add(primary);
      const primaryDn = this.dnBySid.get(primary);
      if (primaryDn) for (const s of this.closure(primaryDn, new Set())) out.add(s);
    }
    return [...out];
  }
}

export interface BulkRsopProgress {
  (done: number, total: number): void;
}

/**
 * RSoP for every computer under an OU from one paged read each of the computers, the
 * groups, the linked containers and the GPOs, then the SYSVOL files of the GPOs that apply.
 */
export async function resolveRsopForComputersIn(
  dir: Directory,
  store: SysvolStore,
  catalog: PolicyCatalog,
  ouDn: string,
  progress?: BulkRsopProgress,
): Promise<RsopResult[]> {
  const [computers, groups, snapshot] = await Promise.all([
    dir.search(ouDn, { scope: 'sub', filter: '(objectClass=computer)', attributes: ACCOUNT_ATTRIBUTES, binaryAttributes: ['objectSid'] }),
    dir.search(dir.defaultNamingContext, { scope: 'sub', filter: '(objectClass=group)', attributes: ['objectSid', 'memberOf'], binaryAttributes: ['objectSid'] }),
    readDomainSnapshot(dir),
  ]);
  const graph = new GroupGraph(groups, snapshot.domainSid);
  const cache = new PolicyFileCache(store, dir.dnsDomain);
  // Computers that get the same GPOs get the same settings: fold each distinct list once.
  const settingsByGpos = new Map<string, Promise<RsopSetting[]>>();
  const results: RsopResult[] = [];
  for (const entry of computers) {
    const account = accountFromEntry(entry, 'computer');
    const token: AccountToken = { account, sids: new Set([account.sid, ...graph.tokenGroups(entry), ...WELL_KNOWN_TOKEN_SIDS]) };
    const { applied, notApplied, notes } = selectGpos(token, snapshot);
    const id = applied.map((g) => `${g.guid}:${g.version}`).join(',');
    let settings = settingsByGpos.get(id);
    if (!settings) {
      settings = effectiveSettings(catalog, applied, 'computer', cache);
      settingsByGpos.set(id, settings);
    }
    results.push({ account, applied, notApplied, settings: await settings, notes });
    progress?.(results.length, computers.length);
  }
  return results.sort((a, b) => a.account.name.localeCompare(b.account.name));
}
