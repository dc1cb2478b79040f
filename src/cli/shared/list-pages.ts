/**
 * The CLI side of the paged admin lists (issue 18; contract in src/collector-api/reports.ts):
 * a list command prints the whole list by following every cursor, or, with --limit or
 * --cursor, one page and the cursor of the next.
 */
import { Flags } from '@oclif/core';
import { AscendError } from '../../errors.js';
import { CURSOR_PATTERN, REPORT_PAGE_MAX } from '../../collector-api/reports.js';
import { callApi, type ServerFlags } from '../server-command.js';

export const pageFlags = {
  limit: Flags.integer({ description: `only one page of at most this many (1 to ${REPORT_PAGE_MAX}); without it and --cursor, the whole list`, min: 1, max: REPORT_PAGE_MAX }),
  cursor: Flags.string({ description: 'only the page that starts here (the cursor a previous page printed)' }),
};

export interface PageFlags {
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** The --cursor flag checked before anything is sent (one line, ASC_USAGE). */
export function checkCursorFlag(cursor: string | undefined): void {
  if (cursor !== undefined && !CURSOR_PATTERN.test(cursor)) throw new AscendError('ASC_USAGE', '--cursor is not a cursor a list page printed');
}

/**
 * GET `path` with `query`: every page when `follow` (by default: when `page` names neither a
 * limit nor a cursor), the rows of `field` joined in order (nextCursor then null); else one
 * page (its nextCursor as sent). A
 * cursor the collector gives twice, or one that is not a cursor, stops it with one line.
 */
export async function fetchList<K extends string, V>(
  flags: ServerFlags,
  path: string,
  query: Record<string, string | undefined>,
  field: K,
  page: PageFlags,
  what: string,
  follow = page.limit === undefined && page.cursor === undefined,
): Promise<Record<K, V[]> & { nextCursor: string | null }> {
  checkCursorFlag(page.cursor);
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
  if (page.limit !== undefined) q.set('limit', String(page.limit));
  if (page.cursor !== undefined) q.set('cursor', page.cursor);
  const get = async (): Promise<Record<K, V[]> & { nextCursor: string | null }> => {
    const r = await callApi<Record<string, unknown>>(flags, 'GET', q.size === 0 ? path : `${path}?${q.toString()}`);
    const rows = r[field];
    const next = r.nextCursor ?? null;
    if (!Array.isArray(rows) || (next !== null && (typeof next !== 'string' || !CURSOR_PATTERN.test(next)))) {
      throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `the collector's ${what} page is malformed (${field} or nextCursor)`);
    }
    return { ...r, [field]: rows as V[], nextCursor: next } as Record<K, V[]> & { nextCursor: string | null };
  };
  const first = await get();
  if (!follow) return first;
  const seen = new Set<string>();
  while (first.nextCursor !== null) {
    if (seen.has(first.nextCursor)) throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `the collector gave the same ${what} cursor twice`);
    seen.add(first.nextCursor);
    q.set('cursor', first.nextCursor);
    const next = await get();
    first[field].push(...next[field]);
    first.nextCursor = next.nextCursor;
  }
  return first;
}
