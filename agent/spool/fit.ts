/**
 * Cuts an event to the collector's published limits (src/collector-api/limits.ts) before it
 * is spooled, so no field a user controls (a 40 KB argument, a long justification) can make
 * the collector refuse the event and keep an elevation out of the audit trail.
 *
 * A cut field keeps its beginning and ends in a visible marker with the original length and
 * the SHA-256 of the whole value:
 *
 *   <first characters>…[truncated: 40960 chars, sha256 9f86d081…]
 *
 * and the same facts are kept, for machines, in `data.truncated.<field>` as
 * `{ length, sha256 }` (length in characters, the SHA-256 of the value's UTF-8 bytes, hex).
 * Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { EVENT_DATA_MAX_BYTES, EVENT_LIST_LIMITS, EVENT_STRING_LIMITS, EVENT_TEXT_MAX, type EventListField, type EventStringField } from '../../src/collector-api/limits.js';

export interface TruncationRecord {
  /** The original length: characters for text, items for lists, bytes of JSON for `data`. */
  length: number;
  /** SHA-256 (hex) of the whole original value (UTF-8 text; JSON for lists and `data`). */
  sha256: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Characters (code points) of a string, as JSON Schema's maxLength counts them. */
export function charLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

export function truncationMarker(length: number, hash: string): string {
  return `…[truncated: ${length} chars, sha256 ${hash}]`;
}

/**
 * `value` when it has at most `limit` characters; otherwise its beginning and the marker,
 * together at most `limit` characters, and the record of what was cut.
 */
export function cutText(value: string, limit: number): { text: string; cut?: TruncationRecord } {
  // UTF-16 units never undercount characters: a string this short is within the limit.
  if (value.length <= limit) return { text: value };
  const length = charLength(value);
  if (length <= limit) return { text: value };
  const cut = { length, sha256: sha256(value) };
  const marker = truncationMarker(length, cut.sha256);
  let keep = Math.max(0, limit - marker.length);
  // Never split a surrogate pair.
  const last = value.charCodeAt(keep - 1);
  if (keep > 0 && last >= 0xd800 && last <= 0xdbff) keep--;
  return { text: `${value.slice(0, keep)}${marker}`.slice(0, limit), cut };
}

/**
 * NUL and lone UTF-16 surrogates, which JSON can carry (a user's raw frame can hold them) but
 * a collector cannot store (PostgreSQL's JSONB refuses \u0000 and unpaired surrogates): one
 * such event would fail its batch again and again, and every event behind it would wait.
 */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The text with each NUL and lone surrogate replaced by U+FFFD (as a UTF-8 decoder would). */
export function storableText(s: string): string {
  UNSTORABLE.lastIndex = 0;
  return UNSTORABLE.test(s) ? s.replace(UNSTORABLE, '\ufffd') : s;
}

/** A copy of a JSON value with every string, keys included, made storable (storableText). */
function storable(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return value;
  // Deeper than any event the agent makes: kept out rather than sent unchecked.
  if (depth > 32) return '[nested too deeply]';
  if (Array.isArray(value)) return value.map((v) => storable(v, depth + 1));
  // A Date (or anything with its own toJSON) is written as JSON writes it.
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[storableText(k)] = storable(v, depth + 1);
  return out;
}

/** Strings inside `data` longer than a short text field are cut the same way. */
function fitDataValue(value: unknown, key: string, truncated: Record<string, TruncationRecord>, depth: number): unknown {
  if (typeof value === 'string') {
    const r = cutText(value, EVENT_TEXT_MAX);
    if (r.cut) truncated[key] = r.cut;
    return r.text;
  }
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v, i) => fitDataValue(v, `${key}[${i}]`, truncated, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = fitDataValue(v, `${key}.${k}`, truncated, depth + 1);
  return out;
}

/**
 * A copy of the event cut to the published limits (and text fields to `maxText` characters
 * when that is less); fields within them are kept as they are. Known string fields that are
 * not strings become text. Fitting twice changes nothing more.
 */
export function fitEvent<E extends { [field: string]: unknown }>(event: E, maxText = Infinity): E {
  const truncated: Record<string, TruncationRecord> = {};
  const out = storable(event, 0) as Record<string, unknown>;
  for (const [field, limit] of Object.entries(EVENT_STRING_LIMITS) as [EventStringField, number][]) {
    const v = out[field];
    if (v === undefined) continue;
    const r = cutText(typeof v === 'string' ? v : String(v), Math.min(limit, maxText));
    out[field] = r.text;
    if (r.cut) truncated[field] = r.cut;
  }
  for (const [field, limit] of Object.entries(EVENT_LIST_LIMITS) as [EventListField, number][]) {
    const v = out[field];
    if (Array.isArray(v) && v.length > limit) {
      truncated[field] = { length: v.length, sha256: sha256(JSON.stringify(v)) };
      out[field] = v.slice(0, limit);
    }
  }
  let data = out.data as Record<string, unknown> | undefined;
  if (data !== undefined && (data === null || typeof data !== 'object' || Array.isArray(data))) data = { value: data };
  if (data !== undefined) {
    // An event fitted before keeps the records of what was cut then.
    const { truncated: earlier, ...rest } = data;
    if (earlier !== null && typeof earlier === 'object' && !Array.isArray(earlier)) Object.assign(truncated, earlier);
    data = fitDataValue(rest, 'data', truncated, 0) as Record<string, unknown>;
    const json = JSON.stringify(data);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > EVENT_DATA_MAX_BYTES) {
      for (const k of Object.keys(truncated)) if (k.startsWith('data.') || k.startsWith('data[')) delete truncated[k];
      truncated.data = { length: bytes, sha256: sha256(json) };
      data = {};
    }
  }
  if (Object.keys(truncated).length > 0) data = { ...(data ?? {}), truncated };
  // The records of what was cut count too: `data` within the limit plus them could pass it
  // (the collector refuses such an event), and then only the records are kept.
  if (data !== undefined && Object.keys(truncated).length > 0) {
    if (Buffer.byteLength(JSON.stringify(data), 'utf8') > EVENT_DATA_MAX_BYTES) {
      // What is recorded is the data as it was kept, without the records.
      const { truncated: _records, ...kept } = data;
      const json = JSON.stringify(kept);
      for (const k of Object.keys(truncated)) if (k.startsWith('data.') || k.startsWith('data[')) delete truncated[k];
      truncated.data ??= { length: Buffer.byteLength(json, 'utf8'), sha256: sha256(json) };
      data = { truncated };
    }
  }
  if (data !== undefined) out.data = data;
  return out as E;
}
