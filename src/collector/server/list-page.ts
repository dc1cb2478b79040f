/**
 * Paging of the admin list routes (issue 18), the same way as the reports: at most `limit`
 * rows (default REPORT_PAGE_ROWS, at most REPORT_PAGE_MAX), then `nextCursor` in the body and,
 * when more follow, the `ascend-next-cursor` header and a `Link: <...>; rel="next"` header.
 * The cursor is the signed report cursor, bound to the list's scope (its name and filters):
 * one of another list, other filters, edited or made up is refused with one line (400).
 */
import type { FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { REPORT_CURSOR_MAX, REPORT_NEXT_HEADER, REPORT_PAGE_MAX, REPORT_PAGE_ROWS } from '../../collector-api/reports.js';
import type { ReportKey } from '../storage/index.js';
import { fail, type RouteContext } from './context.js';
import { decodeCursor, encodeCursor } from './report-cursor.js';

/** The query fields of a paged list (spread into its querystring schema). */
export const PageQueryFields = {
  limit: Type.Optional(Type.String({ minLength: 1, maxLength: 6, pattern: '^[1-9][0-9]*$' })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: REPORT_CURSOR_MAX, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$' })),
};

/** The querystring of a list with no filters: only the page. */
export const ListQuery = Type.Object(PageQueryFields, { additionalProperties: false });
export type ListQueryType = { limit?: string; cursor?: string };

export interface PageRequest {
  limit: number;
  after?: ReportKey;
}

/** The page a query asks for; ASC_COLLECTOR_BAD_INPUT (one line) for a limit over the cap or a cursor not given out for this scope. */
export function pageRequest(ctx: RouteContext, scope: string, query: { limit?: string | undefined; cursor?: string | undefined }): PageRequest {
  const limit = query.limit === undefined ? REPORT_PAGE_ROWS : Number(query.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > REPORT_PAGE_MAX) throw fail('ASC_COLLECTOR_BAD_INPUT', `query.limit must be at most ${REPORT_PAGE_MAX}`);
  if (query.cursor === undefined) return { limit };
  try {
    return { limit, after: decodeCursor(ctx.identity.grantKey, scope, {}, query.cursor) };
  } catch (e) {
    throw fail('ASC_COLLECTOR_BAD_INPUT', (e as Error).message);
  }
}

/**
 * Cuts the rows read with `limit + 1` to the page and names the next one: the cursor after the
 * page's last row when a row beyond it was read, else null. With a reply, the cursor also goes
 * into the `ascend-next-cursor` and `Link` headers (the same path and query, with this cursor).
 */
export function pageOf<T>(
  ctx: RouteContext,
  scope: string,
  rows: readonly T[],
  req: PageRequest,
  key: (row: T) => ReportKey,
  link?: { reply: FastifyReply; path: string; query: Record<string, string | undefined> },
): { page: T[]; nextCursor: string | null } {
  const page = rows.slice(0, req.limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > req.limit && last !== undefined ? encodeCursor(ctx.identity.grantKey, scope, {}, key(last)) : null;
  if (nextCursor !== null && link !== undefined) {
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries(link.query)) if (k !== 'cursor' && v !== undefined) next.set(k, v);
    next.set('cursor', nextCursor);
    link.reply.header(REPORT_NEXT_HEADER, nextCursor).header('link', `<${link.path}?${next.toString()}>; rel="next"`);
  }
  return { page, nextCursor };
}
