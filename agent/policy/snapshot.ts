/**
 * What the agent knows of its policy at one moment: the Registry.pol-like sources it was
 * folded from (lowest precedence first), where they came from, and a digest that tells
 * whether anything changed since the last read.
 */
import { createHash } from 'node:crypto';
import { ASCEND_CATALOG, type PolicyCatalog } from '../../src/catalog/index.js';
import { effectiveFromRegistry, foldRegistryPol, resolveEffectivePolicies, type EffectivePolicy, type PolSource } from '../../src/policy/index.js';
import { rulesFromRegistry, type LoadedRules } from '../../src/rules/index.js';

export type PolicyOrigin = 'local' | 'domain' | 'registry';

export interface PolicySnapshot {
  origin: PolicyOrigin;
  /** Registry.pol-like sources, lowest precedence first (GPO GUID or file path as `source`). */
  sources: PolSource[];
  /** Human labels by source (GPO display name, file path). */
  labels: Record<string, string>;
  /** When it was read from its origin (ms since epoch). */
  fetchedAt: number;
  /** The computer account as the domain knows it (domain origin only). */
  computer?: { name: string; dn: string; sid: string; groupSids: string[] };
  /** Non-fatal problems (a GPO whose Registry.pol could not be read, notes). */
  problems: string[];
  /** Content hash of sources (sha256 hex) to tell whether the policy changed. */
  digest: string;
}

/** The catalog's computer policies (class Machine or Both): what an agent applies. */
export const MACHINE_CATALOG: PolicyCatalog = {
  ...ASCEND_CATALOG,
  policies: ASCEND_CATALOG.policies.filter((p) => p.class === 'Machine' || p.class === 'Both'),
};

/** Every computer policy of the catalog with its state, values and the source that decided it. */
export function effectiveOf(s: PolicySnapshot): EffectivePolicy[] {
  return resolveEffectivePolicies(MACHINE_CATALOG, s.sources);
}

/** What the agent enforces from one snapshot: its computer policies and its rules. */
export interface FoldedPolicy {
  effective: EffectivePolicy[];
  /** The rules, each with the source (GPO GUID or file) that wrote it. */
  rules: LoadedRules;
}

/**
 * Folds a snapshot's sources once and reads both the settings and the rules from that one
 * fold (the agent calls it once per policy change).
 */
export function foldSnapshot(s: PolicySnapshot): FoldedPolicy {
  const registry = foldRegistryPol(s.sources);
  return { effective: effectiveFromRegistry(MACHINE_CATALOG, registry), rules: rulesFromRegistry(registry) };
}

/**
 * sha256 (hex) of the sources' names and entries in order. Every field is length-prefixed,
 * so no two different source lists share an encoding. Labels, times and problems are left
 * out: they do not change what the agent enforces.
 */
export function digestSources(sources: readonly PolSource[]): string {
  const h = createHash('sha256');
  const u32 = (n: number): void => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0, 0);
    h.update(b);
  };
  const bytes = (b: Uint8Array): void => {
    u32(b.byteLength);
    h.update(b);
  };
  const text = (s: string): void => bytes(Buffer.from(s, 'utf8'));
  h.update('ascend-policy-digest-1');
  u32(sources.length);
  for (const src of sources) {
    text(src.source);
    u32(src.entries.length);
    for (const e of src.entries) {
      text(e.key);
      text(e.valueName);
      u32(e.type);
      bytes(e.data);
    }
  }
  return h.digest('hex');
}

/** A snapshot with its digest computed. */
export function makeSnapshot(fields: Omit<PolicySnapshot, 'digest'>): PolicySnapshot {
  return { ...fields, digest: digestSources(fields.sources) };
}
