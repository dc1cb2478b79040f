/**
 * A reader for the one canonical JSON text of passcode terms - exactly what serializeTerms
 * writes: the fields in their fixed order, optional ones only when present, no spaces,
 * integers in shortest form, and no string escape but \" and \\ (terms hold no control
 * characters or lone surrogates, the only other characters JSON.stringify escapes).
 *
 * It stands in for JSON.parse + termsProblem + the byte comparison with serializeTerms in
 * the check's hot path, and is tested against exactly that composition (differentially,
 * over random and mutated texts): any text it accepts is one that composition accepts,
 * with the same terms, and the other way round. Values are still checked by termsProblem
 * afterwards; this reader only decides the syntax. Never throws.
 */
import type { PasscodeTerms } from './terms.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  /** Consumes `literal` when the text continues with it. */
  take(literal: string): boolean {
    if (!this.text.startsWith(literal, this.pos)) return false;
    this.pos += literal.length;
    return true;
  }

  string(): string | undefined {
    const t = this.text;
    if (t.charCodeAt(this.pos) !== QUOTE) return undefined;
    let start = ++this.pos;
    let out = '';
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (Number.isNaN(c) || c < 0x20) return undefined; // end of text, or a raw control character
      if (c === QUOTE) {
        out += t.slice(start, this.pos++);
        return out;
      }
      if (c === BACKSLASH) {
        const next = t.charCodeAt(this.pos + 1);
        if (next !== QUOTE && next !== BACKSLASH) return undefined; // any other escape is not canonical here
        out += t.slice(start, this.pos) + t.charAt(this.pos + 1);
        this.pos += 2;
        start = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  /** A safe integer written as JSON.stringify writes it: 0, or an optional '-' and no leading zero. */
  integer(): number | undefined {
    const t = this.text;
    const start = this.pos;
    if (t.charCodeAt(this.pos) === 0x2d) this.pos++;
    const first = this.pos;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c < 0x30 || c > 0x39) break;
      this.pos++;
    }
    const digits = this.pos - first;
    if (digits === 0 || digits > 16) return undefined;
    if (t.charCodeAt(first) === 0x30 && (digits > 1 || first > start)) return undefined; // 01, -0
    const n = Number(t.slice(start, this.pos));
    return Number.isSafeInteger(n) ? n : undefined;
  }

  boolean(): boolean | undefined {
    if (this.take('true')) return true;
    if (this.take('false')) return false;
    return undefined;
  }

  strings(): string[] | undefined {
    if (!this.take('[')) return undefined;
    const out: string[] = [];
    if (this.take(']')) return out;
    for (;;) {
      const v = this.string();
      if (v === undefined) return undefined;
      out.push(v);
      if (this.take(']')) return out;
      if (!this.take(',')) return undefined;
    }
  }

  integers(): number[] | undefined {
    if (!this.take('[')) return undefined;
    const out: number[] = [];
    if (this.take(']')) return out;
    for (;;) {
      const v = this.integer();
      if (v === undefined) return undefined;
      out.push(v);
      if (this.take(']')) return out;
      if (!this.take(',')) return undefined;
    }
  }
}

/**
 * Terms from their canonical JSON text, or undefined when the text is anything else
 * (including valid JSON in another form). Only the syntax is decided here: the result
 * must still pass termsProblem.
 */
export function readCanonicalTerms(text: string): PasscodeTerms | undefined {
  const r = new Reader(text);
  if (!r.take('{"v":')) return undefined;
  const v = r.integer();
  if (v !== 1 || !r.take(',"id":')) return undefined;
  const id = r.string();
  if (id === undefined || !r.take(',"title":')) return undefined;
  const title = r.string();
  if (title === undefined || !r.take(',"iss":')) return undefined;
  const iss = r.string();
  if (iss === undefined || !r.take(',"iat":')) return undefined;
  const iat = r.integer();
  if (iat === undefined || !r.take(',"maxUses":')) return undefined;
  const maxUses = r.integer();
  if (maxUses === undefined || !r.take(',"durationSeconds":')) return undefined;
  const durationSeconds = r.integer();
  if (durationSeconds === undefined || !r.take(',"endProcesses":')) return undefined;
  const endProcesses = r.boolean();
  if (endProcesses === undefined || !r.take(',"computers":')) return undefined;
  const computers = r.strings();
  if (computers === undefined || !r.take(',"users":')) return undefined;
  const users = r.strings();
  if (users === undefined) return undefined;
  const terms: PasscodeTerms = { v: 1, id, title, iss, iat, maxUses, durationSeconds, endProcesses, computers, users, groups: [], privileges: [], integrity: 'High' };
  // Field order in serializeTerms: the optional ones, then groups, privileges, integrity.
  if (r.take(',"notBefore":')) {
    const n = r.integer();
    if (n === undefined) return undefined;
    terms.notBefore = n;
  }
  if (r.take(',"notAfter":')) {
    const n = r.integer();
    if (n === undefined) return undefined;
    terms.notAfter = n;
  }
  if (r.take(',"weekdays":')) {
    const days = r.integers();
    if (days === undefined) return undefined;
    terms.weekdays = days;
  }
  if (r.take(',"hours":{"from":')) {
    const from = r.string();
    if (from === undefined || !r.take(',"to":')) return undefined;
    const to = r.string();
    if (to === undefined || !r.take('}')) return undefined;
    terms.hours = { from, to };
  }
  if (r.take(',"utcOffsetMinutes":')) {
    const n = r.integer();
    if (n === undefined) return undefined;
    terms.utcOffsetMinutes = n;
  }
  if (!r.take(',"groups":')) return undefined;
  const groups = r.strings();
  if (groups === undefined || !r.take(',"privileges":')) return undefined;
  const privileges = r.strings();
  if (privileges === undefined || !r.take(',"integrity":')) return undefined;
  const integrity = r.string();
  if (integrity === undefined || !r.take('}') || r.pos !== text.length) return undefined;
  terms.groups = groups;
  terms.privileges = privileges;
  terms.integrity = integrity as PasscodeTerms['integrity'];
  return terms;
}
