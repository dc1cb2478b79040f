/**
 * The special value names of MS-GPREG 2.2.1.1, recognised case-insensitively.
 * An unknown `**` name is a plain value name: it is kept and written back as it was.
 */
export type ValueNameMeaning =
  | { readonly kind: 'value'; readonly name: string }
  | { readonly kind: 'delete'; readonly name: string } // **del.NAME
  | { readonly kind: 'deleteAll' } // **delvals.
  | { readonly kind: 'deleteValues' } // **DeleteValues: data lists value names, ';'-separated
  | { readonly kind: 'deleteKeys' } // **DeleteKeys: data lists key paths, ';'-separated
  | { readonly kind: 'secureKey' } // **SecureKey: data 1 secures the key's ACL, 0 does not
  | { readonly kind: 'soft'; readonly name: string }; // **soft.NAME: set only if absent

export function classifyValueName(valueName: string): ValueNameMeaning {
  if (valueName.length < 3 || valueName.charCodeAt(0) !== 42 || valueName.charCodeAt(1) !== 42) {
    return { kind: 'value', name: valueName };
  }
  const lower = valueName.toLowerCase();
  if (lower === '**delvals.' || lower === '**delvals') return { kind: 'deleteAll' };
  if (lower.startsWith('**del.')) return { kind: 'delete', name: valueName.slice(6) };
  if (lower === '**deletevalues') return { kind: 'deleteValues' };
  if (lower === '**deletekeys') return { kind: 'deleteKeys' };
  if (lower === '**securekey') return { kind: 'secureKey' };
  if (lower.startsWith('**soft.')) return { kind: 'soft', name: valueName.slice(7) };
  return { kind: 'value', name: valueName };
}
