/**
 * A report's JSON as the collector sends it (GET /api/v1/reports/:name, format=json), checked
 * against the report contract before anything in it is used: `ascend report` and `ascend
 * rules suggest` read it.
 */
import { AscendError } from '../../errors.js';
import type { ReportCell } from '../../collector-api/reports.js';

export type ReportValue = ReportCell;

/** What the server answers with `format=json`, and what `--json` prints. */
export interface ReportResult {
  report: string;
  columns: string[];
  rows: Record<string, ReportValue>[];
  /** Where the next page starts (pass it as --cursor), null on the last page. */
  nextCursor: string | null;
}

function isValue(v: unknown): v is ReportValue {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** Checks the server's JSON against the report contract; anything else is not trusted. */
export function parseReportJson(text: string, name: string, origin: string): ReportResult {
  const bad = (why: string): AscendError => new AscendError('ASC_COLLECTOR_UNREACHABLE', `${origin} did not answer with the ${name} report (${why})`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('not an object');
  const { report, columns, rows, nextCursor } = body as Record<string, unknown>;
  if (report !== name) throw bad(`"report" is ${JSON.stringify(report)}`);
  if (!Array.isArray(rows) || !rows.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))) throw bad('"rows" is not an array of objects');
  // A collector older than the columns field: the keys of the first row, in their order.
  const cols = columns === undefined ? Object.keys((rows[0] as object | undefined) ?? {}) : columns;
  if (!Array.isArray(cols) || !cols.every((c) => typeof c === 'string')) throw bad('"columns" is not an array of names');
  for (const [i, r] of (rows as Record<string, unknown>[]).entries()) {
    for (const [k, v] of Object.entries(r)) if (!isValue(v)) throw bad(`rows[${i}].${k} is not a string, number, boolean or null`);
  }
  // A collector older than paging sends no nextCursor: its answer is the whole report.
  if (nextCursor !== undefined && nextCursor !== null && (typeof nextCursor !== 'string' || !/^[A-Za-z0-9_.-]{1,1024}$/.test(nextCursor))) throw bad('"nextCursor" is not a cursor');
  return { report: name, columns: cols as string[], rows: rows as Record<string, ReportValue>[], nextCursor: typeof nextCursor === 'string' ? nextCursor : null };
}
