/**
 * The admin CLI's GET for answers that are not JSON (a CSV report) or that are to be printed
 * as the server sent them. Failures are the same as callServer's: the server's
 * `{"error":{"code","message"}}` becomes an AscendError with that code.
 */
import { AscendError } from '../../errors.js';
import { jsonOf, refusalOf } from '../../collector-api/transport.js';
import { REPORT_NEXT_HEADER } from '../../collector-api/reports.js';
import { apiUrl, type ClientTrustOptions, clientTrust, exchange } from './client.js';

export interface TextAnswer {
  status: number;
  /** The Content-Type header, '' when absent. */
  contentType: string;
  text: string;
  /** A paged report's next cursor (header ascend-next-cursor), '' when it is the last page. */
  nextCursor: string;
}

/** A report is read up to this size (the transport's default is for API answers). */
const MAX_REPORT_BYTES = 512 * 1024 * 1024;

export async function callServerText(server: string, token: string, path: string, accept = '*/*', trustOptions: ClientTrustOptions = {}): Promise<TextAnswer> {
  const url = apiUrl(server, path);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AscendError('ASC_USAGE', `--server must be an https:// URL: ${server}`);
  const res = await exchange(url, clientTrust(url, trustOptions), { method: 'GET', headers: { authorization: `Bearer ${token}`, accept }, timeoutMs: 60_000, maxBytes: MAX_REPORT_BYTES });
  const text = res.body.toString('utf8');
  const contentType = typeof res.headers['content-type'] === 'string' ? res.headers['content-type'] : '';
  if (res.status < 200 || res.status > 299) {
    throw refusalOf(res.status, jsonOf(res.body), 'the server') ?? new AscendError('ASC_COLLECTOR_UNREACHABLE', `${url.origin} answered HTTP ${res.status} without the server's JSON error`);
  }
  const next = res.headers[REPORT_NEXT_HEADER];
  // Only a cursor's own characters: the CLI prints it for the next command line.
  const nextCursor = typeof next === 'string' && /^[A-Za-z0-9_.-]{1,1024}$/.test(next) ? next : '';
  return { status: res.status, contentType, text, nextCursor };
}
