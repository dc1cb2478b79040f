import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AscendError } from '../../errors.js';

/** A parsed element: local name, attributes (decoded), child elements and its text (decoded, untrimmed). */
export interface XmlNode {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlNode[];
  /** Concatenated character data directly inside the element, exactly as the file says. */
  readonly text: string;
}

export type FileKind = 'ADMX' | 'ADML';

export function invalid(kind: FileKind, message: string): AscendError {
  return new AscendError('ASC_ADMX_INVALID', `${kind}: ${message}`);
}

// fast-xml-parser's preserveOrder shape: { tag: children, ':@': attributes } or { '#text': s }.
type OrderedNode = Record<string, unknown>;

const PARSER = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  // Entities are decoded here instead: the parser's own decoding skips character references.
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  removeNSPrefix: true,
  cdataPropName: '#cdata',
});

const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string, kind: FileKind): string {
  return s.replace(/&([^;&\s]*);/g, (whole, name: string) => {
    if (name.startsWith('#')) {
      const code = /^#x[0-9a-fA-F]+$/.test(name) ? parseInt(name.slice(2), 16) : /^#[0-9]+$/.test(name) ? parseInt(name.slice(1), 10) : NaN;
      if (Number.isNaN(code) || code > 0x10ffff) throw invalid(kind, `bad character reference ${whole}`);
      return String.fromCodePoint(code);
    }
    const c = NAMED_ENTITIES[name];
    if (c === undefined) throw invalid(kind, `unknown entity ${whole}`);
    return c;
  });
}

function tagOf(node: OrderedNode): string | undefined {
  return Object.keys(node).find((k) => k !== ':@');
}

function convert(node: OrderedNode, name: string, kind: FileKind): XmlNode {
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  const attrs: Record<string, string> = {};
  // XML attribute-value normalisation: literal whitespace becomes a space, references survive.
  for (const [k, v] of Object.entries(rawAttrs)) attrs[k] = decodeEntities(v.replace(/[\t\n]/g, ' '), kind);
  const children: XmlNode[] = [];
  let text = '';
  for (const child of node[name] as OrderedNode[]) {
    const tag = tagOf(child);
    if (tag === '#text') text += decodeEntities(String(child[tag]), kind);
    else if (tag === '#cdata') text += (child[tag] as OrderedNode[]).map((t) => String(t['#text'] ?? '')).join('');
    else if (tag !== undefined && !tag.startsWith('#')) children.push(convert(child, tag, kind));
  }
  return { name, attrs, children, text };
}

/** Parses a whole document and returns its root element; anything not well-formed is ASC_ADMX_INVALID. */
export function parseXml(source: string, kind: FileKind): XmlNode {
  // End-of-line handling as XML 1.0 section 2.11 prescribes, so "\r\n" in a file reads as "\n".
  const text = source.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const verdict = XMLValidator.validate(text);
  if (verdict !== true) {
    const { line, col, msg } = verdict.err;
    throw invalid(kind, `not well-formed XML at line ${line}${col === undefined ? '' : `, column ${col}`}: ${msg}`);
  }
  const roots = (PARSER.parse(text) as OrderedNode[])
    .map((n) => [n, tagOf(n)] as const)
    .filter((pair): pair is readonly [OrderedNode, string] => pair[1] !== undefined && !pair[1].startsWith('#') && !pair[1].startsWith('?'));
  const [first, ...rest] = roots;
  if (first === undefined || rest.length > 0) throw invalid(kind, `expected exactly one root element, found ${roots.length}`);
  return convert(first[0], first[1], kind);
}

/** Child elements of a node with a given local name. */
export function childrenNamed(node: XmlNode, name: string): XmlNode[] {
  return node.children.filter((c) => c.name === name);
}

/** The single child of that name, or undefined; more than one is an error. */
export function optionalChild(node: XmlNode, name: string, kind: FileKind, where: string): XmlNode | undefined {
  const found = childrenNamed(node, name);
  if (found.length > 1) throw invalid(kind, `${where} has ${found.length} <${name}> elements, at most one is allowed`);
  return found[0];
}

export function requiredChild(node: XmlNode, name: string, kind: FileKind, where: string): XmlNode {
  const found = optionalChild(node, name, kind, where);
  if (found === undefined) throw invalid(kind, `${where} lacks its <${name}> element`);
  return found;
}

export function requiredAttr(node: XmlNode, name: string, kind: FileKind, where: string): string {
  const v = node.attrs[name];
  if (v === undefined) throw invalid(kind, `${where} lacks the required attribute ${name}`);
  return v;
}
