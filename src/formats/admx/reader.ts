import type {
  BooleanElement,
  CategoryDefinition,
  DecimalElement,
  EnumElement,
  EnumItem,
  ListElement,
  PolicyCatalog,
  PolicyClass,
  PolicyDefinition,
  PolicyElement,
  RegistryValueSpec,
  SupportedOnDefinition,
  TextElement,
  ValueList,
  ValueListItem,
} from '../../catalog/model.js';
import { DEFAULTS, PRESENTATION_REF, STRING_REF } from './schema.js';
import { childrenNamed, invalid, optionalChild, parseXml, requiredAttr, requiredChild, type XmlNode } from './xml-read.js';

/**
 * Reads an ADMX file and its ADML resources into a catalog: display text resolved
 * through the ADML, element labels and initial values taken from the presentations,
 * schema defaults filled in for absent attributes. Anything the catalog model cannot
 * hold, or that GPMC would refuse, is an AscendError ASC_ADMX_INVALID naming the file
 * kind, the policy or element, and the problem.
 */
export function readAdmx(admxText: string, admlText: string): PolicyCatalog {
  const resources = readAdml(admlText);
  const root = parseXml(admxText, 'ADMX');
  if (root.name !== 'policyDefinitions') throw invalid('ADMX', `root element is <${root.name}>, expected <policyDefinitions>`);
  requiredAttr(root, 'schemaVersion', 'ADMX', '<policyDefinitions>');
  const namespaces = requiredChild(root, 'policyNamespaces', 'ADMX', '<policyDefinitions>');
  const target = requiredChild(namespaces, 'target', 'ADMX', '<policyNamespaces>');
  const ctx: ReadContext = {
    resources,
    prefix: requiredAttr(target, 'prefix', 'ADMX', '<target>'),
    usings: new Set(childrenNamed(namespaces, 'using').map((u) => requiredAttr(u, 'prefix', 'ADMX', '<using>'))),
  };
  requiredAttr(requiredChild(root, 'resources', 'ADMX', '<policyDefinitions>'), 'minRequiredRevision', 'ADMX', '<resources>');
  return {
    namespace: requiredAttr(target, 'namespace', 'ADMX', '<target>'),
    prefix: ctx.prefix,
    revision: requiredAttr(root, 'revision', 'ADMX', '<policyDefinitions>'),
    displayName: resources.displayName,
    description: resources.description,
    supportedOn: readSupportedOn(root, ctx),
    categories: tableEntries(root, 'categories', 'category').map((c) => readCategory(c, ctx)),
    policies: tableEntries(root, 'policies', 'policy').map((p) => readPolicy(p, ctx)),
  };
}

// ---- ADML --------------------------------------------------------------------------------

interface Resources {
  readonly displayName: string;
  readonly description: string;
  readonly strings: ReadonlyMap<string, string>;
  readonly presentations: ReadonlyMap<string, XmlNode>;
}

function readAdml(admlText: string): Resources {
  const root = parseXml(admlText, 'ADML');
  if (root.name !== 'policyDefinitionResources') throw invalid('ADML', `root element is <${root.name}>, expected <policyDefinitionResources>`);
  requiredAttr(root, 'revision', 'ADML', '<policyDefinitionResources>');
  requiredAttr(root, 'schemaVersion', 'ADML', '<policyDefinitionResources>');
  const resources = requiredChild(root, 'resources', 'ADML', '<policyDefinitionResources>');
  return {
    displayName: requiredChild(root, 'displayName', 'ADML', '<policyDefinitionResources>').text,
    description: requiredChild(root, 'description', 'ADML', '<policyDefinitionResources>').text,
    strings: indexById(resources, 'stringTable', 'string', (n) => n.text),
    presentations: indexById(resources, 'presentationTable', 'presentation', (n) => n),
  };
}

function indexById<T>(resources: XmlNode, table: string, entry: string, value: (n: XmlNode) => T): Map<string, T> {
  const map = new Map<string, T>();
  const tableNode = optionalChild(resources, table, 'ADML', '<resources>');
  for (const n of tableNode === undefined ? [] : childrenNamed(tableNode, entry)) {
    const id = requiredAttr(n, 'id', 'ADML', `a <${entry}> of the ${table}`);
    if (map.has(id)) throw invalid('ADML', `${entry} id ${id} is defined twice`);
    map.set(id, value(n));
  }
  return map;
}

// ---- shared helpers ----------------------------------------------------------------------

interface ReadContext {
  readonly resources: Resources;
  /** The file's own prefix; `prefix:Name` references to it are stored as plain `Name`. */
  readonly prefix: string;
  readonly usings: ReadonlySet<string>;
}

/** The entries of an optional table such as `<categories>`, in document order. */
function tableEntries(root: XmlNode, table: string, entry: string): XmlNode[] {
  const node = optionalChild(root, table, 'ADMX', '<policyDefinitions>');
  return node === undefined ? [] : childrenNamed(node, entry);
}

/** Resolves a `$(string.ID)` attribute through the ADML string table. */
function resolveString(ref: string, ctx: ReadContext, where: string): string {
  const m = STRING_REF.exec(ref);
  if (!m) throw invalid('ADMX', `${where} is "${ref}", not a $(string.ID) reference`);
  const text = ctx.resources.strings.get(m[1] ?? '');
  if (text === undefined) throw invalid('ADMX', `${where} refers to ${ref}, which the ADML does not define`);
  return text;
}

function requiredString(node: XmlNode, attr: string, ctx: ReadContext, where: string): string {
  return resolveString(requiredAttr(node, attr, 'ADMX', where), ctx, `${where} ${attr}`);
}

/** A category or supportedOn reference: own prefix dropped, other prefixes must be declared by `<using>`. */
function reference(ref: string, ctx: ReadContext, where: string): string {
  const colon = ref.indexOf(':');
  if (colon < 0) return ref;
  const prefix = ref.slice(0, colon);
  if (prefix === ctx.prefix) return ref.slice(colon + 1);
  if (!ctx.usings.has(prefix)) throw invalid('ADMX', `${where} refers to "${ref}", but no <using> declares the prefix "${prefix}"`);
  return ref;
}

function parseBoolean(s: string | undefined, fallback: boolean, where: string): boolean {
  if (s === undefined) return fallback;
  const t = s.trim();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw invalid('ADMX', `${where} is "${s}", not a boolean`);
}

function parseUint(s: string | undefined, fallback: number, where: string, kind: 'ADMX' | 'ADML' = 'ADMX'): number {
  if (s === undefined) return fallback;
  const t = s.trim();
  const n = /^\+?[0-9]+$/.test(t) ? Number(t) : NaN;
  if (!(n <= 0xffffffff)) throw invalid(kind, `${where} is "${s}", not an unsigned 32-bit integer`);
  return n;
}

function optionalUint(s: string | undefined, where: string, kind: 'ADMX' | 'ADML'): number | undefined {
  return s === undefined ? undefined : parseUint(s, 0, where, kind);
}

// ---- supportedOn and categories ----------------------------------------------------------

function readSupportedOn(root: XmlNode, ctx: ReadContext): SupportedOnDefinition[] {
  const table = optionalChild(root, 'supportedOn', 'ADMX', '<policyDefinitions>');
  const definitions = table === undefined ? undefined : optionalChild(table, 'definitions', 'ADMX', '<supportedOn>');
  // Products and the and/or conditions inside a definition have no place in the model.
  return (definitions === undefined ? [] : childrenNamed(definitions, 'definition')).map((d) => {
    const id = requiredAttr(d, 'name', 'ADMX', 'a supportedOn <definition>');
    return { id, displayName: requiredString(d, 'displayName', ctx, `supportedOn definition ${id}`) };
  });
}

function readCategory(node: XmlNode, ctx: ReadContext): CategoryDefinition {
  const id = requiredAttr(node, 'name', 'ADMX', 'a <category>');
  const where = `category ${id}`;
  const explain = node.attrs.explainText;
  const parent = optionalChild(node, 'parentCategory', 'ADMX', where);
  return {
    id,
    displayName: requiredString(node, 'displayName', ctx, where),
    ...(explain === undefined ? {} : { help: resolveString(explain, ctx, `${where} explainText`) }),
    ...(parent === undefined ? {} : { parent: reference(requiredAttr(parent, 'ref', 'ADMX', `${where} <parentCategory>`), ctx, where) }),
  };
}

// ---- policies ----------------------------------------------------------------------------

const POLICY_CLASSES: readonly PolicyClass[] = ['Machine', 'User', 'Both'];
// Children of <policy> the model has no place for; skipped rather than refused.
const IGNORED_POLICY_CHILDREN = new Set(['annotation', 'seeAlso', 'keywords']);
const POLICY_CHILDREN = new Set(['parentCategory', 'supportedOn', 'enabledValue', 'disabledValue', 'enabledList', 'disabledList', 'elements']);

function readPolicy(node: XmlNode, ctx: ReadContext): PolicyDefinition {
  const id = requiredAttr(node, 'name', 'ADMX', 'a <policy>');
  const where = `policy ${id}`;
  for (const c of node.children) {
    if (!POLICY_CHILDREN.has(c.name) && !IGNORED_POLICY_CHILDREN.has(c.name)) throw invalid('ADMX', `${where} has an unknown child <${c.name}>`);
  }
  const cls = requiredAttr(node, 'class', 'ADMX', where).trim();
  if (!POLICY_CLASSES.includes(cls as PolicyClass)) throw invalid('ADMX', `${where} has class "${cls}", expected Machine, User or Both`);
  const category = optionalChild(node, 'parentCategory', 'ADMX', where);
  if (category === undefined) throw invalid('ADMX', `${where} has no <parentCategory>, so GPMC would not show it`);
  const supportedOn = optionalChild(node, 'supportedOn', 'ADMX', where);
  const explain = node.attrs.explainText;
  const valueName = node.attrs.valueName;
  const labels = presentationControls(node, ctx, where);
  const elementsNode = optionalChild(node, 'elements', 'ADMX', where);
  const elements = (elementsNode?.children ?? []).map((e) => readElement(e, labels, where, ctx));
  checkControlsUsed(labels, elements, where);
  return {
    id,
    class: cls as PolicyClass,
    category: reference(requiredAttr(category, 'ref', 'ADMX', `${where} <parentCategory>`), ctx, where),
    displayName: requiredString(node, 'displayName', ctx, where),
    help: explain === undefined ? '' : resolveString(explain, ctx, `${where} explainText`),
    key: requiredAttr(node, 'key', 'ADMX', where),
    ...(valueName === undefined ? {} : { valueName }),
    ...optionalValue('enabledValue', node, where),
    ...optionalValue('disabledValue', node, where),
    ...optionalList('enabledList', node, where),
    ...optionalList('disabledList', node, where),
    elements,
    ...(supportedOn === undefined ? {} : { supportedOn: reference(requiredAttr(supportedOn, 'ref', 'ADMX', `${where} <supportedOn>`), ctx, where) }),
  };
}

/** `{ [name]: value }` when the child exists, `{}` otherwise (the model has no undefined-valued keys). */
function optionalValue<K extends string>(name: K, node: XmlNode, where: string): { [P in K]?: RegistryValueSpec } {
  const child = optionalChild(node, name, 'ADMX', where);
  return child === undefined ? {} : ({ [name]: readValue(child, `${where} <${name}>`) } as { [P in K]?: RegistryValueSpec });
}

function optionalList<K extends string>(name: K, node: XmlNode, where: string): { [P in K]?: ValueList } {
  const child = optionalChild(node, name, 'ADMX', where);
  return child === undefined ? {} : ({ [name]: readValueList(child, `${where} <${name}>`) } as { [P in K]?: ValueList });
}

/** A `<value>`-typed element: exactly one of delete, decimal, longDecimal, string. */
function readValue(node: XmlNode, where: string): RegistryValueSpec {
  const [v, ...extra] = node.children;
  if (v === undefined || extra.length > 0) throw invalid('ADMX', `${where} must hold exactly one of <decimal>, <longDecimal>, <string>, <delete>`);
  switch (v.name) {
    case 'delete':
      return { kind: 'delete' };
    case 'decimal':
      return { kind: 'decimal', value: parseUint(requiredAttr(v, 'value', 'ADMX', `${where} <decimal>`), 0, `${where} <decimal> value`) };
    case 'longDecimal': {
      const s = requiredAttr(v, 'value', 'ADMX', `${where} <longDecimal>`).trim();
      const n = /^\+?[0-9]+$/.test(s) ? BigInt(s.replace('+', '')) : -1n;
      if (n < 0n || n > 0xffffffffffffffffn) throw invalid('ADMX', `${where} <longDecimal> value is "${s}", not an unsigned 64-bit integer`);
      return { kind: 'longDecimal', value: n };
    }
    case 'string':
      return { kind: 'string', value: v.text };
    default:
      throw invalid('ADMX', `${where} holds an unknown value type <${v.name}>`);
  }
}

function readValueList(node: XmlNode, where: string): ValueList {
  const defaultKey = node.attrs.defaultKey;
  const items = childrenNamed(node, 'item').map((item): ValueListItem => {
    const valueName = requiredAttr(item, 'valueName', 'ADMX', `an <item> of ${where}`);
    const key = item.attrs.key;
    return {
      ...(key === undefined ? {} : { key }),
      valueName,
      value: readValue(requiredChild(item, 'value', 'ADMX', `${where} item ${valueName}`), `${where} item ${valueName} <value>`),
    };
  });
  if (items.length === 0) throw invalid('ADMX', `${where} has no <item>`);
  return { ...(defaultKey === undefined ? {} : { defaultKey }), items };
}

// ---- presentation ------------------------------------------------------------------------

/** Which controls GPMC can show for each element type. */
const CONTROLS_FOR: Readonly<Record<PolicyElement['type'], readonly string[]>> = {
  boolean: ['checkBox'],
  decimal: ['decimalTextBox'],
  text: ['textBox', 'comboBox', 'decimalTextBox'],
  enum: ['dropdownList'],
  list: ['listBox'],
};
const CONTROL_NAMES = new Set(['decimalTextBox', 'textBox', 'checkBox', 'comboBox', 'dropdownList', 'listBox', 'multiTextBox', 'longDecimalTextBox']);

/** The policy's presentation controls by refId (static `<text>` lines are skipped). */
function presentationControls(node: XmlNode, ctx: ReadContext, where: string): Map<string, XmlNode> {
  const controls = new Map<string, XmlNode>();
  const ref = node.attrs.presentation;
  if (ref === undefined) return controls;
  const m = PRESENTATION_REF.exec(ref);
  if (!m) throw invalid('ADMX', `${where} presentation is "${ref}", not a $(presentation.ID) reference`);
  const presentation = ctx.resources.presentations.get(m[1] ?? '');
  if (presentation === undefined) throw invalid('ADMX', `${where} refers to ${ref}, which the ADML does not define`);
  for (const c of presentation.children) {
    if (c.name === 'text') continue;
    if (!CONTROL_NAMES.has(c.name)) throw invalid('ADML', `presentation ${m[1]} has an unknown control <${c.name}>`);
    const refId = requiredAttr(c, 'refId', 'ADML', `<${c.name}> of presentation ${m[1]}`);
    if (controls.has(refId)) throw invalid('ADML', `presentation ${m[1]} has two controls for ${refId}`);
    controls.set(refId, c);
  }
  return controls;
}

/** A control whose refId names no element would make GPMC refuse the policy. */
function checkControlsUsed(controls: ReadonlyMap<string, XmlNode>, elements: readonly PolicyElement[], where: string): void {
  const ids = new Set(elements.map((e) => e.id));
  for (const [refId, c] of controls) {
    if (!ids.has(refId)) throw invalid('ADML', `${where}: presentation control <${c.name}> refers to ${refId}, which is not an element of the policy`);
  }
}

/** The control for an element, checked to suit the element's type. */
function controlFor(e: { type: PolicyElement['type']; id: string }, controls: ReadonlyMap<string, XmlNode>, where: string): XmlNode | undefined {
  const c = controls.get(e.id);
  if (c !== undefined && !CONTROLS_FOR[e.type].includes(c.name)) {
    throw invalid('ADML', `${where}: a <${c.name}> cannot present a ${e.type} element`);
  }
  return c;
}

/** The label GPMC shows: the `<label>` of textBox/comboBox, the text of the other controls. */
function labelOf(c: XmlNode | undefined, where: string): string {
  if (c === undefined) return '';
  if (c.name === 'textBox' || c.name === 'comboBox') return requiredChild(c, 'label', 'ADML', `${where} <${c.name}>`).text;
  return c.text;
}

// ---- elements ----------------------------------------------------------------------------

function readElement(node: XmlNode, controls: ReadonlyMap<string, XmlNode>, policyWhere: string, ctx: ReadContext): PolicyElement {
  const id = requiredAttr(node, 'id', 'ADMX', `an element <${node.name}> of ${policyWhere}`);
  const where = `${policyWhere} element ${id}`;
  switch (node.name) {
    case 'boolean':
      return readBoolean(node, id, where, controlFor({ type: 'boolean', id }, controls, where));
    case 'decimal':
      return readDecimal(node, id, where, controlFor({ type: 'decimal', id }, controls, where));
    case 'text':
      return readText(node, id, where, controlFor({ type: 'text', id }, controls, where));
    case 'enum':
      return readEnum(node, id, where, controlFor({ type: 'enum', id }, controls, where), ctx);
    case 'list':
      return readList(node, id, controlFor({ type: 'list', id }, controls, where), where);
    case 'multiText':
    case 'longDecimal':
      throw invalid('ADMX', `${where} is a <${node.name}> element, which the catalog model does not support`);
    default:
      throw invalid('ADMX', `${where} has an unknown element type <${node.name}>`);
  }
}

/** id, key and label: what every element has. */
function base(node: XmlNode, id: string, control: XmlNode | undefined, where: string): { id: string; key?: string; label: string } {
  const key = node.attrs.key;
  return { id, ...(key === undefined ? {} : { key }), label: labelOf(control, where) };
}

/** The model requires a valueName on every element but lists; the schema does not. */
function valueNameOf(node: XmlNode, where: string): string {
  const v = node.attrs.valueName;
  if (v === undefined) throw invalid('ADMX', `${where} has no valueName, which the catalog model requires for a <${node.name}> element`);
  return v;
}

function readBoolean(node: XmlNode, id: string, where: string, control: XmlNode | undefined): BooleanElement {
  return {
    type: 'boolean',
    ...base(node, id, control, where),
    valueName: valueNameOf(node, where),
    ...optionalValue('trueValue', node, where),
    ...optionalValue('falseValue', node, where),
    ...optionalList('trueList', node, where),
    ...optionalList('falseList', node, where),
    default: parseBoolean(control?.attrs.defaultChecked, DEFAULTS.defaultChecked, `${where} defaultChecked`),
  };
}

function readDecimal(node: XmlNode, id: string, where: string, control: XmlNode | undefined): DecimalElement {
  const a = node.attrs;
  // The presentation's schema defaults apply only where a control exists.
  const presented = control === undefined ? {} : {
    default: parseUint(control.attrs.defaultValue, DEFAULTS.decimalDefaultValue, `${where} defaultValue`, 'ADML'),
    spinStep: parseUint(control.attrs.spinStep, DEFAULTS.spinStep, `${where} spinStep`, 'ADML'),
  };
  return {
    type: 'decimal',
    ...base(node, id, control, where),
    valueName: valueNameOf(node, where),
    required: parseBoolean(a.required, DEFAULTS.required, `${where} required`),
    minValue: parseUint(a.minValue, DEFAULTS.minValue, `${where} minValue`),
    maxValue: parseUint(a.maxValue, DEFAULTS.maxValue, `${where} maxValue`),
    storeAsText: parseBoolean(a.storeAsText, DEFAULTS.storeAsText, `${where} storeAsText`),
    soft: parseBoolean(a.soft, DEFAULTS.soft, `${where} soft`),
    ...presented,
  };
}

/** A text element's initial value: textBox defaultValue, comboBox default, or a decimalTextBox's number. */
function textDefault(control: XmlNode | undefined, where: string): string | undefined {
  if (control === undefined) return undefined;
  if (control.name === 'textBox') return optionalChild(control, 'defaultValue', 'ADML', `${where} <textBox>`)?.text;
  if (control.name === 'comboBox') return optionalChild(control, 'default', 'ADML', `${where} <comboBox>`)?.text;
  const n = optionalUint(control.attrs.defaultValue, `${where} defaultValue`, 'ADML');
  return n === undefined ? undefined : String(n);
}

function readText(node: XmlNode, id: string, where: string, control: XmlNode | undefined): TextElement {
  const a = node.attrs;
  const def = textDefault(control, where);
  return {
    type: 'text',
    ...base(node, id, control, where),
    valueName: valueNameOf(node, where),
    required: parseBoolean(a.required, DEFAULTS.required, `${where} required`),
    maxLength: parseUint(a.maxLength, DEFAULTS.maxLength, `${where} maxLength`),
    expandable: parseBoolean(a.expandable, DEFAULTS.expandable, `${where} expandable`),
    soft: parseBoolean(a.soft, DEFAULTS.soft, `${where} soft`),
    ...(def === undefined ? {} : { default: def }),
  };
}

function readEnum(node: XmlNode, id: string, where: string, control: XmlNode | undefined, ctx: ReadContext): EnumElement {
  const items = childrenNamed(node, 'item').map((item, i): EnumItem => {
    const itemWhere = `${where} item ${i}`;
    const valueList = optionalChild(item, 'valueList', 'ADMX', itemWhere);
    return {
      displayName: requiredString(item, 'displayName', ctx, itemWhere),
      value: readValue(requiredChild(item, 'value', 'ADMX', itemWhere), `${itemWhere} <value>`),
      ...(valueList === undefined ? {} : { valueList: readValueList(valueList, `${itemWhere} <valueList>`) }),
    };
  });
  const def = optionalUint(control?.attrs.defaultItem, `${where} defaultItem`, 'ADML');
  if (def !== undefined && def >= items.length) throw invalid('ADML', `${where} defaultItem ${def} is beyond its ${items.length} items`);
  return {
    type: 'enum',
    ...base(node, id, control, where),
    valueName: valueNameOf(node, where),
    required: parseBoolean(node.attrs.required, DEFAULTS.required, `${where} required`),
    items,
    ...(def === undefined ? {} : { default: def }),
  };
}

function readList(node: XmlNode, id: string, control: XmlNode | undefined, where: string): ListElement {
  const a = node.attrs;
  return {
    type: 'list',
    ...base(node, id, control, where),
    ...(a.valuePrefix === undefined ? {} : { valuePrefix: a.valuePrefix }),
    additive: parseBoolean(a.additive, DEFAULTS.additive, `${where} additive`),
    explicitValue: parseBoolean(a.explicitValue, DEFAULTS.explicitValue, `${where} explicitValue`),
    expandable: parseBoolean(a.expandable, DEFAULTS.expandable, `${where} expandable`),
  };
}
