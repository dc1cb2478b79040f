/**
 * GET /api/v1/reports/:name as JSON ({report, columns, rows, nextCursor}, one page) or CSV
 * with the same columns (streamed whole, or one page with `limit`). Paged by an opaque signed
 * keyset cursor (issue 18; the contract is in src/collector-api/reports.ts). Times are ISO 8601 in both. A CSV cell that could start a spreadsheet formula (also after
 * leading spaces or line breaks, or in full width) is defused.
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { ApprovalRequest, ReportFilter, ReportKey } from '../../storage/index.js';
import { fail, parseTime, type RouteContext } from '../context.js';
import { DISCOVERY_REPORTS, REPORT_COLUMNS, REPORT_NEXT_HEADER, REPORT_PAGE_MAX, REPORT_PAGE_ROWS, type Report, type ReportCell, type ReportName, TIME_COLUMNS } from '../../../collector-api/reports.js';
import { decodeCursor, encodeCursor } from '../report-cursor.js';
import { ReportParams, ReportQuery } from '../schemas.js';

// The report contract (names, columns, labels) is declared once, in src/collector-api/reports.ts.
export { REPORT_COLUMNS, type Report, type ReportCell };

/** Keeps exactly the report's columns, in order, with times as ISO 8601. */
function shape(name: ReportName, rows: readonly object[]): Record<string, ReportCell>[] {
  const columns = REPORT_COLUMNS[name];
  return rows.map((r) => {
    const src = r as Record<string, unknown>;
    const out: Record<string, ReportCell> = {};
    for (const c of columns) {
      const v = src[c];
      if (v === undefined || v === null) out[c] = null;
      else if (TIME_COLUMNS.has(c) && typeof v === 'number') out[c] = Number.isFinite(new Date(v).getTime()) ? new Date(v).toISOString() : v;
      else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[c] = v;
      else out[c] = JSON.stringify(v);
    }
    return out;
  });
}

/** What a spreadsheet may pass over before it looks for a formula: spaces (any width), line breaks, control and invisible format characters. */
const LEADING_IGNORABLE = /^[\s\p{Z}\p{Cc}\p{Cf}]+/u;
/** Formula starts once folded (NFKC makes ＝ ﹦ = , ＋ ﹢ +, － ﹣ -, ＠ ﹫ @); U+2212 is a minus NFKC keeps. */
const FORMULA_START = /^[=+\-@\u2212]/;

/**
 * Whether a text cell could be read as a formula by some spreadsheet: it starts, after any
 * leading space, line break, control or format character, with = + - @ in any width; or it
 * starts with a tab, CR or LF at all.
 */
export function formulaLike(text: string): boolean {
  if (/^[\t\r\n]/.test(text)) return true;
  const first = [...text.replace(LEADING_IGNORABLE, '')][0];
  return first !== undefined && FORMULA_START.test(first.normalize('NFKC'));
}

function csvCell(v: ReportCell): string {
  if (v === null) return '';
  const text = String(v);
  // A text that a spreadsheet could take for a formula is defused with a leading apostrophe
  // (the spreadsheets' own "this is text" mark). Numbers and booleans are not text.
  const safe = typeof v === 'string' && formulaLike(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function reportCsv(report: Report): string {
  const lines = [report.columns.join(',')];
  for (const r of report.rows) lines.push(report.columns.map((c) => csvCell(r[c] ?? null)).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** The report's rows as the store gives them (in the report's unique order), one page of them when the filter says so. */
async function reportRows(ctx: RouteContext, name: ReportName, filter: ReportFilter): Promise<readonly object[]> {
  const { store } = ctx;
  switch (name) {
    case 'tse-usage':
      return store.tseUsageReport(filter);
    case 'elevations':
      return store.elevationsReport(filter);
    case 'denied':
      return store.deniedReport(filter);
    case 'approvals': {
      // Counted here (the approval columns are bounded by the agent's request schema): the page ends at the budget too.
      let pageBytes = 0;
      return (await store.listApprovals(filter)).map((a: ApprovalRequest) => {
        pageBytes += 200 + a.computer.length + a.user.length + a.processPath.length + (a.args?.length ?? 0) + (a.justification?.length ?? 0) + (a.rule?.length ?? 0) + (a.reason?.length ?? 0);
        return filter.maxBytes === undefined ? { ...a } : { ...a, pageBytes };
      });
    }
    case 'discovery':
      return store.discoveryReport(filter);
    case 'discovery-programs':
      return store.discoveryGroups('program', filter);
    case 'discovery-users':
      return store.discoveryGroups('user', filter);
    case 'discovery-computers':
      return store.discoveryGroups('computer', filter);
  }
}

/** The grouped discovery reports: the column after the program that is part of the group, if any. */
const GROUP_COLUMN: Partial<Record<ReportName, 'user' | 'computer' | ''>> = { 'discovery-programs': '', 'discovery-users': 'user', 'discovery-computers': 'computer' };

/** A row's place in its report's order: events by (time, agent, event id), approvals by (created, id), grouped discovery by (program, group). */
function keyOf(name: ReportName, row: object): ReportKey {
  const r = row as Record<string, unknown>;
  if (name === 'approvals') return { time: Number(r.createdAt), a: String(r.id), b: '' };
  const group = GROUP_COLUMN[name];
  if (group !== undefined) return { time: 0, a: String(r.processPath), b: group === '' ? '' : String(r[group]) };
  return { time: Number(r.time), a: String(r.agentId), b: String(r.eventId) };
}

/** Rows per query while a CSV streams: what the collector holds of one report at a time. */
export const CSV_BATCH_ROWS = 1000;

/**
 * The text one JSON page or CSV batch holds at most (characters, roughly), whatever its row
 * count: rows of long arguments end a page early (with a cursor), so a page never holds more
 * than about this much plus one row.
 */
export const REPORT_PAGE_BYTES = 4 * 1024 * 1024;

/** How many of `rows` (read with a byte budget) make the page: up to `limit`, ending before the row that passes the budget (never empty). */
function pageLength(rows: readonly object[], limit: number, budget: number): number {
  let n = Math.min(limit, rows.length);
  for (let i = 1; i < n; i++) {
    const bytes = (rows[i] as { pageBytes?: number }).pageBytes;
    if (bytes !== undefined && bytes > budget) {
      n = i;
      break;
    }
  }
  return n;
}

/** One page: at most `limit` rows after `after`, and the cursor of the next page (null when none remain). */
export async function buildReport(ctx: RouteContext, name: ReportName, filter: ReportFilter, limit = REPORT_PAGE_ROWS): Promise<Report> {
  if (name === 'approvals') await ctx.store.expirePendingApprovals(ctx.settings.approvalTtlMs);
  // One row more than the page tells whether another page follows.
  const rows = await reportRows(ctx, name, { ...filter, limit: limit + 1, maxBytes: REPORT_PAGE_BYTES });
  const page = rows.slice(0, pageLength(rows, limit, REPORT_PAGE_BYTES));
  const last = page[page.length - 1];
  const nextCursor = rows.length > page.length && last !== undefined ? encodeCursor(ctx.identity.grantKey, name, filter, keyOf(name, last)) : null;
  return { report: name, columns: REPORT_COLUMNS[name], rows: shape(name, page), nextCursor };
}

/**
 * The whole report as CSV, read in keyset batches of CSV_BATCH_ROWS and written as each
 * arrives: the collector holds one batch, whatever the report's size. The stream waits while
 * the client reads slowly (back-pressure) and stops reading when it goes away.
 */
async function* csvStream(ctx: RouteContext, name: ReportName, filter: ReportFilter): AsyncGenerator<string> {
  if (name === 'approvals') await ctx.store.expirePendingApprovals(ctx.settings.approvalTtlMs);
  const columns = REPORT_COLUMNS[name];
  yield `${columns.join(',')}\r\n`;
  let after = filter.after;
  for (;;) {
    // Let the event loop take new connections and other requests between batches: a download
    // (SQLite reads are synchronous) must not starve the agents and the other clients.
    await yieldToLoop();
    const read = await reportRows(ctx, name, { ...filter, after, limit: CSV_BATCH_ROWS, maxBytes: REPORT_PAGE_BYTES });
    if (read.length === 0) return;
    // A batch ends at the row count or the byte budget, whichever comes first.
    const rows = read.slice(0, pageLength(read, CSV_BATCH_ROWS, REPORT_PAGE_BYTES));
    let chunk = '';
    for (const r of shape(name, rows)) chunk += `${columns.map((c) => csvCell(r[c] ?? null)).join(',')}\r\n`;
    yield chunk;
    if (rows.length === read.length && read.length < CSV_BATCH_ROWS) return;
    after = keyOf(name, rows[rows.length - 1] as object);
  }
}

export function registerReportRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Params: Static<typeof ReportParams>; Querystring: Static<typeof ReportQuery> }>(
    '/api/v1/reports/:name',
    { schema: { params: ReportParams, querystring: ReportQuery }, onRequest: ctx.requireRole('viewer') },
    async (req, reply) => {
      const { name } = req.params;
      const q = req.query;
      const filter: ReportFilter = {};
      const from = parseTime(q.from, 'query.from');
      const to = parseTime(q.to, 'query.to');
      if (from !== undefined) filter.from = from;
      if (to !== undefined) filter.to = to;
      if (from !== undefined && to !== undefined && from >= to) throw fail('ASC_COLLECTOR_BAD_INPUT', 'query.from must be before query.to');
      if (q.computer !== undefined) filter.computer = q.computer;
      if (q.user !== undefined) filter.user = q.user;
      if (q.passcode !== undefined) {
        if (name === 'approvals' || (DISCOVERY_REPORTS as readonly string[]).includes(name)) throw fail('ASC_COLLECTOR_BAD_INPUT', `query.passcode does not apply to the ${name} report`);
        filter.passcodeId = q.passcode;
      }
      const limit = q.limit === undefined ? undefined : Number(q.limit);
      if (limit !== undefined && limit > REPORT_PAGE_MAX) throw fail('ASC_COLLECTOR_BAD_INPUT', `query.limit must be at most ${REPORT_PAGE_MAX}`);
      const paged: ReportFilter = { ...filter };
      if (q.cursor !== undefined) {
        try {
          paged.after = decodeCursor(ctx.identity.grantKey, name, filter, q.cursor);
        } catch (e) {
          throw fail('ASC_COLLECTOR_BAD_INPUT', (e as Error).message);
        }
      }
      if (q.format === 'csv' && limit === undefined) {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}.csv"`)
          .send(Readable.from(csvStream(ctx, name, paged)));
      }
      const report = await buildReport(ctx, name, paged, limit ?? REPORT_PAGE_ROWS);
      if (report.nextCursor !== null) {
        const next = new URLSearchParams();
        for (const [k, v] of Object.entries(q)) if (k !== 'cursor' && v !== undefined) next.set(k, String(v));
        next.set('cursor', report.nextCursor);
        reply.header(REPORT_NEXT_HEADER, report.nextCursor).header('link', `</api/v1/reports/${name}?${next.toString()}>; rel="next"`);
      }
      if (q.format === 'csv') {
        return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(reportCsv(report));
      }
      return report;
    },
  );
}
