/**
 * Report and list cursors (issue 18): where the next page of a report (or list) starts, as an opaque token the
 * collector signs. The body names the report, a digest of its filters and the last row's key
 * (time, ids); the tag is HMAC-SHA256 under a key derived from the grant key, so collectors
 * sharing a database (and the grant key) read each other's cursors, and a cursor that was
 * edited, made up, or taken from another report or other filters is refused with one line.
 */
import { createHash, createHmac, hkdfSync, type KeyObject, timingSafeEqual } from 'node:crypto';
import { AscendError } from '../../errors.js';
import type { ReportFilter, ReportKey } from '../storage/index.js';

const keys = new WeakMap<KeyObject, Buffer>();

function cursorKey(grantKey: KeyObject): Buffer {
  let key = keys.get(grantKey);
  if (key === undefined) {
    const material = grantKey.export({ type: 'pkcs8', format: 'der' });
    key = Buffer.from(hkdfSync('sha256', material, 'ascend-collector', 'report cursors v1', 32));
    keys.set(grantKey, key);
  }
  return key;
}

/** The filters a cursor is bound to (not the page: after/limit). */
function filterDigest(name: string, filter: ReportFilter): string {
  const f = [name, filter.from ?? null, filter.to ?? null, filter.computer ?? null, filter.user ?? null, filter.passcodeId ?? null];
  return createHash('sha256').update(JSON.stringify(f)).digest('base64url').slice(0, 22);
}

function tag(key: Buffer, body: string): Buffer {
  return createHmac('sha256', key).update(body).digest().subarray(0, 16);
}

export function encodeCursor(grantKey: KeyObject, name: string, filter: ReportFilter, after: ReportKey): string {
  const body = Buffer.from(JSON.stringify({ v: 1, f: filterDigest(name, filter), k: [after.time, after.a, after.b] })).toString('base64url');
  return `${body}.${tag(cursorKey(grantKey), body).toString('base64url')}`;
}

/** The key a cursor names, or ASC_COLLECTOR_BAD_INPUT when it is not one this collector gave out for this report and filters. */
export function decodeCursor(grantKey: KeyObject, name: string, filter: ReportFilter, cursor: string): ReportKey {
  const bad = (): AscendError => new AscendError('ASC_COLLECTOR_BAD_INPUT', 'query.cursor is not a cursor this collector gave out for this report and these filters');
  const m = /^([A-Za-z0-9_-]{1,1000})\.([A-Za-z0-9_-]{22})$/.exec(cursor);
  if (m === null) throw bad();
  const [, body, sig] = m as unknown as [string, string, string];
  const given = Buffer.from(sig, 'base64url');
  const want = tag(cursorKey(grantKey), body);
  if (given.length !== want.length || !timingSafeEqual(given, want)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const p = parsed as { v?: unknown; f?: unknown; k?: unknown };
  if (typeof parsed !== 'object' || parsed === null || p.v !== 1 || p.f !== filterDigest(name, filter) || !Array.isArray(p.k) || p.k.length !== 3) throw bad();
  const [time, a, b] = p.k as unknown[];
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || typeof a !== 'string' || typeof b !== 'string') throw bad();
  return { time, a, b };
}
