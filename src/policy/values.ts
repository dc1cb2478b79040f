import { AscendError } from '../errors.js';
import type { ElementValue, ElementValues, EnumElement, ListElement, NamedValue, PolicyDefinition, PolicyElement, RegistryValueSpec } from '../catalog/model.js';

/** The element of a policy with this id (case-insensitive). */
export function findElement(policy: PolicyDefinition, id: string): PolicyElement | undefined {
  const lower = id.toLowerCase();
  return policy.elements.find((e) => e.id.toLowerCase() === lower);
}

function badValue(policy: PolicyDefinition, element: PolicyElement, problem: string): AscendError {
  return new AscendError('ASC_POLICY_BAD_VALUE', `${policy.id}.${element.id}: ${problem}`);
}

/** The value an enum item stands for in values (its registry value). */
export function enumItemValue(spec: RegistryValueSpec): string | number {
  switch (spec.kind) {
    case 'decimal':
      return spec.value;
    case 'longDecimal':
      return spec.value.toString();
    case 'string':
      return spec.value;
    case 'delete':
      return '';
  }
}

/** Index of the enum item a value names: its registry value or its display name, case-insensitively. */
export function findEnumItem(element: EnumElement, value: string | number): number {
  const text = String(value).toLowerCase();
  const byValue = element.items.findIndex((i) => String(enumItemValue(i.value)).toLowerCase() === text);
  return byValue >= 0 ? byValue : element.items.findIndex((i) => i.displayName.toLowerCase() === text);
}

/**
 * Checks and completes the element values for an Enabled policy: unknown names are
 * refused, missing values take the element's default, required elements without a
 * default must be given, and every value must fit its element (range, length, item).
 * Returns the values keyed by the catalog's element ids.
 */
export function resolveEnabledValues(policy: PolicyDefinition, given: ElementValues): Record<string, ElementValue> {
  const byId = new Map<string, ElementValue>();
  for (const [name, value] of Object.entries(given)) {
    const element = findElement(policy, name);
    if (!element) {
      throw new AscendError('ASC_POLICY_UNKNOWN_ELEMENT', `${policy.id} has no element "${name}"`, {
        hint: policy.elements.length ? `its elements: ${policy.elements.map((e) => e.id).join(', ')}` : `${policy.id} takes no values`,
      });
    }
    byId.set(element.id, value);
  }
  const out: Record<string, ElementValue> = {};
  for (const element of policy.elements) {
    const value = byId.get(element.id) ?? defaultValue(element);
    if (value === undefined) {
      if ('required' in element && element.required) throw badValue(policy, element, 'a value is required (no default)');
      continue;
    }
    out[element.id] = checkValue(policy, element, value);
  }
  return out;
}

function defaultValue(element: PolicyElement): ElementValue | undefined {
  switch (element.type) {
    case 'boolean':
      return element.default;
    case 'decimal':
    case 'text':
      return element.default;
    case 'enum':
      return element.default === undefined ? undefined : (() => {
        const item = element.items[element.default];
        return item ? enumItemValue(item.value) : undefined;
      })();
    case 'list':
      return [];
  }
}

function checkValue(policy: PolicyDefinition, element: PolicyElement, value: ElementValue): ElementValue {
  switch (element.type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw badValue(policy, element, `expected true or false, got ${JSON.stringify(value)}`);
      return value;
    case 'decimal': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw badValue(policy, element, `expected a whole number, got ${JSON.stringify(value)}`);
      if (value < element.minValue || value > element.maxValue) throw badValue(policy, element, `${value} is outside ${element.minValue}..${element.maxValue}`);
      return value;
    }
    case 'text': {
      if (typeof value !== 'string') throw badValue(policy, element, `expected text, got ${JSON.stringify(value)}`);
      if (value.includes('\0')) throw badValue(policy, element, 'text contains a NUL character');
      if (value.length > element.maxLength) throw badValue(policy, element, `text of ${value.length} characters is longer than ${element.maxLength}`);
      if (element.required && value.length === 0) throw badValue(policy, element, 'a value is required');
      return value;
    }
    case 'enum': {
      if (typeof value !== 'string' && typeof value !== 'number') throw badValue(policy, element, `expected one of its items, got ${JSON.stringify(value)}`);
      const index = findEnumItem(element, value);
      const item = element.items[index];
      if (!item) {
        throw badValue(policy, element, `"${value}" is not one of ${element.items.map((i) => String(enumItemValue(i.value))).join(', ')}`);
      }
      return enumItemValue(item.value);
    }
    case 'list':
      return checkList(policy, element, value);
  }
}

function checkList(policy: PolicyDefinition, element: ListElement, value: ElementValue): ElementValue {
  if (!Array.isArray(value)) throw badValue(policy, element, 'expected a list');
  const seen = new Set<string>();
  const checkName = (name: string): void => {
    if (name.length === 0) throw badValue(policy, element, 'a list value name is empty');
    if (name.startsWith('**')) throw badValue(policy, element, `"${name}" starts with "**", which Group Policy reads as a delete instruction`);
    if (name.includes('\0')) throw badValue(policy, element, 'a list value name contains a NUL character');
    const lower = name.toLowerCase();
    if (seen.has(lower)) throw badValue(policy, element, `"${name}" is listed twice`);
    seen.add(lower);
  };
  if (element.explicitValue) {
    const items = value as readonly unknown[];
    return items.map((item): NamedValue => {
      if (typeof item !== 'object' || item === null || typeof (item as NamedValue).name !== 'string' || typeof (item as NamedValue).value !== 'string') {
        throw badValue(policy, element, 'expected name=value items');
      }
      const { name, value: data } = item as NamedValue;
      checkName(name);
      if (data.includes('\0')) throw badValue(policy, element, `the value of "${name}" contains a NUL character`);
      return { name, value: data };
    });
  }
  const items = value as readonly unknown[];
  const prefixed = element.valuePrefix !== undefined && element.valuePrefix.length > 0;
  return items.map((item): string => {
    if (typeof item !== 'string') throw badValue(policy, element, 'expected text items');
    if (item.includes('\0')) throw badValue(policy, element, 'an item contains a NUL character');
    if (!prefixed) checkName(item);
    return item;
  });
}
