import {
  elementKey,
  type ElementValue,
  type ListElement,
  type NamedValue,
  type PolicyCatalog,
  type PolicyDefinition,
  type PolicyElement,
  type PolicyState,
  type RegistryValueSpec,
} from '../catalog/model.js';
import { decodeDword, decodeQword, decodeSz, RegType } from '../formats/registry-pol/index.js';
import { enumItemValue } from './values.js';
import { foldRegistryPol, type FoldedValue, type PolSource, type VirtualRegistry } from './virtual-registry.js';

/** What a policy ends up as: its state, its element values (when Enabled) and the file that decided it. */
export interface EffectivePolicy {
  readonly id: string;
  readonly state: PolicyState;
  readonly values: Record<string, ElementValue>;
  /** The file (GPO) whose entry decided the state; null when Not Configured. */
  readonly source: string | null;
}

/** Whether a folded value is what an ADMX value spec writes. */
export function matchesSpec(value: FoldedValue, spec: RegistryValueSpec): boolean {
  switch (spec.kind) {
    case 'decimal':
      if (value.type === RegType.REG_DWORD) return decodeDword(value.data) === spec.value;
      return isText(value) && decodeSz(value.data) === String(spec.value);
    case 'longDecimal':
      return value.type === RegType.REG_QWORD && decodeQword(value.data) === spec.value;
    case 'string':
      return isText(value) && decodeSz(value.data) === spec.value;
    case 'delete':
      return false;
  }
}

function isText(value: FoldedValue): boolean {
  return value.type === RegType.REG_SZ || value.type === RegType.REG_EXPAND_SZ;
}

const DWORD_1: RegistryValueSpec = { kind: 'decimal', value: 1 };

/**
 * Reads one policy back from a folded registry, the way GPMC decides what to show:
 * - with a valueName: its enabledValue (REG_DWORD 1 by default) means Enabled; its
 *   disabledValue, or a deletion when it has none, means Disabled;
 * - without one: any element value present means Enabled; element values deleted and
 *   list keys emptied, with nothing present, mean Disabled;
 * - otherwise Not Configured.
 */
export function readPolicyState(registry: VirtualRegistry, policy: PolicyDefinition): EffectivePolicy {
  const notConfigured: EffectivePolicy = { id: policy.id, state: 'not-configured', values: {}, source: null };
  if (policy.valueName !== undefined) {
    const value = registry.getValue(policy.key, policy.valueName);
    if (value) {
      if (matchesSpec(value, policy.enabledValue ?? DWORD_1)) return enabled(registry, policy, value.source);
      if (policy.disabledValue && matchesSpec(value, policy.disabledValue)) return { id: policy.id, state: 'disabled', values: {}, source: value.source };
      return notConfigured;
    }
    const deletion = registry.getDeletion(policy.key, policy.valueName);
    if (deletion && (policy.disabledValue === undefined || policy.disabledValue.kind === 'delete')) {
      return { id: policy.id, state: 'disabled', values: {}, source: deletion.source };
    }
    return notConfigured;
  }
  let latestValue: { source: string; seq: number } | undefined;
  let latestDeletion: { source: string; seq: number } | undefined;
  const later = <T extends { seq: number }>(a: T | undefined, b: T | undefined): T | undefined => (!a ? b : !b ? a : b.seq > a.seq ? b : a);
  for (const element of policy.elements) {
    const key = elementKey(policy, element);
    if (element.type === 'list') {
      for (const v of registry.values(key)) latestValue = later(latestValue, v);
      latestDeletion = later(latestDeletion, registry.keyClearedBy(key));
    } else {
      latestValue = later(latestValue, registry.getValue(key, element.valueName));
      latestDeletion = later(latestDeletion, registry.getDeletion(key, element.valueName));
    }
  }
  if (latestValue) return enabled(registry, policy, latestValue.source);
  if (latestDeletion) return { id: policy.id, state: 'disabled', values: {}, source: latestDeletion.source };
  return notConfigured;
}

function enabled(registry: VirtualRegistry, policy: PolicyDefinition, source: string): EffectivePolicy {
  const values: Record<string, ElementValue> = {};
  for (const element of policy.elements) {
    const value = readElement(registry, policy, element);
    if (value !== undefined) values[element.id] = value;
  }
  return { id: policy.id, state: 'enabled', values, source };
}

/** An element's value from the registry; undefined when absent or not what the element writes. */
export function readElement(registry: VirtualRegistry, policy: PolicyDefinition, element: PolicyElement): ElementValue | undefined {
  const key = elementKey(policy, element);
  if (element.type === 'list') return readList(registry.values(key), element);
  const value = registry.getValue(key, element.valueName);
  if (!value) return undefined;
  switch (element.type) {
    case 'boolean':
      if (matchesSpec(value, element.trueValue ?? DWORD_1)) return true;
      if (matchesSpec(value, element.falseValue ?? { kind: 'decimal', value: 0 })) return false;
      return undefined;
    case 'decimal': {
      if (value.type === RegType.REG_DWORD) return decodeDword(value.data);
      if (isText(value)) {
        const text = decodeSz(value.data).trim();
        return /^\d+$/.test(text) ? Number(text) : undefined;
      }
      return undefined;
    }
    case 'text':
      return isText(value) ? decodeSz(value.data) : undefined;
    case 'enum': {
      const item = element.items.find((i) => matchesSpec(value, i.value));
      return item ? enumItemValue(item.value) : undefined;
    }
  }
}

function readList(values: FoldedValue[], element: ListElement): ElementValue {
  const text = values.filter(isText);
  if (element.explicitValue) return text.map((v): NamedValue => ({ name: v.name, value: decodeSz(v.data) }));
  const prefix = element.valuePrefix;
  if (prefix !== undefined && prefix.length > 0) {
    // prefix1, prefix2, ... in numeric order; names that do not fit the pattern are not the list's.
    const numbered: [number, string][] = [];
    for (const v of text) {
      const suffix = v.name.slice(prefix.length);
      if (v.name.toLowerCase().startsWith(prefix.toLowerCase()) && /^\d+$/.test(suffix)) numbered.push([Number(suffix), decodeSz(v.data)]);
    }
    return numbered.sort((a, b) => a[0] - b[0]).map(([, data]) => data);
  }
  return text.map((v) => decodeSz(v.data));
}

/**
 * The effective settings of a catalog after folding Registry.pol files (lowest
 * precedence first): every policy with its state, values and the file that won.
 */
export function resolveEffectivePolicies(catalog: PolicyCatalog, files: readonly PolSource[]): EffectivePolicy[] {
  return effectiveFromRegistry(catalog, foldRegistryPol(files));
}

/** Every policy of a catalog read back from a registry folded already (see resolveEffectivePolicies). */
export function effectiveFromRegistry(catalog: PolicyCatalog, registry: VirtualRegistry): EffectivePolicy[] {
  return catalog.policies.map((p) => readPolicyState(registry, p));
}
