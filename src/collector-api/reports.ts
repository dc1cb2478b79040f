/**
 * The collector's reports (GET /api/v1/reports/:name): their names, their columns in order,
 * and the labels people read. The server shapes its rows by REPORT_COLUMNS; the CLI's table
 * and the web page both label them with COLUMN_LABELS, so a column added here shows the same
 * everywhere.
 *
 * Adding a report column: add it to the report's list here and its label to COLUMN_LABELS,
 * then give the storage's report row the field (src/collector/storage).
 *
 * Part of the contract between agent, collector and CLI (DESIGN section 2): no I/O.
 */

/** A report's name in GET /api/v1/reports/:name. */
export const REPORT_NAMES = ['tse-usage', 'elevations', 'denied', 'approvals', 'discovery', 'discovery-programs', 'discovery-users', 'discovery-computers'] as const;
export type ReportName = (typeof REPORT_NAMES)[number];

/** What a person calls each report (the web page's choice list). */
export const REPORT_TITLES: Readonly<Record<ReportName, string>> = {
  'tse-usage': 'TSE usage',
  elevations: 'Elevations',
  denied: 'Denied elevations',
  approvals: 'Approval requests',
  discovery: 'Discovery: every command run with sudo',
  'discovery-programs': 'Discovery by program',
  'discovery-users': 'Discovery by program and user',
  'discovery-computers': 'Discovery by program and computer',
};

/**
 * Discovery (issue 19): `discovery` lists every elevation-discovered event (who ran what,
 * where, when, and what the agent judged the rules it had would have decided); the grouped
 * reports count them by program (what runs), by program and user (who), and by program and
 * computer (where). `wouldAllow` counts the runs the agent judged `would-allow` with the rules
 * it had at the time (not the rules of today); `coveredPercent` is their share of `runs`.
 */
export const DISCOVERY_REPORTS = ['discovery', 'discovery-programs', 'discovery-users', 'discovery-computers'] as const;
/** The counts every grouped discovery report gives after its group columns. */
export const DISCOVERY_GROUP_COUNTS = ['runs', 'users', 'computers', 'firstSeen', 'lastSeen', 'wouldAllow', 'wouldDeny', 'noRule', 'coveredPercent'] as const;

/** Each report's columns, in the order the JSON lists them and the CSV and the table show them. */
export const REPORT_COLUMNS: Readonly<Record<ReportName, readonly string[]>> = {
  'tse-usage': ['time', 'computer', 'user', 'passcodeId', 'passcodeTitle', 'processPath', 'args', 'elevatedBy', 'sessionId', 'sessionStart', 'sessionEnd', 'endedByExpiry', 'agentId', 'eventId'],
  elevations: ['time', 'computer', 'user', 'processPath', 'args', 'elevatedBy', 'rule', 'controls', 'passcodeId', 'sessionId', 'agentId', 'eventId'],
  denied: ['time', 'computer', 'user', 'processPath', 'args', 'rule', 'reason', 'agentId', 'eventId'],
  approvals: ['createdAt', 'computer', 'user', 'processPath', 'args', 'justification', 'status', 'decidedAt', 'decidedBy', 'timeLimitSeconds', 'usedAt', 'id'],
  discovery: ['time', 'computer', 'user', 'runAs', 'processPath', 'args', 'cwd', 'result', 'rule', 'controls', 'publisher', 'sha256', 'source', 'agentId', 'eventId'],
  'discovery-programs': ['processPath', ...DISCOVERY_GROUP_COUNTS],
  'discovery-users': ['processPath', 'user', ...DISCOVERY_GROUP_COUNTS],
  'discovery-computers': ['processPath', 'computer', ...DISCOVERY_GROUP_COUNTS],
};

/** The columns that hold a time (sent as ISO 8601). */
export const TIME_COLUMNS: ReadonlySet<string> = new Set(['time', 'sessionStart', 'sessionEnd', 'createdAt', 'decidedAt', 'usedAt', 'firstSeen', 'lastSeen']);

/** Header labels of the table (CLI) and the page (web); a column not listed shows its key. */
export const COLUMN_LABELS: Readonly<Record<string, string>> = {
  time: 'Time',
  createdAt: 'Requested',
  computer: 'Computer',
  user: 'User',
  passcodeId: 'Passcode',
  passcodeTitle: 'Passcode title',
  processPath: 'Process',
  args: 'Arguments',
  elevatedBy: 'Elevated by',
  rule: 'Rule',
  controls: 'Controls',
  reason: 'Reason',
  justification: 'Justification',
  status: 'Status',
  decidedAt: 'Decided',
  decidedBy: 'Decided by',
  timeLimitSeconds: 'Time limit (s)',
  usedAt: 'Used',
  sessionId: 'Session',
  sessionStart: 'Session start',
  sessionEnd: 'Session end',
  endedByExpiry: 'Expired',
  agentId: 'Agent',
  eventId: 'Event',
  id: 'Id',
  runAs: 'Run as',
  cwd: 'Folder',
  result: 'Current rules',
  publisher: 'Publisher',
  sha256: 'SHA-256',
  source: 'Source',
  runs: 'Runs',
  users: 'Users',
  computers: 'Computers',
  firstSeen: 'First seen',
  lastSeen: 'Last seen',
  wouldAllow: 'Would allow',
  wouldDeny: 'Would deny',
  noRule: 'No rule',
  coveredPercent: 'Covered (%)',
};

/** The label of a column: its COLUMN_LABELS entry, else its key. */
export function columnLabel(column: string): string {
  return Object.prototype.hasOwnProperty.call(COLUMN_LABELS, column) ? (COLUMN_LABELS[column] as string) : column;
}

export type ReportCell = string | number | boolean | null;

/**
 * A report as JSON (format=json): its name, its columns, one object per row with exactly
 * those keys, and where the next page starts. `nextCursor` is null on the last page; else
 * pass it back as `cursor` (with the same filters) for the rows after these.
 */
export interface Report {
  report: ReportName;
  columns: readonly string[];
  rows: Record<string, ReportCell>[];
  nextCursor: string | null;
}

/**
 * Paging (issue 18). JSON answers carry at most `limit` rows (default REPORT_PAGE_ROWS, at
 * most REPORT_PAGE_MAX) and `nextCursor`. CSV without `limit` streams every row; with `limit`
 * it stops there and, when rows remain, names the next page in the REPORT_NEXT_HEADER header
 * (the cursor) and a `Link: <...>; rel="next"` header. A cursor is opaque, bound to its report
 * and filters, and signed by the collector; any other is refused (400, ASC_COLLECTOR_BAD_INPUT).
 */
export const REPORT_PAGE_ROWS = 1000;
export const REPORT_PAGE_MAX = 10_000;
export const REPORT_NEXT_HEADER = 'ascend-next-cursor';
/** The longest cursor the collector gives out (the query schema refuses longer ones). */
export const REPORT_CURSOR_MAX = 1024;

export function isReportName(name: unknown): name is ReportName {
  return typeof name === 'string' && (REPORT_NAMES as readonly string[]).includes(name);
}

/**
 * The admin lists are paged the same way (issue 18): GET /api/v1/agents, /api/v1/tokens,
 * /api/v1/passcodes, /api/v1/webhooks and /api/v1/approvals (oldest first) and
 * /api/v1/webhooks/deliveries (newest first; LIST_DELIVERIES_ROWS when no limit is named)
 * take `limit` and `cursor`; their answer carries `nextCursor` (null on the last page) and,
 * when more follow, the REPORT_NEXT_HEADER and `Link: <...>; rel="next"` headers. Each cursor
 * is bound to its list and filters (a deliveries cursor to its webhook and status).
 */
export const PAGED_LISTS = ['agents', 'tokens', 'passcodes', 'webhooks', 'webhooks/deliveries', 'approvals'] as const;
export type PagedList = (typeof PAGED_LISTS)[number];
export const LIST_DELIVERIES_ROWS = 100;

/** What every page of a list carries besides its rows. */
export interface ListPageAnswer {
  nextCursor: string | null;
}

/** A cursor as the collector gives them out (what a client accepts from an answer or a user). */
export const CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,1000}\.[A-Za-z0-9_-]{22}$/;
