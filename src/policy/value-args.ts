import { AscendError } from '../errors.js';
import type { ElementValue, NamedValue, PolicyDefinition } from '../catalog/model.js';
import { findElement } from './values.js';

/**
 * Turns `NAME=VALUE` arguments into element values for a policy.
 * - boolean: true/false, 1/0, yes/no, on/off
 * - decimal: a whole number; text: as given; enum: the item's value or display name
 * - list: `NAME=a,b,c` and/or the argument repeated; `\,` is a comma inside an item and
 *   `\\` a backslash. Items of an explicit-value list are `name=value` (split at the first `=`).
 */
export function parseValueArgs(policy: PolicyDefinition, args: readonly string[]): Record<string, ElementValue> {
  const out: Record<string, ElementValue> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new AscendError('ASC_USAGE', `--value "${arg}" is not NAME=VALUE`, { hint: `element names of ${policy.id}: ${policy.elements.map((e) => e.id).join(', ') || 'none'}` });
    const name = arg.slice(0, eq);
    const raw = arg.slice(eq + 1);
    const element = findElement(policy, name);
    if (!element) {
      throw new AscendError('ASC_POLICY_UNKNOWN_ELEMENT', `${policy.id} has no element "${name}"`, {
        hint: policy.elements.length ? `its elements: ${policy.elements.map((e) => e.id).join(', ')}` : `${policy.id} takes no values`,
      });
    }
    const bad = (expected: string): AscendError => new AscendError('ASC_POLICY_BAD_VALUE', `${policy.id}.${element.id}: "${raw}" is not ${expected}`);
    switch (element.type) {
      case 'boolean': {
        const v = raw.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(v)) out[element.id] = true;
        else if (['false', '0', 'no', 'off'].includes(v)) out[element.id] = false;
        else throw bad('true or false');
        break;
      }
      case 'decimal':
        if (!/^\s*\d+\s*$/.test(raw)) throw bad('a whole number');
        out[element.id] = Number(raw.trim());
        break;
      case 'text':
      case 'enum':
        out[element.id] = raw;
        break;
      case 'list': {
        const items = splitListItems(raw);
        if (element.explicitValue) {
          const prior = (out[element.id] as NamedValue[] | undefined) ?? [];
          out[element.id] = [...prior, ...items.map((item): NamedValue => {
            const at = item.indexOf('=');
            if (at <= 0) throw new AscendError('ASC_POLICY_BAD_VALUE', `${policy.id}.${element.id}: item "${item}" is not name=value`);
            return { name: item.slice(0, at), value: item.slice(at + 1) };
          })];
        } else {
          out[element.id] = [...((out[element.id] as string[] | undefined) ?? []), ...items];
        }
        break;
      }
    }
  }
  return out;
}

/** Splits at commas not escaped by a backslash; drops empty items (so `NAME=` is an empty list). */
export function splitListItems(raw: string): string[] {
  const items: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\' && (raw[i + 1] === ',' || raw[i + 1] === '\\')) {
      current += raw[i + 1];
      i++;
    } else if (c === ',') {
      items.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  items.push(current);
  return items.filter((s) => s.length > 0);
}
