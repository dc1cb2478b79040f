/**
 * The admin CLI's GET for answers that are not JSON (a CSV report) or that are to be printed
 * as the server sent them. Failures are the same as callServer's: the server's
 * `{"error":{"code","message"}}` becomes an AscendError with that code.
 */
import { AscendError, ERROR_CODES, type ErrorCode } from '../../errors.js';

export interface TextAnswer {
  status: number;
  /** The Content-Type header, '' when absent. */
  contentType: string;
  text: string;
}

export async function callServerText(server: string, token: string, path: string, accept = '*/*'): Promise<TextAnswer> {
  let url: URL;
  try {
    url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  } catch {
    throw new AscendError('ASC_USAGE', `--server is not a URL: ${server}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AscendError('ASC_USAGE', `--server must be an http:// or https:// URL: ${server}`);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: 'GET', headers: { authorization: `Bearer ${token}`, accept }, signal: AbortSignal.timeout(60_000) });
    text = await res.text();
  } catch (e) {
    const cause = (e as Error & { cause?: Error }).cause;
    throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `cannot reach ${url.origin}: ${cause?.message ?? (e as Error).message}`);
  }
  const contentType = res.headers.get('content-type') ?? '';
  if (!res.ok) {
    let err: { code?: unknown; message?: unknown } | undefined;
    try {
      err = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    } catch {
      err = undefined;
    }
    if (err === undefined || typeof err !== 'object' || err === null) throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `${url.origin} answered HTTP ${res.status} without the server's JSON error`);
    const code: ErrorCode = typeof err.code === 'string' && err.code in ERROR_CODES ? (err.code as ErrorCode) : 'ASC_COLLECTOR_UNREACHABLE';
    throw new AscendError(code, `the server refused (HTTP ${res.status}): ${typeof err.message === 'string' ? err.message : 'no message'}`);
  }
  return { status: res.status, contentType, text };
}
