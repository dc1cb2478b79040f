import { AscendError } from '../../errors.js';
import type {
  CategoryDefinition,
  PolicyCatalog,
  PolicyDefinition,
  PolicyElement,
  RegistryValueSpec,
  ValueList,
} from '../../catalog/model.js';
import { ADMX_XMLNS, IdAllocator, KNOWN_USING_NAMESPACES, SCHEMA_VERSION, presentationRef, stringRef } from './schema.js';
import { el, renderDocument, textEl, type XmlElement } from './xml-write.js';

/**
 * Writes a catalog as an ADMX file and its ADML (en-US) resources. The output is a
 * pure function of the catalog: same catalog, same bytes. Every attribute the model
 * holds is written explicitly (schema defaults included), so that readAdmx restores
 * exactly the catalog that was written.
 */
export function writeAdmx(catalog: PolicyCatalog): { admx: string; adml: string } {
  const ctx = new WriteContext();
  const root = el('policyDefinitions', [['xmlns', ADMX_XMLNS], ['revision', catalog.revision], ['schemaVersion', SCHEMA_VERSION]], [
    policyNamespaces(catalog),
    el('resources', [['minRequiredRevision', catalog.revision]]),
    supportedOnTable(catalog, ctx),
    categoryList(catalog, ctx),
    policyList(catalog, ctx),
  ]);
  const resources = el('policyDefinitionResources', [['xmlns', ADMX_XMLNS], ['revision', catalog.revision], ['schemaVersion', SCHEMA_VERSION]], [
    textEl('displayName', catalog.displayName),
    textEl('description', catalog.description),
    el('resources', [], [ctx.stringTable(), ctx.presentationTable()]),
  ]);
  return { admx: renderDocument(root), adml: renderDocument(resources) };
}

function fail(message: string): AscendError {
  return new AscendError('ASC_ADMX_INVALID', `ADMX writer: ${message}`);
}

/** Collects the ADML's string and presentation tables while the ADMX is built. */
class WriteContext {
  private readonly stringIds = new IdAllocator();
  private readonly presentationIds = new IdAllocator();
  private readonly strings: XmlElement[] = [];
  private readonly presentations: XmlElement[] = [];

  /** Adds a localized string and returns its `$(string.ID)` reference. */
  string(preferredId: string, text: string): string {
    const id = this.stringIds.allocate(preferredId);
    this.strings.push(textEl('string', text, [['id', id]]));
    return stringRef(id);
  }

  /** Adds a presentation and returns its `$(presentation.ID)` reference. */
  presentation(preferredId: string, controls: readonly XmlElement[]): string {
    const id = this.presentationIds.allocate(preferredId);
    this.presentations.push(el('presentation', [['id', id]], controls));
    return presentationRef(id);
  }

  // The schema wants at least one entry in a table that is present.
  stringTable(): XmlElement | undefined {
    return this.strings.length > 0 ? el('stringTable', [], this.strings) : undefined;
  }

  presentationTable(): XmlElement | undefined {
    return this.presentations.length > 0 ? el('presentationTable', [], this.presentations) : undefined;
  }
}

// ---- checks of values the schema types strictly -------------------------------------------

const ITEM_NAME = /^[\p{L}\p{N}_]+$/u;
const ITEM_REFERENCE = /^(?:[\p{L}\p{N}_]+:)?[\p{L}\p{N}_]+$/u;

function itemName(name: string, where: string): string {
  if (!ITEM_NAME.test(name)) throw fail(`${where}: "${name}" is not a valid ADMX name (letters, digits and _ only)`);
  return name;
}

function itemReference(ref: string, where: string): string {
  if (!ITEM_REFERENCE.test(ref)) throw fail(`${where}: "${ref}" is not a valid ADMX reference (Name or prefix:Name)`);
  return ref;
}

function uint(n: number, where: string): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw fail(`${where}: ${n} is not an unsigned 32-bit integer`);
  return String(n);
}

const optUint = (n: number | undefined, where: string): string | undefined => (n === undefined ? undefined : uint(n, where));
const bool = (b: boolean): string => (b ? 'true' : 'false');

// ---- namespaces, supportedOn, categories ---------------------------------------------------

/** Every `prefix:` a reference uses, in first-use order, so `<using>` lines come out stable. */
function foreignPrefixes(catalog: PolicyCatalog): Map<string, string> {
  const found = new Map<string, string>(); // prefix -> where first used
  const note = (ref: string | undefined, where: string): void => {
    const colon = ref?.indexOf(':') ?? -1;
    if (ref === undefined || colon < 0) return;
    const prefix = ref.slice(0, colon);
    if (prefix !== catalog.prefix && !found.has(prefix)) found.set(prefix, `${where} refers to "${ref}"`);
  };
  for (const c of catalog.categories) note(c.parent, `category ${c.id}`);
  for (const p of catalog.policies) {
    note(p.category, `policy ${p.id}`);
    note(p.supportedOn, `policy ${p.id}`);
  }
  return found;
}

function policyNamespaces(catalog: PolicyCatalog): XmlElement {
  const usings = [...foreignPrefixes(catalog)].map(([prefix, where]) => {
    const namespace = KNOWN_USING_NAMESPACES[prefix];
    if (namespace === undefined) throw fail(`${where}, but the catalog does not say which namespace prefix "${prefix}" stands for`);
    return el('using', [['prefix', prefix], ['namespace', namespace]]);
  });
  return el('policyNamespaces', [], [
    el('target', [['prefix', itemName(catalog.prefix, 'target prefix')], ['namespace', catalog.namespace]]),
    ...usings,
  ]);
}

function supportedOnTable(catalog: PolicyCatalog, ctx: WriteContext): XmlElement | undefined {
  if (catalog.supportedOn.length === 0) return undefined;
  const definitions = catalog.supportedOn.map((s) =>
    el('definition', [['name', itemName(s.id, 'supportedOn definition')], ['displayName', ctx.string(s.id, s.displayName)]]),
  );
  return el('supportedOn', [], [el('definitions', [], definitions)]);
}

function categoryElement(c: CategoryDefinition, ctx: WriteContext): XmlElement {
  const where = `category ${c.id}`;
  return el('category', [
    ['name', itemName(c.id, where)],
    ['displayName', ctx.string(`Cat_${c.id}`, c.displayName)],
    ['explainText', c.help === undefined ? undefined : ctx.string(`Cat_${c.id}_Help`, c.help)],
  ], [c.parent === undefined ? undefined : el('parentCategory', [['ref', itemReference(c.parent, `${where} parent`)]])]);
}

function categoryList(catalog: PolicyCatalog, ctx: WriteContext): XmlElement | undefined {
  if (catalog.categories.length === 0) return undefined;
  return el('categories', [], catalog.categories.map((c) => categoryElement(c, ctx)));
}

// ---- policies --------------------------------------------------------------------------------

function policyList(catalog: PolicyCatalog, ctx: WriteContext): XmlElement | undefined {
  if (catalog.policies.length === 0) return undefined;
  return el('policies', [], catalog.policies.map((p) => policyElement(p, ctx)));
}

function policyElement(p: PolicyDefinition, ctx: WriteContext): XmlElement {
  const where = `policy ${p.id}`;
  // Allocation order (name, help, presentation, enum items) fixes the ids, hence the bytes.
  const displayName = ctx.string(p.id, p.displayName);
  const explainText = p.help === '' ? undefined : ctx.string(`${p.id}_Help`, p.help);
  const presentation = p.elements.length === 0 ? undefined : ctx.presentation(p.id, p.elements.map(presentationControl));
  const elements = p.elements.map((e) => policyElementDefinition(p, e, ctx));
  return el('policy', [
    ['name', itemName(p.id, where)],
    ['class', p.class],
    ['displayName', displayName],
    ['explainText', explainText],
    ['presentation', presentation],
    ['key', p.key],
    ['valueName', p.valueName],
  ], [
    el('parentCategory', [['ref', itemReference(p.category, `${where} category`)]]),
    p.supportedOn === undefined ? undefined : el('supportedOn', [['ref', itemReference(p.supportedOn, `${where} supportedOn`)]]),
    valueElement('enabledValue', p.enabledValue, `${where} enabledValue`),
    valueElement('disabledValue', p.disabledValue, `${where} disabledValue`),
    valueListElement('enabledList', p.enabledList, `${where} enabledList`),
    valueListElement('disabledList', p.disabledList, `${where} disabledList`),
    elements.length === 0 ? undefined : el('elements', [], elements),
  ]);
}

function registryValue(v: RegistryValueSpec, where: string): XmlElement {
  switch (v.kind) {
    case 'decimal':
      return el('decimal', [['value', uint(v.value, where)]]);
    case 'longDecimal':
      if (v.value < 0n || v.value > 0xffffffffffffffffn) throw fail(`${where}: ${v.value} is not an unsigned 64-bit integer`);
      return el('longDecimal', [['value', v.value.toString()]]);
    case 'string':
      return textEl('string', v.value);
    case 'delete':
      return el('delete');
  }
}

function valueElement(name: string, v: RegistryValueSpec | undefined, where: string): XmlElement | undefined {
  return v === undefined ? undefined : el(name, [], [registryValue(v, where)]);
}

function valueListElement(name: string, list: ValueList | undefined, where: string): XmlElement | undefined {
  if (list === undefined) return undefined;
  if (list.items.length === 0) throw fail(`${where} has no items; the schema requires at least one`);
  const items = list.items.map((item) =>
    el('item', [['key', item.key], ['valueName', item.valueName]], [el('value', [], [registryValue(item.value, `${where} ${item.valueName}`)])]),
  );
  return el(name, [['defaultKey', list.defaultKey]], items);
}

function policyElementDefinition(p: PolicyDefinition, e: PolicyElement, ctx: WriteContext): XmlElement {
  const where = `policy ${p.id} element ${e.id}`;
  switch (e.type) {
    case 'boolean':
      return el('boolean', [['id', e.id], ['key', e.key], ['valueName', e.valueName]], [
        valueElement('trueValue', e.trueValue, `${where} trueValue`),
        valueElement('falseValue', e.falseValue, `${where} falseValue`),
        valueListElement('trueList', e.trueList, `${where} trueList`),
        valueListElement('falseList', e.falseList, `${where} falseList`),
      ]);
    case 'decimal':
      return el('decimal', [
        ['id', e.id], ['key', e.key], ['valueName', e.valueName], ['required', bool(e.required)],
        ['minValue', uint(e.minValue, `${where} minValue`)], ['maxValue', uint(e.maxValue, `${where} maxValue`)],
        ['storeAsText', bool(e.storeAsText)], ['soft', bool(e.soft)],
      ]);
    case 'text':
      return el('text', [
        ['id', e.id], ['key', e.key], ['valueName', e.valueName], ['required', bool(e.required)],
        ['maxLength', uint(e.maxLength, `${where} maxLength`)], ['expandable', bool(e.expandable)], ['soft', bool(e.soft)],
      ]);
    case 'enum':
      return el('enum', [['id', e.id], ['key', e.key], ['valueName', e.valueName], ['required', bool(e.required)]],
        e.items.map((item, i) =>
          el('item', [['displayName', ctx.string(`${p.id}_${e.id}_Item${i}`, item.displayName)]], [
            el('value', [], [registryValue(item.value, `${where} item ${i}`)]),
            valueListElement('valueList', item.valueList, `${where} item ${i} valueList`),
          ]),
        ));
    case 'list':
      return el('list', [
        ['id', e.id], ['key', e.key], ['valuePrefix', e.valuePrefix],
        ['additive', bool(e.additive)], ['expandable', bool(e.expandable)], ['explicitValue', bool(e.explicitValue)],
      ]);
  }
}

/** The ADML control GPMC shows for an element, carrying its label and initial value. */
function presentationControl(e: PolicyElement): XmlElement {
  const where = `element ${e.id}`;
  switch (e.type) {
    case 'boolean':
      return textEl('checkBox', e.label, [['refId', e.id], ['defaultChecked', bool(e.default)]]);
    case 'decimal':
      return textEl('decimalTextBox', e.label, [
        ['refId', e.id], ['defaultValue', optUint(e.default, `${where} default`)], ['spinStep', optUint(e.spinStep, `${where} spinStep`)],
      ]);
    case 'text':
      return el('textBox', [['refId', e.id]], [
        textEl('label', e.label),
        e.default === undefined ? undefined : textEl('defaultValue', e.default),
      ]);
    case 'enum':
      // noSort: GPMC would otherwise sort the items alphabetically and lose the catalog's order.
      return textEl('dropdownList', e.label, [['refId', e.id], ['noSort', 'true'], ['defaultItem', optUint(e.default, `${where} default`)]]);
    case 'list':
      return textEl('listBox', e.label, [['refId', e.id]]);
  }
}
