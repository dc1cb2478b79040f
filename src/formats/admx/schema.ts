/** Facts of the ADMX schema (MS-GPREG section 7) that both the writer and the reader rely on. */

/** The namespace real ADMX/ADML files and GPMC use (the published XSD names another one). */
export const ADMX_XMLNS = 'http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions';
export const SCHEMA_VERSION = '1.0';

/**
 * Policy namespaces the writer may reference through `<using>`. The catalog model keeps
 * only `prefix:Name` references, not the namespaces behind other prefixes.
 */
export const KNOWN_USING_NAMESPACES: Readonly<Record<string, string>> = {
  windows: 'Microsoft.Policies.Windows',
};

/** Attribute defaults the XSD declares; the reader applies them when an attribute is absent. */
export const DEFAULTS = {
  required: false,
  minValue: 0,
  maxValue: 9999,
  storeAsText: false,
  soft: false,
  maxLength: 1023,
  expandable: false,
  additive: false,
  explicitValue: false,
  defaultChecked: false,
  decimalDefaultValue: 1,
  spinStep: 1,
} as const;

/** `$(string.ID)` and `$(presentation.ID)`: resourceID is letters, digits and underscores. */
export const STRING_REF = /^\$\(string\.([\p{L}\p{N}_]+)\)$/u;
export const PRESENTATION_REF = /^\$\(presentation\.([\p{L}\p{N}_]+)\)$/u;

export const stringRef = (id: string): string => `$(string.${id})`;
export const presentationRef = (id: string): string => `$(presentation.${id})`;

/**
 * Hands out resource ids (string and presentation ids): valid per the schema's
 * resourceID pattern, unique, and a pure function of the order they are asked for.
 */
export class IdAllocator {
  private readonly used = new Set<string>();

  allocate(preferred: string): string {
    const base = preferred.replace(/[^\p{L}\p{N}_]/gu, '_') || 'Id';
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}_${n}`;
    this.used.add(id);
    return id;
  }
}
