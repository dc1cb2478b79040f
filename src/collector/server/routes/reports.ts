/**
 * GET /api/v1/reports/:name as JSON ({report, columns, rows}) or CSV with the same columns.
 * Times are ISO 8601 in both. A CSV cell that could start a spreadsheet formula (also after
 * leading spaces or line breaks, or in full width) is defused.
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApprovalRequest, ReportFilter } from '../../storage/index.js';
import { fail, parseTime, type RouteContext } from '../context.js';
import { REPORT_COLUMNS, type Report, type ReportCell, type ReportName, TIME_COLUMNS } from '../../../collector-api/reports.js';
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

export async function buildReport(ctx: RouteContext, name: ReportName, filter: ReportFilter): Promise<Report> {
  const { store } = ctx;
  let rows: readonly object[];
  switch (name) {
    case 'tse-usage':
      rows = await store.tseUsageReport(filter);
      break;
    case 'elevations':
      rows = await store.elevationsReport(filter);
      break;
    case 'denied':
      rows = await store.deniedReport(filter);
      break;
    case 'approvals': {
      await store.expirePendingApprovals(ctx.settings.approvalTtlMs);
      rows = (await store.listApprovals(filter)).map((a: ApprovalRequest) => ({ ...a }));
      break;
    }
  }
  return { report: name, columns: REPORT_COLUMNS[name], rows: shape(name, rows) };
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
        if (name === 'approvals') throw fail('ASC_COLLECTOR_BAD_INPUT', 'query.passcode does not apply to the approvals report');
        filter.passcodeId = q.passcode;
      }
      const report = await buildReport(ctx, name, filter);
      if (q.format === 'csv') {
        return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(reportCsv(report));
      }
      return report;
    },
  );
}
