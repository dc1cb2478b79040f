import { AscendError } from '../errors.js';
import {
  elementKey,
  POLICY_STATES,
  type ElementValue,
  type ElementValues,
  type NamedValue,
  type PolicyDefinition,
  type PolicyState,
  type RegistryValueSpec,
  type ValueList,
} from '../catalog/model.js';
import { classifyValueName, polEntry, RegType, type PolEntry } from '../formats/registry-pol/index.js';
import { encodeQword } from '../formats/registry-pol/values.js';
import { findEnumItem, resolveEnabledValues } from './values.js';

/** An ADMX value written to KEY\NAME: decimal as REG_DWORD, longDecimal as REG_QWORD, string as REG_SZ, delete as `**del.`. */
export function specEntry(key: string, valueName: string, spec: RegistryValueSpec): PolEntry {
  switch (spec.kind) {
    case 'decimal':
      return polEntry.dword(key, valueName, spec.value);
    case 'longDecimal':
      return { key, valueName, type: RegType.REG_QWORD, data: encodeQword(spec.value) };
    case 'string':
      return polEntry.sz(key, valueName, spec.value);
    case 'delete':
      return polEntry.deleteValue(key, valueName);
  }
}

function listEntries(list: ValueList | undefined, fallbackKey: string): PolEntry[] {
  if (!list) return [];
  return list.items.map((item) => specEntry(item.key ?? list.defaultKey ?? fallbackKey, item.valueName, item.value));
}

export function checkState(state: string): PolicyState {
  if ((POLICY_STATES as readonly string[]).includes(state)) return state as PolicyState;
  throw new AscendError('ASC_POLICY_BAD_STATE', `state "${state}" is not one of ${POLICY_STATES.join(', ')}`);
}

/**
 * The Registry.pol entries GPMC writes for a policy in a state.
 * - Enabled: enabledValue (REG_DWORD 1 for a bare valueName), enabledList, then each element.
 * - Disabled: disabledValue (or `**del.` of the value), disabledList, `**del.` of every element
 *   value and `**delvals.` of every list key.
 * - Not Configured: nothing.
 * Values are only taken for Enabled; missing ones take the element defaults.
 */
export function encodePolicyState(policy: PolicyDefinition, state: PolicyState, values: ElementValues = {}): PolEntry[] {
  checkState(state);
  if (state !== 'enabled' && Object.keys(values).length > 0) {
    throw new AscendError('ASC_POLICY_BAD_VALUE', `${policy.id}: values are only taken when the state is enabled`);
  }
  if (state === 'not-configured') return [];
  const out: PolEntry[] = [];
  if (state === 'disabled') {
    if (policy.valueName !== undefined) {
      out.push(policy.disabledValue ? specEntry(policy.key, policy.valueName, policy.disabledValue) : polEntry.deleteValue(policy.key, policy.valueName));
    }
    out.push(...listEntries(policy.disabledList, policy.key));
    for (const element of policy.elements) {
      const key = elementKey(policy, element);
      out.push(element.type === 'list' ? polEntry.deleteAllValues(key) : polEntry.deleteValue(key, element.valueName));
    }
    return out;
  }
  const resolved = resolveEnabledValues(policy, values);
  if (policy.valueName !== undefined) out.push(specEntry(policy.key, policy.valueName, policy.enabledValue ?? { kind: 'decimal', value: 1 }));
  out.push(...listEntries(policy.enabledList, policy.key));
  for (const element of policy.elements) {
    const key = elementKey(policy, element);
    const value = resolved[element.id];
    switch (element.type) {
      case 'boolean': {
        if (value === undefined) break;
        const on = value === true;
        const spec = on ? element.trueValue : element.falseValue;
        out.push(specEntry(key, element.valueName, spec ?? { kind: 'decimal', value: on ? 1 : 0 }));
        out.push(...listEntries(on ? element.trueList : element.falseList, key));
        break;
      }
      case 'decimal': {
        if (value === undefined) break;
        const name = element.soft ? `**soft.${element.valueName}` : element.valueName;
        out.push(element.storeAsText ? polEntry.sz(key, name, String(value)) : polEntry.dword(key, name, value as number));
        break;
      }
      case 'text': {
        if (value === undefined) break;
        const name = element.soft ? `**soft.${element.valueName}` : element.valueName;
        out.push(element.expandable ? polEntry.expandSz(key, name, value as string) : polEntry.sz(key, name, value as string));
        break;
      }
      case 'enum': {
        if (value === undefined) break;
        const item = element.items[findEnumItem(element, value as string | number)];
        if (!item) break; // resolveEnabledValues already refused unknown items
        out.push(specEntry(key, element.valueName, item.value));
        out.push(...listEntries(item.valueList, key));
        break;
      }
      case 'list': {
        if (!element.additive) out.push(polEntry.deleteAllValues(key));
        const text = element.expandable ? polEntry.expandSz : polEntry.sz;
        for (const [name, data] of listItems(element.explicitValue, element.valuePrefix, value)) out.push(text(key, name, data));
        break;
      }
    }
  }
  return out;
}

/** The (value name, data) pairs of a list: explicit names, prefix + 1..n, or the data as its own name. */
function listItems(explicit: boolean, prefix: string | undefined, value: ElementValue | undefined): [string, string][] {
  if (value === undefined) return [];
  if (explicit) return (value as readonly NamedValue[]).map((v) => [v.name, v.value]);
  const items = value as readonly string[];
  if (prefix !== undefined && prefix.length > 0) return items.map((v, i) => [`${prefix}${i + 1}`, v]);
  return items.map((v) => [v, v]);
}

/**
 * Whether an entry belongs to this policy: its own value, its elements' values (with
 * their `**del.` / `**soft.` forms), the values its value lists write, and every entry of
 * its list keys. Used to take out what a policy wrote before writing it anew.
 */
export function policyOwnsEntry(policy: PolicyDefinition, entry: PolEntry): boolean {
  const meaning = classifyValueName(entry.valueName);
  const entryKey = entry.key.toLowerCase();
  const named = meaning.kind === 'value' || meaning.kind === 'delete' || meaning.kind === 'soft' ? meaning.name.toLowerCase() : undefined;
  const isValue = (key: string, valueName: string): boolean => named !== undefined && key.toLowerCase() === entryKey && valueName.toLowerCase() === named;
  const inList = (list: ValueList | undefined, fallbackKey: string): boolean =>
    list !== undefined && list.items.some((i) => isValue(i.key ?? list.defaultKey ?? fallbackKey, i.valueName));

  if (policy.valueName !== undefined && isValue(policy.key, policy.valueName)) return true;
  if (inList(policy.enabledList, policy.key) || inList(policy.disabledList, policy.key)) return true;
  for (const element of policy.elements) {
    const key = elementKey(policy, element);
    if (element.type === 'list') {
      if (key.toLowerCase() === entryKey) return true;
      continue;
    }
    if (isValue(key, element.valueName)) return true;
    if (element.type === 'boolean' && (inList(element.trueList, key) || inList(element.falseList, key))) return true;
    if (element.type === 'enum' && element.items.some((i) => inList(i.valueList, key))) return true;
  }
  return false;
}

/**
 * Sets a policy's state in a file's entries, as GPMC edits a GPO: what the policy wrote
 * before is taken out, the new entries go where the first of them stood (at the end when
 * there were none), and every other entry, of Ascend or any other product, stays as it was.
 */
export function applyPolicyState(entries: readonly PolEntry[], policy: PolicyDefinition, state: PolicyState, values: ElementValues = {}): PolEntry[] {
  const fresh = encodePolicyState(policy, state, values);
  const out: PolEntry[] = [];
  let insertAt = -1;
  for (const entry of entries) {
    if (policyOwnsEntry(policy, entry)) {
      if (insertAt < 0) insertAt = out.length;
    } else {
      out.push(entry);
    }
  }
  if (insertAt < 0) insertAt = out.length;
  out.splice(insertAt, 0, ...fresh);
  return out;
}

