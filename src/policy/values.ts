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

/** Where the values of `pol set` / `gpo set` start: the policy's current values (as GPMC opens an Enabled policy), or the defaults. */
export type ValueBase = 'current' | 'defaults';

/**
 * The values an Enabled policy is written with. GPMC opens an Enabled policy with its current
 * values filled in, so from `current` the values named replace those the policy has now (a list
 * named is replaced whole) and every other value stays; when the policy is not Enabled, or from
 * `defaults`, only the values named are taken and the rest take their defaults. `kept` names
 * the elements whose value was carried over.
 */
export function startingValues(
  policy: PolicyDefinition,
  current: { readonly state: string; readonly values: ElementValues } | undefined,
  given: ElementValues,
  base: ValueBase,
): { values: Record<string, ElementValue>; kept: string[] } {
  if (base === 'defaults' || current?.state !== 'enabled') return { values: { ...given }, kept: [] };
  const named = new Set(Object.keys(given).map((name) => (findElement(policy, name)?.id ?? name).toLowerCase()));
  const values: Record<string, ElementValue> = {};
  const kept: string[] = [];
  for (const element of policy.elements) {
    const value = current.values[element.id];
    if (value === undefined || named.has(element.id.toLowerCase())) continue;
    values[element.id] = value;
    kept.push(element.id);
  }
  return { values: { ...values, ...given }, kept };
}

/** Several problems as one error: the first one's code, every message in one line. */
export function allProblems(problems: readonly AscendError[]): AscendError {
  const [first] = problems;
  if (!first) throw new Error('allProblems: no problems');
  if (problems.length === 1) return first;
  const hints = [...new Set(problems.map((p) => p.hint).filter((h): h is string => h !== undefined))];
  return new AscendError(first.code, problems.map((p) => p.message).join('; '), hints.length ? { hint: hints.join('; ') } : undefined);
}

/**
 * Checks and completes the element values for an Enabled policy: unknown names are
 * refused, missing values take the element's default, required elements without a
 * default must be given, and every value must fit its element (range, length, item).
 * Every problem is reported at once, in one error. `kept` (see startingValues) names
 * the values that were not given but carried over, so a problem with one says so.
 * Returns the values keyed by the catalog's element ids.
 */
export function resolveEnabledValues(policy: PolicyDefinition, given: ElementValues, kept: readonly string[] = []): Record<string, ElementValue> {
  const problems: AscendError[] = [];
  const byId = new Map<string, ElementValue>();
  for (const [name, value] of Object.entries(given)) {
    const element = findElement(policy, name);
    if (!element) {
      problems.push(
        new AscendError('ASC_POLICY_UNKNOWN_ELEMENT', `${policy.id} has no element "${name}"`, {
          hint: policy.elements.length ? `its elements: ${policy.elements.map((e) => e.id).join(', ')}` : `${policy.id} takes no values`,
        }),
      );
      continue;
    }
    byId.set(element.id, value);
  }
  const out: Record<string, ElementValue> = {};
  for (const element of policy.elements) {
    const value = byId.get(element.id) ?? defaultValue(element);
    if (value === undefined) {
      if ('required' in element && element.required) problems.push(badValue(policy, element, 'a value is required (no default)'));
      continue;
    }
    try {
      out[element.id] = checkValue(policy, element, value);
    } catch (e) {
      if (!(e instanceof AscendError)) throw e;
      problems.push(kept.includes(element.id) ? new AscendError(e.code, `${e.message} (the value the policy has now: give another or --reset)`) : e);
    }
  }
  if (problems.length > 0) throw allProblems(problems);
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
      if (typeof value === 'string') throw badValue(policy, element, `"${value}" is not true or false`);
      if (typeof value !== 'boolean') throw badValue(policy, element, `expected true or false, got ${JSON.stringify(value)}`);
      return value;
    case 'decimal': {
      if (typeof value === 'string') throw badValue(policy, element, `"${value}" is not a whole number`);
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
      if (typeof item === 'string') throw badValue(policy, element, `item "${item}" is not name=value`);
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
