/**
 * The shape of a policy catalog: what an ADMX/ADML pair can say, with display text
 * resolved. Ascend's own catalog (settings.ts) is one; reading any ADMX/ADML pair
 * yields another.
 */

/** A registry value an ADMX names: `<decimal value=.../>`, `<longDecimal/>`, `<string>`, or `<delete/>`. */
export type RegistryValueSpec =
  | { readonly kind: 'decimal'; readonly value: number }
  | { readonly kind: 'longDecimal'; readonly value: bigint }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'delete' };

/** One `<item key? valueName><value/></item>` of an enabledList, disabledList, trueList ... */
export interface ValueListItem {
  readonly key?: string;
  readonly valueName: string;
  readonly value: RegistryValueSpec;
}

export interface ValueList {
  /** Key for items that name none (defaults to the policy's or element's key). */
  readonly defaultKey?: string;
  readonly items: readonly ValueListItem[];
}

interface ElementBase {
  /** The ADMX element id, also the name used for values on the command line. */
  readonly id: string;
  /** Registry key; the policy's key when absent. */
  readonly key?: string;
  /** The label shown beside the control in GPMC (from the ADML presentation). */
  readonly label: string;
}

export interface BooleanElement extends ElementBase {
  readonly type: 'boolean';
  readonly valueName: string;
  /** Written when checked; REG_DWORD 1 when absent. */
  readonly trueValue?: RegistryValueSpec;
  /** Written when unchecked; REG_DWORD 0 when absent. */
  readonly falseValue?: RegistryValueSpec;
  readonly trueList?: ValueList;
  readonly falseList?: ValueList;
  /** The checkbox's initial state in GPMC (presentation defaultChecked). */
  readonly default: boolean;
}

export interface DecimalElement extends ElementBase {
  readonly type: 'decimal';
  readonly valueName: string;
  readonly required: boolean;
  readonly minValue: number;
  readonly maxValue: number;
  /** Store as REG_SZ instead of REG_DWORD. */
  readonly storeAsText: boolean;
  /** Write `**soft.` so a value already present is kept. */
  readonly soft: boolean;
  /** GPMC's initial value (presentation defaultValue). */
  readonly default?: number;
  readonly spinStep?: number;
}

export interface TextElement extends ElementBase {
  readonly type: 'text';
  readonly valueName: string;
  readonly required: boolean;
  readonly maxLength: number;
  /** Store as REG_EXPAND_SZ. */
  readonly expandable: boolean;
  readonly soft: boolean;
  readonly default?: string;
}

export interface EnumItem {
  readonly displayName: string;
  readonly value: RegistryValueSpec;
  readonly valueList?: ValueList;
}

export interface EnumElement extends ElementBase {
  readonly type: 'enum';
  readonly valueName: string;
  readonly required: boolean;
  readonly items: readonly EnumItem[];
  /** Index of the item GPMC selects first (presentation defaultItem). */
  readonly default?: number;
}

export interface ListElement extends ElementBase {
  readonly type: 'list';
  /** Value names are this prefix plus 1, 2, 3 ...; absent: names equal the data. */
  readonly valuePrefix?: string;
  /** Additive lists keep values other GPOs wrote; others replace them (`**delvals.` first). */
  readonly additive: boolean;
  /** The admin enters name and data for each value. */
  readonly explicitValue: boolean;
  /** Store as REG_EXPAND_SZ. */
  readonly expandable: boolean;
}

export type PolicyElement = BooleanElement | DecimalElement | TextElement | EnumElement | ListElement;
export type ElementType = PolicyElement['type'];

export type PolicyClass = 'Machine' | 'User' | 'Both';

export interface PolicyDefinition {
  /** The ADMX policy name; stable, used on the command line. */
  readonly id: string;
  readonly class: PolicyClass;
  /** Id of the category it appears under. */
  readonly category: string;
  readonly displayName: string;
  /** The explain text GPMC shows beside the states. */
  readonly help: string;
  readonly key: string;
  readonly valueName?: string;
  readonly enabledValue?: RegistryValueSpec;
  readonly disabledValue?: RegistryValueSpec;
  readonly enabledList?: ValueList;
  readonly disabledList?: ValueList;
  readonly elements: readonly PolicyElement[];
  /** Id of a supportedOn definition. */
  readonly supportedOn?: string;
}

export interface CategoryDefinition {
  readonly id: string;
  readonly displayName: string;
  readonly help?: string;
  /** Id of the parent category; absent for a top-level one. */
  readonly parent?: string;
}

export interface SupportedOnDefinition {
  readonly id: string;
  readonly displayName: string;
}

export interface PolicyCatalog {
  /** ADMX target namespace, e.g. "Ascend.Policies.PrivilegeManager". */
  readonly namespace: string;
  /** ADMX target prefix, e.g. "ascend". */
  readonly prefix: string;
  /** ADMX revision "major.minor". */
  readonly revision: string;
  /** ADML displayName and description of the template. */
  readonly displayName: string;
  readonly description: string;
  readonly supportedOn: readonly SupportedOnDefinition[];
  readonly categories: readonly CategoryDefinition[];
  readonly policies: readonly PolicyDefinition[];
}

/** The policy state GPMC shows. */
export type PolicyState = 'enabled' | 'disabled' | 'not-configured';
export const POLICY_STATES: readonly PolicyState[] = ['enabled', 'disabled', 'not-configured'];

/** One value of an explicitValue list. */
export interface NamedValue {
  readonly name: string;
  readonly value: string;
}

/**
 * The value of an element, by element type: boolean; decimal (number); text (string);
 * enum (the item's registry value: string or number); list (strings, or name/value
 * pairs for explicitValue lists).
 */
export type ElementValue = boolean | number | string | readonly string[] | readonly NamedValue[];

export type ElementValues = Readonly<Record<string, ElementValue>>;

/** The key an element writes to. */
export function elementKey(policy: PolicyDefinition, element: PolicyElement): string {
  return element.key ?? policy.key;
}
