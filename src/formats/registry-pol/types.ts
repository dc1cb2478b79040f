/** Registry value types as MS-GPREG and winnt.h number them. */
export const RegType = {
  REG_NONE: 0,
  REG_SZ: 1,
  REG_EXPAND_SZ: 2,
  REG_BINARY: 3,
  REG_DWORD: 4,
  REG_DWORD_BIG_ENDIAN: 5,
  REG_LINK: 6,
  REG_MULTI_SZ: 7,
  REG_RESOURCE_LIST: 8,
  REG_FULL_RESOURCE_DESCRIPTOR: 9,
  REG_RESOURCE_REQUIREMENTS_LIST: 10,
  REG_QWORD: 11,
} as const;

export type RegTypeName = keyof typeof RegType;

const NAMES: ReadonlyMap<number, RegTypeName> = new Map(
  (Object.entries(RegType) as [RegTypeName, number][]).map(([name, n]) => [n, name]),
);

/** The REG_* name of a type number; unknown numbers read as REG_TYPE_<n> so nothing is lost. */
export function regTypeName(type: number): string {
  return NAMES.get(type) ?? `REG_TYPE_${type}`;
}

/** The type number for a REG_* name (or REG_TYPE_<n>), or undefined. */
export function regTypeFromName(name: string): number | undefined {
  const upper = name.toUpperCase();
  if (upper in RegType) return RegType[upper as RegTypeName];
  const m = /^REG_TYPE_(\d+)$/.exec(upper);
  return m ? Number(m[1]) : undefined;
}

/**
 * One `[key;value;type;size;data]` record. `data` holds the raw bytes exactly as in the
 * file, so entries of other products are written back untouched. Readers may return
 * `data` as a view into the bytes they were given: treat it as read-only.
 */
export interface PolEntry {
  readonly key: string;
  readonly valueName: string;
  readonly type: number;
  readonly data: Uint8Array;
}

/** Types whose data is UTF-16LE text and so must have an even byte count. */
export function isStringType(type: number): boolean {
  return type === RegType.REG_SZ || type === RegType.REG_EXPAND_SZ || type === RegType.REG_MULTI_SZ;
}

/** The data size a fixed-size type requires, or undefined for variable-size types. */
export function fixedDataSize(type: number): number | undefined {
  if (type === RegType.REG_DWORD || type === RegType.REG_DWORD_BIG_ENDIAN) return 4;
  if (type === RegType.REG_QWORD) return 8;
  return undefined;
}
