/** The admin CLI's side of the API: `--server URL --token-file F`. */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { AscendError, ERROR_CODES, type ErrorCode } from '../../errors.js';

export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'ASC_FILE_NOT_FOUND' : 'ASC_FILE_UNREADABLE';
    throw new AscendError(code, `cannot read the token file ${file}: ${(e as Error).message}`);
  }
  const token = text.trim();
  if (token === '' || /\s/.test(token)) throw new AscendError('ASC_USAGE', `the token file ${file} does not hold one token`);
  return token;
}

/** `token` undefined: no Authorization header (sign-in). */
export async function callServer<T>(server: string, token: string | undefined, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let url: URL;
  try {
    url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  } catch {
    throw new AscendError('ASC_USAGE', `--server is not a URL: ${server}`);
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    const cause = (e as Error & { cause?: Error }).cause;
    throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `cannot reach ${url.origin}: ${cause?.message ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `${url.origin} answered HTTP ${res.status} without JSON`);
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } }).error;
    const code: ErrorCode = err?.code !== undefined && err.code in ERROR_CODES ? (err.code as ErrorCode) : 'ASC_COLLECTOR_UNREACHABLE';
    throw new AscendError(code, `the server refused (HTTP ${res.status}): ${err?.message ?? 'no message'}`);
  }
  return json as T;
}

/** localhost, 127.0.0.0/8 and ::1: addresses that never leave the machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}
