import { Args, Flags } from '@oclif/core';
import { AscendError } from '../../errors.js';
import { AscendCommand } from '../base-command.js';
import { serverFlags, serverToken, trustOptions } from '../server-command.js';
import { callServerText } from '../../collector/server/client-text.js';
import { renderTable, terminalSafe } from '../table.js';

// One list of report names, one set of columns and labels: the contract's (the server and the web page use the same).
import { COLUMN_LABELS, REPORT_NAMES, REPORT_PAGE_MAX, type ReportCell, type ReportName } from '../../collector-api/reports.js';
export { COLUMN_LABELS, REPORT_NAMES, type ReportName };

// The report's JSON as the server sends it, checked (rules suggest reads it too).
import { parseReportJson, type ReportResult, type ReportValue } from '../shared/report-json.js';
export { parseReportJson, type ReportResult, type ReportValue };

// --from/--to: the strict time parser the server commands share.
import { parseReportTime } from '../shared/time-flags.js';

export default class Report extends AscendCommand<ReportResult | undefined> {
  static override summary = 'Print a report from the collector: TSE usage, elevations, denied elevations, approval requests, or what users ran with sudo (discovery).';
  static override description =
    'Needs an API token of the viewer role or above, read from --token-file (or the file named by ASCEND_TOKEN_FILE). ' +
    '--format table (the default) prints aligned columns with long cells cut; json and csv print what the server sent, as it sent it. ' +
    '--json prints the typed result {report, columns, rows} whatever --format says. ' +
    '--from and --to take an ISO 8601 time, milliseconds, or a duration back from now (30m, 24h, 7d); --to is exclusive. ' +
    'Reports are paged: table and json print one page (--limit rows, the server\'s default 1000) and, when more remain, ' +
    'the cursor of the next (table: a last line "(more: --cursor C)"; json: "nextCursor"); --cursor C prints that page; ' +
    '--all follows every cursor. csv prints the whole report as the server streams it, or one page with --limit ' +
    '(the next cursor then on stderr). Discovery (agents with the Discovery policy report what users run with sudo): discovery lists every run; ' +
    'discovery-programs counts them by program (what runs), discovery-users by program and user (who), discovery-computers by program and computer ' +
    '(where), each with runs, users, computers, first and last seen, and how many runs the rules the agent had at the time would have allowed ' +
    '(wouldAllow, coveredPercent); --passcode does not apply to them.';
  static override examples = [
    '<%= config.bin %> report tse-usage --server https://127.0.0.1:8003 --ca-file ascend-data/tls/ca.pem --token-file ascend-data/bootstrap-admin-token --from 7d',
    '<%= config.bin %> report denied --server https://collector.corp.example --computer PC-042 --format csv > denied.csv',
    'ASCEND_TOKEN_FILE=~/.ascend-viewer <%= config.bin %> report approvals --server https://collector.corp.example --json',
    '<%= config.bin %> report discovery-programs --server https://collector.corp.example --from 30d',
  ];
  static override args = {
    name: Args.string({ description: 'the report', required: true, options: [...REPORT_NAMES] }),
  };
  static override flags = {
    ...serverFlags,
    format: Flags.string({ description: 'output: aligned text, or the server\'s JSON or CSV', options: ['table', 'json', 'csv'], default: 'table' }),
    from: Flags.string({ description: 'from this time on (inclusive)' }),
    to: Flags.string({ description: 'before this time (exclusive)' }),
    computer: Flags.string({ description: 'only this computer' }),
    user: Flags.string({ description: 'only this user (DOMAIN\\name as the agent reports it)' }),
    passcode: Flags.string({ description: 'only this passcode id' }),
    'max-width': Flags.integer({ description: 'table: longest cell, in characters', default: 40, min: 4 }),
    limit: Flags.integer({ description: `rows per page (at most ${REPORT_PAGE_MAX})`, min: 1, max: REPORT_PAGE_MAX }),
    cursor: Flags.string({ description: 'the page that starts here (a cursor a previous page printed)' }),
    all: Flags.boolean({ description: 'every page, following the cursors', default: false }),
  };

  async run(): Promise<ReportResult | undefined> {
    const { args, flags } = await this.parse(Report);
    const name = args.name as ReportName;
    const token = serverToken(flags);

    // --json always takes the JSON answer: the typed result.
    const format = this.jsonEnabled() ? 'json' : (flags.format as 'table' | 'json' | 'csv');
    const query = new URLSearchParams();
    if (flags.from !== undefined) query.set('from', parseReportTime(flags.from, '--from'));
    if (flags.to !== undefined) query.set('to', parseReportTime(flags.to, '--to'));
    if (flags.computer !== undefined) query.set('computer', flags.computer);
    if (flags.user !== undefined) query.set('user', flags.user);
    if (flags.passcode !== undefined) query.set('passcode', flags.passcode);
    query.set('format', format === 'csv' ? 'csv' : 'json');
    if (flags.cursor !== undefined) {
      if (!/^[A-Za-z0-9_.-]{1,1024}$/.test(flags.cursor)) throw new AscendError('ASC_USAGE', '--cursor is not a cursor a report page printed');
      query.set('cursor', flags.cursor);
    }
    // csv streams the whole report unless --limit asks for one page; --all pages json/table at the largest size.
    const limit = flags.limit ?? (flags.all && format !== 'csv' ? REPORT_PAGE_MAX : undefined);
    if (limit !== undefined && !(format === 'csv' && flags.all)) query.set('limit', String(limit));
    const path = (q: URLSearchParams): string => `api/v1/reports/${encodeURIComponent(name)}?${q.toString()}`;
    const get = (q: URLSearchParams) => callServerText(flags.server, token, path(q), format === 'csv' ? 'text/csv' : 'application/json', trustOptions(flags));

    const answer = await get(query);
    const origin = new URL(flags.server).origin;
    if (format === 'csv') {
      if (!/^text\/csv\b/i.test(answer.contentType)) throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `${origin} did not answer with CSV (Content-Type: ${answer.contentType || 'none'})`);
      // Redirected to a file it is the server's CSV byte for byte; on a terminal, control characters are shown escaped.
      process.stdout.write(process.stdout.isTTY ? terminalSafe(answer.text) : answer.text);
      if (answer.nextCursor !== '') process.stderr.write(`more rows: --cursor ${answer.nextCursor}\n`);
      return undefined;
    }
    const result = parseReportJson(answer.text, name, origin);
    if (flags.all) {
      // Follow every cursor; a cursor seen twice means a server that does not advance.
      const seen = new Set<string>();
      while (result.nextCursor !== null) {
        if (seen.has(result.nextCursor)) throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `${origin} gave the same report cursor twice`);
        seen.add(result.nextCursor);
        query.set('cursor', result.nextCursor);
        const page = parseReportJson((await get(query)).text, name, origin);
        for (const r of page.rows) result.rows.push(r);
        result.nextCursor = page.nextCursor;
      }
    }
    if (format === 'json') {
      if (this.jsonEnabled()) return result;
      if (flags.all) process.stdout.write(`${JSON.stringify({ report: result.report, columns: result.columns, rows: result.rows, nextCursor: null })}\n`);
      else process.stdout.write(answer.text.endsWith('\n') ? answer.text : `${answer.text}\n`);
    } else {
      this.say(renderTable(result.columns, result.rows, { labels: COLUMN_LABELS, maxCellWidth: flags['max-width'] }));
      if (result.rows.length > 0) this.say(`(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`);
      if (result.nextCursor !== null) this.say(`(more: --cursor ${result.nextCursor})`);
    }
    return result;
  }
}
