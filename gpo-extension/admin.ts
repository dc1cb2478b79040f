/**
 * The admin side of Group Policy: GPOs edited the way GPMC edits them, over LDAP and SYSVOL.
 */
import { randomUUID } from 'node:crypto';
import { AscendError, isAscendError } from '../src/errors.js';
import { requirePolicy, type ElementValues, type PolicyCatalog, type PolicyState } from '../src/catalog/index.js';
import { readRegistryPol, writeRegistryPol, type PolEntry } from '../src/formats/registry-pol/index.js';
import { applyPolicyState, checkState, foldRegistryPol, readPolicyState, resolveEffectivePolicies, resolveEnabledValues, startingValues, type EffectivePolicy, type ValueBase } from '../src/policy/index.js';
import { escapeFilterValue, type DirEntry, type Directory } from '../src/directory/index.js';
import type { SysvolStore } from './sysvol/index.js';
import {
  addExtension,
  bumpHalf,
  createGptIni,
  formatGpLink,
  gpcFileSysPath,
  gpoDn,
  gpoSysvolPath,
  guidOfGpoDn,
  isGpoGuid,
  normalizeGpoGuid,
  parseGpLink,
  parseGptIni,
  policiesContainerDn,
  setGptIniVersion,
  splitVersion,
  GPLINK_OPT_DISABLED,
  GPLINK_OPT_ENFORCED,
  GPO_BLOCK_INHERITANCE,
  REGISTRY_CSE_GUID,
  REGISTRY_TOOL_GUID_MACHINE,
  type GpLink,
  type GptIni,
} from './layout.js';

export interface GpoInfo {
  guid: string;
  dn: string;
  displayName: string;
  /** AD versionNumber: user half << 16 | computer half. */
  version: number;
  machineVersion: number;
  userVersion: number;
  /** 1: user half disabled, 2: computer half disabled. */
  flags: number;
  functionalityVersion: number;
  fileSysPath: string;
  machineExtensionNames: string;
  userExtensionNames: string;
  wmiFilter?: string;
}

export const GPO_ATTRIBUTES = [
  'cn',
  'displayName',
  'versionNumber',
  'flags',
  'gPCFunctionalityVersion',
  'gPCFileSysPath',
  'gPCMachineExtensionNames',
  'gPCUserExtensionNames',
  'gPCWQLFilter',
];

const first = (e: DirEntry, name: string): string | undefined => e.attrs[name.toLowerCase()]?.[0];
const num = (e: DirEntry, name: string): number => Number(first(e, name) ?? '0') >>> 0;

export function gpoFromEntry(e: DirEntry): GpoInfo {
  const guid = guidOfGpoDn(e.dn) ?? normalizeGpoGuid(first(e, 'cn') ?? '');
  const version = num(e, 'versionNumber');
  const { user, machine } = splitVersion(version);
  const wmi = first(e, 'gPCWQLFilter');
  return {
    guid,
    dn: e.dn,
    displayName: first(e, 'displayName') ?? guid,
    version,
    machineVersion: machine,
    userVersion: user,
    flags: num(e, 'flags'),
    functionalityVersion: num(e, 'gPCFunctionalityVersion'),
    fileSysPath: first(e, 'gPCFileSysPath') ?? '',
    machineExtensionNames: first(e, 'gPCMachineExtensionNames') ?? '',
    userExtensionNames: first(e, 'gPCUserExtensionNames') ?? '',
    ...(wmi ? { wmiFilter: wmi } : {}),
  };
}

/**
 * A GPO half's Registry.pol from SYSVOL (empty when there is none); a damaged file is an
 * error naming the GPO, with the codec's code and byte offset.
 */
export async function readGpoRegistryPol(store: SysvolStore, dnsDomain: string, gpo: Pick<GpoInfo, 'guid' | 'displayName'>, half: 'Machine' | 'User'): Promise<PolEntry[]> {
  const bytes = await store.read([...gpoSysvolPath(gpo.guid, dnsDomain), half, 'Registry.pol']);
  if (!bytes) return [];
  try {
    return readRegistryPol(bytes);
  } catch (e) {
    if (isAscendError(e)) throw new AscendError(e.code, `GPO "${gpo.displayName}" ${gpo.guid} ${half}\\Registry.pol: ${e.message}`, { cause: e });
    throw e;
  }
}

export interface SetGpoPolicyResult {
  gpo: { guid: string; displayName: string };
  policy: string;
  state: PolicyState;
  values: Readonly<Record<string, unknown>>;
  /** versionNumber before and after; equal when nothing changed. */
  versionBefore: number;
  versionAfter: number;
  changed: boolean;
  /** setPolicy from the current values: elements not given that kept the value the Enabled policy had. */
  kept?: string[];
}

/** What updatePolicy's callback returns: the policy's new state and, for Enabled, its values. */
export interface PolicyChange {
  state: PolicyState | string;
  values?: ElementValues;
}

export interface LinkInfo {
  container: string;
  gpo: { guid: string; dn: string };
  /** 1 = highest precedence in the container, as GPMC numbers links. */
  linkOrder: number;
  enforced: boolean;
  enabled: boolean;
}

export interface LinkOptions {
  enforced?: boolean;
  disabled?: boolean;
  /** Link order to put the link at (1 = highest precedence); new links go last, as in GPMC. */
  order?: number;
}

/** What the GPO code needs of a directory connection (the Directory class, or a wrapper around it). */
export type DirectoryOps = Pick<Directory, 'search' | 'get' | 'add' | 'modify' | 'deleteTree' | 'defaultNamingContext' | 'dnsDomain'>;

/** Edits GPOs in one domain. */
export class GpoAdmin {
  constructor(
    readonly dir: DirectoryOps,
    readonly store: SysvolStore,
    readonly catalog: PolicyCatalog,
  ) {}

  get domainDn(): string {
    return this.dir.defaultNamingContext;
  }

  async list(): Promise<GpoInfo[]> {
    const entries = await this.dir.search(policiesContainerDn(this.domainDn), { scope: 'one', filter: '(objectClass=groupPolicyContainer)', attributes: GPO_ATTRIBUTES });
    return entries.map(gpoFromEntry).sort((a, b) => a.displayName.localeCompare(b.displayName));
  }

  /** A GPO by {GUID} or display name (case-insensitive; refused when several share it). */
  async find(nameOrGuid: string): Promise<GpoInfo> {
    if (isGpoGuid(nameOrGuid)) {
      const entry = await this.dir.get(gpoDn(nameOrGuid, this.domainDn), GPO_ATTRIBUTES);
      if (!entry) throw new AscendError('ASC_GPO_NOT_FOUND', `no GPO ${normalizeGpoGuid(nameOrGuid)}`, { hint: 'see "ascend gpo list"' });
      return gpoFromEntry(entry);
    }
    const entries = await this.dir.search(policiesContainerDn(this.domainDn), {
      scope: 'one',
      filter: `(&(objectClass=groupPolicyContainer)(displayName=${escapeFilterValue(nameOrGuid)}))`,
      attributes: GPO_ATTRIBUTES,
    });
    if (entries.length === 0) throw new AscendError('ASC_GPO_NOT_FOUND', `no GPO named "${nameOrGuid}"`, { hint: 'see "ascend gpo list"' });
    if (entries.length > 1) {
      throw new AscendError('ASC_GPO_AMBIGUOUS', `${entries.length} GPOs are named "${nameOrGuid}"`, { hint: `name one by GUID: ${entries.map((e) => gpoFromEntry(e).guid).join(', ')}` });
    }
    return gpoFromEntry(entries[0] as DirEntry);
  }

  /** Creates a GPO as GPMC does: the container with its Machine and User children, then its SYSVOL folder. */
  async create(displayName: string): Promise<GpoInfo> {
    if (displayName.trim() === '') throw new AscendError('ASC_USAGE', 'a GPO needs a display name');
    const existing = await this.dir.search(policiesContainerDn(this.domainDn), {
      scope: 'one',
      filter: `(&(objectClass=groupPolicyContainer)(displayName=${escapeFilterValue(displayName)}))`,
      attributes: ['cn'],
    });
    if (existing.length > 0) throw new AscendError('ASC_LDAP_ALREADY_EXISTS', `a GPO named "${displayName}" exists already`, { hint: 'pick another name' });
    const guid = `{${randomUUID().toUpperCase()}}`;
    const dn = gpoDn(guid, this.domainDn);
    await this.dir.add(dn, {
      objectClass: ['top', 'container', 'groupPolicyContainer'],
      displayName,
      gPCFileSysPath: gpcFileSysPath(guid, this.dir.dnsDomain),
      gPCFunctionalityVersion: '2',
      flags: '0',
      versionNumber: '0',
    });
    try {
      await this.dir.add(`CN=User,${dn}`, { objectClass: ['top', 'container'] });
      await this.dir.add(`CN=Machine,${dn}`, { objectClass: ['top', 'container'] });
      const folder = gpoSysvolPath(guid, this.dir.dnsDomain);
      await this.store.mkdir([...folder, 'Machine']);
      await this.store.mkdir([...folder, 'User']);
      await this.store.write([...folder, 'GPT.INI'], createGptIni(0, displayName));
    } catch (e) {
      // Leave no half-made GPO behind.
      await this.dir.deleteTree(dn).catch(() => undefined);
      await this.store.removeTree(gpoSysvolPath(guid, this.dir.dnsDomain)).catch(() => undefined);
      throw e;
    }
    return this.find(guid);
  }

  /** Deletes a GPO: its links everywhere in the domain, its AD objects, its SYSVOL folder. */
  async delete(nameOrGuid: string): Promise<{ guid: string; displayName: string; unlinkedFrom: string[] }> {
    const gpo = await this.find(nameOrGuid);
    const containers = await this.dir.search(this.domainDn, {
      scope: 'sub',
      filter: `(gPLink=*${escapeFilterValue(gpo.guid)}*)`,
      attributes: ['gPLink'],
    });
    const unlinkedFrom: string[] = [];
    for (const c of containers) {
      const links = parseGpLink(c.attrs.gplink?.[0]);
      const kept = links.filter((l) => guidOfGpoDn(l.gpoDn) !== gpo.guid);
      if (kept.length !== links.length) {
        await this.writeLinks(c.dn, kept);
        unlinkedFrom.push(c.dn);
      }
    }
    await this.dir.deleteTree(gpo.dn);
    await this.store.removeTree(gpoSysvolPath(gpo.guid, this.dir.dnsDomain));
    return { guid: gpo.guid, displayName: gpo.displayName, unlinkedFrom };
  }

  /** The computer half's Registry.pol entries (empty when the GPO has none). */
  readMachinePol(gpo: Pick<GpoInfo, 'guid' | 'displayName'>): Promise<PolEntry[]> {
    return readGpoRegistryPol(this.store, this.dir.dnsDomain, gpo, 'Machine');
  }

  /** Every Ascend setting of a GPO, with its state and values. */
  async show(nameOrGuid: string): Promise<{ gpo: GpoInfo; settings: EffectivePolicy[] }> {
    const gpo = await this.find(nameOrGuid);
    const entries = await this.readMachinePol(gpo);
    const settings = resolveEffectivePolicies(this.catalog, [{ source: gpo.displayName, entries }]);
    return { gpo, settings };
  }

  /** GPT.INI as bytes: its code page is unknown, so it is never decoded to be edited (see src/formats/gpt-ini). */
  private async readGptIni(gpo: GpoInfo): Promise<GptIni | undefined> {
    const bytes = await this.store.read([...gpoSysvolPath(gpo.guid, this.dir.dnsDomain), 'GPT.INI']);
    if (!bytes) return undefined;
    try {
      return parseGptIni(bytes);
    } catch (e) {
      if (isAscendError(e)) throw new AscendError(e.code, `GPO "${gpo.displayName}" ${gpo.guid}: ${e.message}`, { cause: e });
      throw e;
    }
  }

  /**
   * Sets a policy in a GPO as GPMC does: Machine\Registry.pol rewritten atomically with
   * other products' entries untouched; AD versionNumber and GPT.INI Version bumped
   * together (computer half); the registry CSE and tool pair added to
   * gPCMachineExtensionNames. A concurrent edit is detected, not overwritten (see updatePolicy).
   */
  async setPolicy(nameOrGuid: string, policyId: string, stateText: string, given: ElementValues, options: { base?: ValueBase } = {}): Promise<SetGpoPolicyResult> {
    const policy = requirePolicy(this.catalog, policyId);
    const state = checkState(stateText);
    const base = options.base ?? 'defaults';
    // Refuse bad values before touching anything; from the current values, once they are read.
    if (state === 'enabled' && base === 'defaults') resolveEnabledValues(policy, given);
    let kept: string[] = [];
    const result = await this.updatePolicy(nameOrGuid, policy.id, (current) => {
      if (state !== 'enabled') return { state, values: given };
      const start = startingValues(policy, current, given, base);
      resolveEnabledValues(policy, start.values, start.kept); // every problem at once, named as kept where it was
      kept = start.kept;
      return { state, values: start.values };
    });
    return { ...result, kept };
  }

  /**
   * Read-modify-write of one policy in a GPO: `decide` gets the policy as this GPO sets
   * it now and returns the new state and values (or undefined to leave it). The read and
   * the write are one edit: the versionNumber is swapped in one LDAP modify (delete the
   * old value, add the new), which the DC refuses when another admin moved it, and an
   * edit whose GPT.INI still lags the directory is refused as in progress. Either way
   * the call fails with ASC_GPO_CONFLICT and writes nothing, so no edit is lost.
   */
  async updatePolicy(nameOrGuid: string, policyId: string, decide: (current: EffectivePolicy) => PolicyChange | undefined): Promise<SetGpoPolicyResult> {
    const policy = requirePolicy(this.catalog, policyId);
    const gpo = await this.find(nameOrGuid);
    const folder = gpoSysvolPath(gpo.guid, this.dir.dnsDomain);
    const ini = await this.readGptIni(gpo);
    if (ini && ini.version !== gpo.version) {
      throw new AscendError(
        'ASC_GPO_CONFLICT',
        `GPO "${gpo.displayName}": GPT.INI Version ${ini.version} differs from the directory's versionNumber ${gpo.version}; another edit is in progress or SYSVOL has not caught up`,
        { hint: 'wait a moment and run the command again' },
      );
    }
    const before = await this.readMachinePol(gpo);
    const current = readPolicyState(foldRegistryPol([{ source: gpo.displayName, entries: before }]), policy);
    const change = decide(current);
    const base = { gpo: { guid: gpo.guid, displayName: gpo.displayName }, policy: policy.id, versionBefore: gpo.version };
    if (!change) return { ...base, state: current.state, values: current.values, versionAfter: gpo.version, changed: false };
    const state = checkState(change.state);
    const resolved = state === 'enabled' ? resolveEnabledValues(policy, change.values ?? {}) : {};
    const after = applyPolicyState(before, policy, state, change.values ?? {});
    const afterBytes = writeRegistryPol(after);
    const result = { ...base, state, values: resolved };
    const beforeBytes = writeRegistryPol(before);
    if (Buffer.from(beforeBytes).equals(Buffer.from(afterBytes))) {
      return { ...result, versionAfter: gpo.version, changed: false };
    }
    const next = bumpHalf(gpo.version, 'machine');
    const extensions = addExtension(gpo.machineExtensionNames, REGISTRY_CSE_GUID, REGISTRY_TOOL_GUID_MACHINE);
    try {
      await this.dir.modify(gpo.dn, [
        { operation: 'delete', attribute: 'versionNumber', values: [String(gpo.version)] },
        { operation: 'add', attribute: 'versionNumber', values: [String(next)] },
        { operation: 'replace', attribute: 'gPCMachineExtensionNames', values: [extensions] },
      ]);
    } catch (e) {
      const now = await this.find(gpo.guid).catch(() => undefined);
      if (now && now.version !== gpo.version) {
        throw new AscendError('ASC_GPO_CONFLICT', `GPO "${gpo.displayName}" changed while it was being edited (version ${gpo.version} is now ${now.version}); nothing was written`, {
          hint: 'run the command again to apply it on top of the other change',
          cause: e,
        });
      }
      throw e;
    }
    const polPath = [...folder, 'Machine', 'Registry.pol'];
    const hadPol = before.length > 0 || (await this.store.exists(polPath));
    try {
      await this.store.mkdir([...folder, 'Machine']);
      await this.store.write(polPath, afterBytes);
      // Only the Version digits change; every other byte of the file (its code page included) stays.
      await this.store.write([...folder, 'GPT.INI'], ini ? setGptIniVersion(ini, next) : createGptIni(next));
    } catch (e) {
      // Undo, so the GPO is as before and the next edit is not refused as "in progress".
      await (hadPol ? this.store.write(polPath, beforeBytes) : this.store.removeTree(polPath)).catch(() => undefined);
      await this.dir
        .modify(gpo.dn, [
          { operation: 'delete', attribute: 'versionNumber', values: [String(next)] },
          { operation: 'add', attribute: 'versionNumber', values: [String(gpo.version)] },
          { operation: 'replace', attribute: 'gPCMachineExtensionNames', values: gpo.machineExtensionNames ? [gpo.machineExtensionNames] : [] },
        ])
        .catch(() => undefined);
      throw e;
    }
    return { ...result, versionAfter: next, changed: true };
  }

  // ---- links ------------------------------------------------------------------------

  private async readLinks(containerDn: string): Promise<{ links: GpLink[]; options: number }> {
    const entry = await this.dir.get(containerDn, ['gPLink', 'gPOptions']);
    if (!entry) throw new AscendError('ASC_LDAP_NO_SUCH_OBJECT', `no container ${containerDn}`, { hint: 'give the DN of the domain or an OU' });
    return { links: parseGpLink(entry.attrs.gplink?.[0]), options: Number(entry.attrs.gpoptions?.[0] ?? '0') };
  }

  private async writeLinks(containerDn: string, links: readonly GpLink[]): Promise<void> {
    await this.dir.modify(containerDn, [
      links.length > 0 ? { operation: 'replace', attribute: 'gPLink', values: [formatGpLink(links)] } : { operation: 'replace', attribute: 'gPLink', values: [] },
    ]);
  }

  /** The links of a container, link order 1 (highest precedence) first. */
  async links(containerDn: string): Promise<LinkInfo[]> {
    const { links } = await this.readLinks(containerDn);
    return toLinkInfo(containerDn, links);
  }

  /** Links a GPO to the domain or an OU; a new link goes last (lowest precedence), as in GPMC. */
  async link(nameOrGuid: string, containerDn: string, options: LinkOptions = {}): Promise<LinkInfo[]> {
    const gpo = await this.find(nameOrGuid);
    const { links } = await this.readLinks(containerDn);
    if (links.some((l) => guidOfGpoDn(l.gpoDn) === gpo.guid)) {
      throw new AscendError('ASC_LDAP_ALREADY_EXISTS', `GPO "${gpo.displayName}" is already linked to ${containerDn}`, { hint: 'use "ascend gpo link --update" to change the link' });
    }
    const link: GpLink = { gpoDn: gpo.dn, options: linkOptions(0, options) };
    const next = [link, ...links];
    await this.writeLinks(containerDn, options.order === undefined ? next : reorder(next, 0, options.order));
    return this.links(containerDn);
  }

  /** Changes an existing link: Enforced, link enabled, link order. */
  async updateLink(nameOrGuid: string, containerDn: string, options: LinkOptions): Promise<LinkInfo[]> {
    const gpo = await this.find(nameOrGuid);
    const { links } = await this.readLinks(containerDn);
    const index = links.findIndex((l) => guidOfGpoDn(l.gpoDn) === gpo.guid);
    if (index < 0) throw new AscendError('ASC_GPO_NOT_FOUND', `GPO "${gpo.displayName}" is not linked to ${containerDn}`);
    const current = links[index] as GpLink;
    const updated = [...links];
    updated[index] = { gpoDn: current.gpoDn, options: linkOptions(current.options, options) };
    await this.writeLinks(containerDn, options.order === undefined ? updated : reorder(updated, index, options.order));
    return this.links(containerDn);
  }

  /** Removes a GPO's link from a container; a GUID works even when the GPO itself is gone. */
  async unlink(nameOrGuid: string, containerDn: string): Promise<LinkInfo[]> {
    const guid = isGpoGuid(nameOrGuid) ? normalizeGpoGuid(nameOrGuid) : (await this.find(nameOrGuid)).guid;
    const { links } = await this.readLinks(containerDn);
    const kept = links.filter((l) => guidOfGpoDn(l.gpoDn) !== guid);
    if (kept.length === links.length) throw new AscendError('ASC_GPO_NOT_FOUND', `GPO ${nameOrGuid} is not linked to ${containerDn}`);
    await this.writeLinks(containerDn, kept);
    return this.links(containerDn);
  }

  /** Sets or clears Block Inheritance (gPOptions) on an OU or the domain. */
  async setBlockInheritance(containerDn: string, block: boolean): Promise<{ container: string; blockInheritance: boolean }> {
    const { options } = await this.readLinks(containerDn);
    const next = block ? options | GPO_BLOCK_INHERITANCE : options & ~GPO_BLOCK_INHERITANCE;
    await this.dir.modify(containerDn, [{ operation: 'replace', attribute: 'gPOptions', values: [String(next)] }]);
    return { container: containerDn, blockInheritance: block };
  }
}

function linkOptions(current: number, options: LinkOptions): number {
  let o = current;
  if (options.enforced !== undefined) o = options.enforced ? o | GPLINK_OPT_ENFORCED : o & ~GPLINK_OPT_ENFORCED;
  if (options.disabled !== undefined) o = options.disabled ? o | GPLINK_OPT_DISABLED : o & ~GPLINK_OPT_DISABLED;
  return o;
}

/** Moves links[index] to link order `order` (1 = last in the gPLink string). */
function reorder(links: GpLink[], index: number, order: number): GpLink[] {
  if (!Number.isInteger(order) || order < 1 || order > links.length) {
    throw new AscendError('ASC_USAGE', `link order ${order} is outside 1..${links.length}`);
  }
  const [moved] = links.splice(index, 1);
  if (!moved) return links;
  links.splice(links.length + 1 - order, 0, moved);
  return links;
}

export function toLinkInfo(containerDn: string, links: readonly GpLink[]): LinkInfo[] {
  return links
    .map((l, i) => ({
      container: containerDn,
      gpo: { guid: guidOfGpoDn(l.gpoDn) ?? '', dn: l.gpoDn },
      linkOrder: links.length - i,
      enforced: (l.options & GPLINK_OPT_ENFORCED) !== 0,
      enabled: (l.options & GPLINK_OPT_DISABLED) === 0,
    }))
    .reverse();
}
