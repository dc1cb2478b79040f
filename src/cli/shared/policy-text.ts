/**
 * A catalog policy as lines for people: `ascend policy list` (the registry key, every element
 * with its type, range and default) and `ascend policy show ID` (that, plus the registry value
 * of each element, enum items, list layout and the explain text). Pure: no I/O.
 */
import { ASCEND_CATALOG, elementKey, type PolicyCatalog, type PolicyDefinition, type PolicyElement, type RegistryValueSpec } from '../../catalog/index.js';
import { enumItemValue } from '../../policy/index.js';
import { cellText } from '../table.js';

function specText(spec: RegistryValueSpec): string {
  switch (spec.kind) {
    case 'decimal':
      return `REG_DWORD ${spec.value}`;
    case 'longDecimal':
      return `REG_QWORD ${spec.value.toString()}`;
    case 'string':
      return `REG_SZ "${spec.value}"`;
    case 'delete':
      return 'deleted';
  }
}

/** What an element takes, its range and its default: "decimal 1..65535, default 8003". */
export function elementSummary(e: PolicyElement): string {
  switch (e.type) {
    case 'boolean':
      return `boolean, default ${e.default}`;
    case 'decimal':
      return `decimal ${e.minValue}..${e.maxValue}${e.default !== undefined ? `, default ${e.default}` : e.required ? ', required' : ''}`;
    case 'text':
      return `text up to ${e.maxLength} characters${e.default !== undefined ? `, default "${e.default}"` : e.required ? ', required (no default)' : ''}`;
    case 'enum': {
      const def = e.default !== undefined ? e.items[e.default] : undefined;
      const items = e.items.map((i) => String(enumItemValue(i.value))).join(' | ');
      return `one of ${items}${def ? `, default ${String(enumItemValue(def.value))}` : e.required ? ', required' : ''}`;
    }
    case 'list':
      return `list of ${e.explicitValue ? 'name=value items' : 'items'}, default empty${e.additive ? ' (additive: adds to the lists of other GPOs)' : ''}`;
  }
}

function categoryName(catalog: PolicyCatalog, p: PolicyDefinition): string {
  return catalog.categories.find((c) => c.id === p.category)?.displayName ?? p.category;
}

function hive(p: PolicyDefinition): string {
  return p.class === 'User' ? 'HKCU' : 'HKLM';
}

function stateLine(p: PolicyDefinition): string {
  if (p.valueName === undefined) return 'state: Enabled when an element value is present';
  const on = p.enabledValue ?? { kind: 'decimal' as const, value: 1 };
  return `state: value ${p.valueName}: Enabled = ${specText(on)}, Disabled = ${p.disabledValue ? specText(p.disabledValue) : 'deleted'}`;
}

/** The lines `policy list` prints for one policy: id, name, category, key, elements. */
export function policyListLines(catalog: PolicyCatalog, p: PolicyDefinition): string[] {
  const width = Math.max(0, ...p.elements.map((e) => e.id.length));
  return [
    `${p.id}  ${p.displayName} [${categoryName(catalog, p)}]`,
    `  key: ${hive(p)}\\${p.key}`,
    ...(p.elements.length === 0 ? ['  (no values: Enabled or Disabled only)'] : p.elements.map((e) => `  ${e.id.padEnd(width)}  ${elementSummary(e)}`)),
  ].map(cellTextLine);
}

function elementDetail(p: PolicyDefinition, e: PolicyElement): string[] {
  const key = elementKey(p, e);
  const at = key === p.key ? '' : ` in ${hive(p)}\\${key}`;
  const out = [`  ${e.id}: ${elementSummary(e)}`, `    label: ${e.label}`];
  switch (e.type) {
    case 'boolean':
      out.push(`    value ${e.valueName}${at}: true = ${specText(e.trueValue ?? { kind: 'decimal', value: 1 })}, false = ${specText(e.falseValue ?? { kind: 'decimal', value: 0 })}`);
      break;
    case 'decimal':
      out.push(`    value ${e.soft ? '**soft.' : ''}${e.valueName}${at}: ${e.storeAsText ? 'REG_SZ' : 'REG_DWORD'}`);
      break;
    case 'text':
      out.push(`    value ${e.soft ? '**soft.' : ''}${e.valueName}${at}: ${e.expandable ? 'REG_EXPAND_SZ' : 'REG_SZ'}`);
      break;
    case 'enum':
      out.push(`    value ${e.valueName}${at}: ${e.items.map((i) => `${i.displayName} = ${specText(i.value)}`).join(', ')}`);
      break;
    case 'list': {
      const names = e.explicitValue ? 'value name and data as given (name=value)' : e.valuePrefix ? `values ${e.valuePrefix}1, ${e.valuePrefix}2, ...` : 'each item is its own value name';
      out.push(`    values in ${hive(p)}\\${key}: ${names}, ${e.expandable ? 'REG_EXPAND_SZ' : 'REG_SZ'}${e.additive ? '' : '; the key is emptied first (**delvals.)'}`);
      break;
    }
  }
  return out;
}

/** Every line `policy show ID` prints. */
export function policyShowLines(catalog: PolicyCatalog, p: PolicyDefinition): string[] {
  const supported = p.supportedOn ? catalog.supportedOn.find((s) => s.id === p.supportedOn)?.displayName : undefined;
  return [
    `${p.id}: ${p.displayName}`,
    `  category: ${categoryName(catalog, p)}; class: ${p.class}${supported ? `; supported on: ${supported}` : ''}`,
    `  key: ${hive(p)}\\${p.key}`,
    `  ${stateLine(p)}`,
    ...(p.elements.length === 0 ? ['  (no values: Enabled or Disabled only)'] : ['Values (--value NAME=VALUE, only with --state enabled):', ...p.elements.flatMap((e) => elementDetail(p, e))]),
    'Explain text:',
    ...p.help.split('\n').map((l) => `  ${l}`),
  ].map(cellTextLine);
}

/** Catalog text is ours, but an ADMX read from elsewhere is not: no control characters reach the terminal. */
function cellTextLine(line: string): string {
  return cellText(line);
}

/** A catalog policy as plain JSON (`policy list --json`, `policy show --json`; 64-bit values as decimal strings). */
export type JsonPolicy = ReturnType<typeof policyToJson>;

function specToJson(spec: RegistryValueSpec | undefined): unknown {
  if (!spec) return undefined;
  return spec.kind === 'longDecimal' ? { kind: spec.kind, value: spec.value.toString() } : spec;
}

function elementToJson(e: PolicyElement): Record<string, unknown> {
  if (e.type === 'enum') return { ...e, items: e.items.map((i) => ({ ...i, value: specToJson(i.value) })) };
  if (e.type === 'boolean') return { ...e, trueValue: specToJson(e.trueValue), falseValue: specToJson(e.falseValue) };
  return { ...e };
}

export function policyToJson(p: PolicyDefinition) {
  const category = ASCEND_CATALOG.categories.find((c) => c.id === p.category);
  return {
    id: p.id,
    displayName: p.displayName,
    category: category?.displayName ?? p.category,
    class: p.class,
    key: p.key,
    valueName: p.valueName,
    enabledValue: specToJson(p.enabledValue),
    disabledValue: specToJson(p.disabledValue),
    elements: p.elements.map(elementToJson),
    help: p.help,
  };
}
