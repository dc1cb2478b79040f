import { AscendError } from '../errors.js';
import type { ElementValue, NamedValue, PolicyDefinition } from '../catalog/model.js';
import { findElement } from './values.js';

/**
 * Turns `NAME=VALUE` arguments into element values for a policy.
 * - boolean: true/false, 1/0, yes/no, on/off
 * - decimal: a whole number; text: as given; enum: the item's value or display name
 * - list: `NAME=a,b,c` and/or the argument repeated; `\,` is a comma inside an item and
 *   `\\` a backslash. Items of an explicit-value list are `name=value` (split at the first `=`).
 * Only an argument that is not NAME=VALUE is refused here (all of them in one error); a name
 * the policy does not have, or a value its element does not take, is passed on as written
 * for resolveEnabledValues to report with every other problem of the policy at once.
 */
export function parseValueArgs(policy: PolicyDefinition, args: readonly string[]): Record<string, ElementValue> {
  // No prototype: a name such as __proto__ is kept as a name, to be refused, not swallowed.
  const out: Record<string, ElementValue> = Object.create(null) as Record<string, ElementValue>;
  const notNameValue: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) {
      notNameValue.push(`--value "${arg}" is not NAME=VALUE`);
      continue;
    }
    const name = arg.slice(0, eq);
    const raw = arg.slice(eq + 1);
    const element = findElement(policy, name);
    if (!element) {
      out[name] = raw;
      continue;
    }
    switch (element.type) {
      case 'boolean': {
        const v = raw.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(v)) out[element.id] = true;
        else if (['false', '0', 'no', 'off'].includes(v)) out[element.id] = false;
        else out[element.id] = raw;
        break;
      }
      case 'decimal':
        out[element.id] = /^\s*\d+\s*$/.test(raw) ? Number(raw.trim()) : raw;
        break;
      case 'text':
      case 'enum':
        out[element.id] = raw;
        break;
      case 'list': {
        const items = splitListItems(raw);
        if (element.explicitValue) {
          const prior = (out[element.id] as (NamedValue | string)[] | undefined) ?? [];
          // An item that is not name=value stays text, for resolveEnabledValues to name.
          const named = items.map((item): NamedValue | string => {
            const at = item.indexOf('=');
            return at <= 0 ? item : { name: item.slice(0, at), value: item.slice(at + 1) };
          });
          out[element.id] = [...prior, ...named] as NamedValue[];
        } else {
          out[element.id] = [...((out[element.id] as string[] | undefined) ?? []), ...items];
        }
        break;
      }
    }
  }
  if (notNameValue.length > 0) {
    throw new AscendError('ASC_USAGE', notNameValue.join('; '), { hint: `element names of ${policy.id}: ${policy.elements.map((e) => e.id).join(', ') || 'none'}` });
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
