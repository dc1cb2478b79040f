/**
 * LDAP search filters (RFC 4515): escaping values for filters, and a parser from the string
 * form to a tree whose assertion values are bytes, so "\xx" escapes of binary values (SIDs,
 * GUIDs) and of UTF-8 sequences reach the server as the bytes they name. Pure: no I/O.
 */
import { Buffer } from 'node:buffer';
import { AscendError } from '../errors.js';

/**
 * Escapes a value for use inside a filter's assertion: `*` `(` `)` `\` and NUL become
 * `\2a` `\28` `\29` `\5c` `\00` (RFC 4515 section 3). Other characters, non-ASCII included,
 * are left as they are (the filter is sent as UTF-8).
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '*':
        out += '\\2a';
        break;
      case '(':
        out += '\\28';
        break;
      case ')':
        out += '\\29';
        break;
      case '\\':
        out += '\\5c';
        break;
      case '\0':
        out += '\\00';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/** Escapes every byte as `\xx`: the way to put a binary value (objectSid, objectGUID) in a filter. */
export function escapeFilterBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += `\\${b.toString(16).padStart(2, '0')}`;
  return out;
}

export type FilterNode =
  | { kind: 'and' | 'or'; children: FilterNode[] }
  | { kind: 'not'; child: FilterNode }
  | { kind: 'equal' | 'greater-or-equal' | 'less-or-equal' | 'approx'; attribute: string; value: Buffer }
  | { kind: 'present'; attribute: string }
  | { kind: 'substrings'; attribute: string; initial?: Buffer; any: Buffer[]; final?: Buffer }
  | { kind: 'extensible'; attribute?: string; rule?: string; dnAttributes: boolean; value: Buffer };

/** An attribute description: a name or numeric OID, then ";option"s. */
const ATTRIBUTE = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)(?:;[A-Za-z0-9-]+)*$/;
const MATCHING_RULE = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)$/;

function bad(filter: string, at: number, message: string): AscendError {
  return new AscendError('ASC_LDAP_BAD_FILTER', `filter ${JSON.stringify(filter)} is malformed at character ${at}: ${message}`);
}

class FilterReader {
  pos = 0;
  constructor(readonly text: string) {}

  fail(message: string, at = this.pos): never {
    throw bad(this.text, at, message);
  }

  expect(ch: string): void {
    if (this.text[this.pos] !== ch) this.fail(this.pos >= this.text.length ? `expected "${ch}", the filter ended` : `expected "${ch}", found "${this.text[this.pos]}"`);
    this.pos++;
  }

  filter(): FilterNode {
    this.expect('(');
    let node: FilterNode;
    const ch = this.text[this.pos];
    if (ch === '&' || ch === '|') {
      this.pos++;
      const children: FilterNode[] = [];
      while (this.text[this.pos] === '(') children.push(this.filter());
      node = { kind: ch === '&' ? 'and' : 'or', children };
    } else if (ch === '!') {
      this.pos++;
      node = { kind: 'not', child: this.filter() };
    } else {
      node = this.item();
    }
    this.expect(')');
    return node;
  }

  /** The text of an item, up to its closing parenthesis (values cannot hold a bare one). */
  item(): FilterNode {
    const start = this.pos;
    const close = this.text.indexOf(')', start);
    if (close < 0) this.fail('missing ")" after the item');
    const body = this.text.slice(start, close);
    const eq = body.indexOf('=');
    if (eq < 0) this.fail('the item has no "=" (expected attr=value, attr>=value, attr<=value, attr~=value or attr:rule:=value)');
    const before = body[eq - 1];
    const valueText = body.slice(eq + 1);
    const valueAt = start + eq + 1;
    this.pos = close;
    if (before === ':') return this.extensible(body.slice(0, eq - 1), start, valueText, valueAt);
    let kind: 'equal' | 'greater-or-equal' | 'less-or-equal' | 'approx' = 'equal';
    let attrEnd = eq;
    if (before === '>') kind = 'greater-or-equal';
    else if (before === '<') kind = 'less-or-equal';
    else if (before === '~') kind = 'approx';
    if (kind !== 'equal') attrEnd = eq - 1;
    const attribute = body.slice(0, attrEnd);
    if (!ATTRIBUTE.test(attribute)) this.fail(attribute === '' ? 'the attribute name is empty' : `"${attribute}" is not an attribute name`, start);
    if (kind !== 'equal') return { kind, attribute, value: this.value(valueText, valueAt) };
    if (valueText === '*') return { kind: 'present', attribute };
    if (!valueText.includes('*')) return { kind, attribute, value: this.value(valueText, valueAt) };
    // Substrings: initial*any*...*final, each piece optional; empty middle pieces are dropped.
    const pieces = valueText.split('*');
    let at = valueAt;
    const decoded = pieces.map((piece) => {
      const v = this.value(piece, at);
      at += piece.length + 1;
      return v;
    });
    const initial = decoded[0] as Buffer;
    const final = decoded[decoded.length - 1] as Buffer;
    const any = decoded.slice(1, -1).filter((b) => b.length > 0);
    if (initial.length === 0 && final.length === 0 && any.length === 0) return { kind: 'present', attribute };
    return {
      kind: 'substrings',
      attribute,
      ...(initial.length > 0 ? { initial } : {}),
      any,
      ...(final.length > 0 ? { final } : {}),
    };
  }

  /** attr[:dn][:rule]:=value or [:dn]:rule:=value; `head` is what precedes ":=". */
  extensible(head: string, start: number, valueText: string, valueAt: number): FilterNode {
    const parts = head.split(':');
    const attribute = parts.shift() ?? '';
    let dnAttributes = false;
    let rule: string | undefined;
    if (parts[0]?.toLowerCase() === 'dn') {
      dnAttributes = true;
      parts.shift();
    }
    if (parts.length > 0) rule = parts.shift();
    if (parts.length > 0) this.fail('an extensible match has the form attr[:dn][:rule]:=value', start);
    if (attribute !== '' && !ATTRIBUTE.test(attribute)) this.fail(`"${attribute}" is not an attribute name`, start);
    if (rule !== undefined && !MATCHING_RULE.test(rule)) this.fail(`"${rule}" is not a matching rule name or OID`, start);
    if (attribute === '' && rule === undefined) this.fail('an extensible match needs an attribute, a matching rule, or both', start);
    return {
      kind: 'extensible',
      ...(attribute !== '' ? { attribute } : {}),
      ...(rule !== undefined ? { rule } : {}),
      dnAttributes,
      value: this.value(valueText, valueAt),
    };
  }

  /** Decodes an assertion value: UTF-8 for the characters, the named byte for each \xx. */
  value(text: string, at: number): Buffer {
    const chunks: Buffer[] = [];
    let plain = '';
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] as string;
      if (ch === '\\') {
        const hex = text.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.fail('"\\" must be followed by two hex digits (escape "\\" itself as \\5c)', at + i);
        if (plain) chunks.push(Buffer.from(plain, 'utf8'));
        plain = '';
        chunks.push(Buffer.from([Number.parseInt(hex, 16)]));
        i += 2;
      } else if (ch === '(' || ch === '*' || ch === '\0') {
        const escaped = ch === '(' ? '\\28' : ch === '*' ? '\\2a' : '\\00';
        this.fail(`"${ch === '\0' ? 'NUL' : ch}" must be escaped in this value (as ${escaped})`, at + i);
      } else {
        plain += ch;
      }
    }
    if (plain) chunks.push(Buffer.from(plain, 'utf8'));
    return Buffer.concat(chunks);
  }
}

/**
 * Parses an RFC 4515 filter. A filter without its outer parentheses ("cn=x") is accepted too.
 * Throws ASC_LDAP_BAD_FILTER naming the position of the first problem.
 */
export function parseFilter(filter: string): FilterNode {
  const text = filter.startsWith('(') ? filter : `(${filter})`;
  const reader = new FilterReader(text);
  const node = reader.filter();
  if (reader.pos !== text.length) reader.fail('text follows the end of the filter');
  return node;
}

function valueToString(value: Buffer): string {
  // Printable ASCII stays readable; everything else (and the specials) is escaped.
  let out = '';
  for (const b of value) {
    if (b >= 0x20 && b < 0x7f && b !== 0x2a && b !== 0x28 && b !== 0x29 && b !== 0x5c) out += String.fromCharCode(b);
    else out += `\\${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The string form of a parsed filter (non-printable and non-ASCII bytes as \xx escapes). */
export function filterToString(node: FilterNode): string {
  switch (node.kind) {
    case 'and':
      return `(&${node.children.map(filterToString).join('')})`;
    case 'or':
      return `(|${node.children.map(filterToString).join('')})`;
    case 'not':
      return `(!${filterToString(node.child)})`;
    case 'equal':
      return `(${node.attribute}=${valueToString(node.value)})`;
    case 'greater-or-equal':
      return `(${node.attribute}>=${valueToString(node.value)})`;
    case 'less-or-equal':
      return `(${node.attribute}<=${valueToString(node.value)})`;
    case 'approx':
      return `(${node.attribute}~=${valueToString(node.value)})`;
    case 'present':
      return `(${node.attribute}=*)`;
    case 'substrings':
      return `(${node.attribute}=${node.initial ? valueToString(node.initial) : ''}*${node.any.map((a) => `${valueToString(a)}*`).join('')}${node.final ? valueToString(node.final) : ''})`;
    case 'extensible':
      return `(${node.attribute ?? ''}${node.dnAttributes ? ':dn' : ''}${node.rule !== undefined ? `:${node.rule}` : ''}:=${valueToString(node.value)})`;
  }
}
