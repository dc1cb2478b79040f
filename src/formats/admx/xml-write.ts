import { AscendError } from '../../errors.js';

/**
 * A minimal XML tree for the writer. We serialise by hand rather than through a
 * builder library so that the bytes are fully under our control: 2-space indentation,
 * attributes in the order given, and text content written inline and untouched (help
 * texts carry significant newlines that pretty-printers like to re-indent).
 */
export interface XmlElement {
  readonly name: string;
  /** Attributes in output order; undefined values are left out. */
  readonly attrs: ReadonlyArray<readonly [string, string | undefined]>;
  /** Child elements, or text content; an element never has both. */
  readonly children: readonly XmlElement[];
  readonly text?: string;
}

export function el(
  name: string,
  attrs: ReadonlyArray<readonly [string, string | undefined]> = [],
  children: ReadonlyArray<XmlElement | undefined> = [],
): XmlElement {
  return { name, attrs, children: children.filter((c): c is XmlElement => c !== undefined) };
}

export function textEl(name: string, text: string, attrs: ReadonlyArray<readonly [string, string | undefined]> = []): XmlElement {
  return { name, attrs, children: [], text };
}

// Characters XML 1.0 cannot carry at all, even as character references.
// With the u flag a well-formed surrogate pair is one code point, so only lone halves match.
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/u;

function checkChars(s: string, where: string): void {
  const m = FORBIDDEN.exec(s);
  if (m) {
    const code = (m[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    throw new AscendError('ASC_ADMX_INVALID', `ADMX writer: ${where} contains U+${code}, which XML cannot hold`);
  }
}

/** Escapes element content. CR is a reference so that parsers do not fold it into LF. */
export function escapeText(s: string, where = 'text'): string {
  checkChars(s, where);
  return s.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

/** Escapes an attribute value; whitespace other than space is a reference, since parsers normalise it to spaces. */
export function escapeAttr(s: string, where = 'attribute'): string {
  checkChars(s, where);
  return s.replace(/[&<>"\t\n\r]/g, (c) => {
    switch (c) {
      case '&': return '&amp;';
      case '<': return '&lt;';
      case '>': return '&gt;';
      case '"': return '&quot;';
      case '\t': return '&#9;';
      case '\n': return '&#10;';
      default: return '&#13;';
    }
  });
}

function openTag(e: XmlElement): string {
  let s = `<${e.name}`;
  for (const [k, v] of e.attrs) {
    if (v !== undefined) s += ` ${k}="${escapeAttr(v, `attribute ${k} of <${e.name}>`)}"`;
  }
  return s;
}

function renderInto(e: XmlElement, depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  const open = openTag(e);
  if (e.text !== undefined && e.text !== '') {
    out.push(`${pad}${open}>${escapeText(e.text, `text of <${e.name}>`)}</${e.name}>`);
  } else if (e.children.length === 0) {
    out.push(`${pad}${open}/>`);
  } else {
    out.push(`${pad}${open}>`);
    for (const c of e.children) renderInto(c, depth + 1, out);
    out.push(`${pad}</${e.name}>`);
  }
}

/** The whole document: declaration, the tree, a trailing newline. */
export function renderDocument(root: XmlElement): string {
  const out = ['<?xml version="1.0" encoding="utf-8"?>'];
  renderInto(root, 0, out);
  return out.join('\n') + '\n';
}
