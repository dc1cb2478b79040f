/**
 * The layout of a GPO, as GPMC and Windows clients read it: where it lives in AD and
 * in SYSVOL, the gPLink and gPCMachineExtensionNames strings, GPT.INI and the version
 * number halves. Pure: no I/O.
 */
import { AscendError } from '../src/errors.js';

/** The registry client-side extension and the Administrative Templates tool (the pair GPMC writes). */
export const REGISTRY_CSE_GUID = '{35378EAC-683F-11D2-A89A-00C04FBBCFA2}';
export const REGISTRY_TOOL_GUID_MACHINE = '{D02B1F72-3407-48AE-BA88-E8213C6761F1}';
export const REGISTRY_TOOL_GUID_USER = '{D02B1F73-3407-48AE-BA88-E8213C6761F1}';
/** The "Apply Group Policy" extended right. */
export const APPLY_GROUP_POLICY_RIGHT = 'edacfd8f-ffb3-11d1-b41d-00a0c968f939';

/** GPO `flags`: one half or both disabled. */
export const GPO_FLAG_USER_DISABLED = 1;
export const GPO_FLAG_MACHINE_DISABLED = 2;
/** gPLink options. */
export const GPLINK_OPT_DISABLED = 1;
export const GPLINK_OPT_ENFORCED = 2;
/** gPOptions on an OU or the domain. */
export const GPO_BLOCK_INHERITANCE = 1;

const GUID_RE = /^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$/;

/** A GPO GUID in braces, upper-case; anything else is refused (GUIDs are the only names that reach SYSVOL paths). */
export function normalizeGpoGuid(text: string): string {
  const t = text.trim();
  const braced = t.startsWith('{') ? t : `{${t}}`;
  if (!GUID_RE.test(braced)) throw new AscendError('ASC_GPO_INVALID', `"${text}" is not a GPO GUID like {31B2F340-016D-11D2-945F-00C04FB984F9}`);
  return braced.toUpperCase();
}

export function isGpoGuid(text: string): boolean {
  const t = text.trim();
  return GUID_RE.test(t.startsWith('{') ? t : `{${t}}`);
}

export function policiesContainerDn(domainDn: string): string {
  return `CN=Policies,CN=System,${domainDn}`;
}

export function gpoDn(guid: string, domainDn: string): string {
  return `CN=${normalizeGpoGuid(guid)},${policiesContainerDn(domainDn)}`;
}

/** SYSVOL path segments of a GPO folder, under the sysvol share root. */
export function gpoSysvolPath(guid: string, dnsDomain: string): string[] {
  return [dnsDomain.toLowerCase(), 'Policies', normalizeGpoGuid(guid)];
}

/** The gPCFileSysPath GPMC writes: \\domain\SysVol\domain\Policies\{GUID}. */
export function gpcFileSysPath(guid: string, dnsDomain: string): string {
  const d = dnsDomain.toLowerCase();
  return `\\\\${d}\\SysVol\\${d}\\Policies\\${normalizeGpoGuid(guid)}`;
}

// ---- version numbers ----------------------------------------------------------------

/** versionNumber holds the user half in the high 16 bits and the computer half in the low 16. */
export function splitVersion(version: number): { user: number; machine: number } {
  return { user: (version >>> 16) & 0xffff, machine: version & 0xffff };
}

export function joinVersion(user: number, machine: number): number {
  return ((user & 0xffff) << 16) | (machine & 0xffff);
}

/** The next version of one half; a half that wraps past 0xFFFF becomes 1, never 0 (0 means "no settings"). */
export function bumpHalf(version: number, half: 'machine' | 'user'): number {
  const { user, machine } = splitVersion(version);
  const next = (n: number): number => (n >= 0xffff ? 1 : n + 1);
  return half === 'machine' ? joinVersion(user, next(machine)) >>> 0 : joinVersion(next(user), machine) >>> 0;
}

// ---- GPT.INI ------------------------------------------------------------------------

// The byte-exact codec lives with the other formats; GPO code takes it from here.
export {
  createGptIni,
  decodeGptIniDisplayName,
  gptIniCodePage,
  parseGptIni,
  setGptIniVersion,
  DEFAULT_GPT_INI_CODE_PAGE,
  MAX_GPT_INI_BYTES,
  type GptIni,
  type GptIniEncoding,
} from '../src/formats/gpt-ini/index.js';

// ---- gPLink -------------------------------------------------------------------------

export interface GpLink {
  /** DN of the GPO, as written in the link. */
  readonly gpoDn: string;
  readonly options: number;
}

/**
 * Parses gPLink `[LDAP://cn={GUID},cn=policies,...;0][LDAP://...;2]`. The string lists
 * links from the lowest precedence to the highest: the last link is link order 1, and a
 * new link (GPMC, `samba-tool gpo setlink`) goes first.
 */
export function parseGpLink(text: string | undefined): GpLink[] {
  if (!text || text.trim() === '' || text.trim() === ' ') return [];
  const links: GpLink[] = [];
  const re = /\[([^\]]*)\]/g;
  for (const m of text.matchAll(re)) {
    const body = m[1] ?? '';
    const semi = body.lastIndexOf(';');
    const path = semi < 0 ? body : body.slice(0, semi);
    const opts = semi < 0 ? '0' : body.slice(semi + 1);
    if (!/^LDAP:\/\//i.test(path) || !/^\d+$/.test(opts)) throw new AscendError('ASC_GPO_INVALID', `gPLink entry "[${body}]" is malformed`);
    links.push({ gpoDn: path.slice(7), options: Number(opts) });
  }
  return links;
}

export function formatGpLink(links: readonly GpLink[]): string {
  return links.map((l) => `[LDAP://${l.gpoDn};${l.options}]`).join('');
}

/** The GUID of the GPO a link (or a GPO DN) names, if it names one. */
export function guidOfGpoDn(dn: string): string | undefined {
  const m = /^cn=(\{[0-9a-f-]{36}\})\s*,/i.exec(dn.trim());
  return m?.[1] !== undefined && isGpoGuid(m[1]) ? m[1].toUpperCase() : undefined;
}

// ---- gPCMachineExtensionNames ------------------------------------------------------

/** Parses `[{CSE}{TOOL}...][{CSE}{TOOL}...]` into groups of upper-case GUIDs. */
export function parseExtensionNames(text: string | undefined): string[][] {
  if (!text || text.trim() === '' || text.trim() === ' ') return [];
  const groups: string[][] = [];
  for (const m of text.matchAll(/\[([^\]]*)\]/g)) {
    const guids = [...(m[1] ?? '').matchAll(/\{[0-9A-Fa-f-]{36}\}/g)].map((g) => g[0].toUpperCase());
    if (guids.length > 0) groups.push(guids);
  }
  return groups;
}

/**
 * Adds a CSE/tool pair to extension names as GPMC keeps them: one group per CSE, the
 * groups sorted by CSE GUID, the tool GUIDs in a group sorted, other extensions kept.
 */
export function addExtension(text: string | undefined, cse: string, tool: string): string {
  const groups = parseExtensionNames(text);
  const cseU = cse.toUpperCase();
  const toolU = tool.toUpperCase();
  const existing = groups.find((g) => g[0] === cseU);
  if (existing) {
    if (!existing.slice(1).includes(toolU)) existing.push(toolU);
  } else {
    groups.push([cseU, toolU]);
  }
  for (const g of groups) {
    const tools = [...new Set(g.slice(1))].sort();
    g.splice(1, g.length - 1, ...tools);
  }
  groups.sort((a, b) => ((a[0] ?? '') < (b[0] ?? '') ? -1 : (a[0] ?? '') > (b[0] ?? '') ? 1 : 0));
  return groups.map((g) => `[${g.join('')}]`).join('');
}
