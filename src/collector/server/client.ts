/**
 * The admin CLI's side of the API: `--server URL --token-file F`, over HTTPS verified against
 * `--ca-file` (or $ASCEND_CA_FILE) or the system's CAs; plain http:// only with an explicit
 * `--insecure-http` (or ASCEND_INSECURE_HTTP=1).
 */
import { readFileSync } from 'node:fs';
import { AscendError, isAscendError } from '../../errors.js';
import { type HttpAnswer, jsonOf, refusalOf, send, type Trust } from '../../collector-api/transport.js';

export const CA_FILE_ENV = 'ASCEND_CA_FILE';
export const INSECURE_HTTP_ENV = 'ASCEND_INSECURE_HTTP';

/** How the CLI trusts the collector: `--ca-file` and `--insecure-http`; each falls back to its environment variable. */
export interface ClientTrustOptions {
  caFile?: string | undefined;
  insecureHttp?: boolean | undefined;
}

const MAX_CA_FILE_BYTES = 1024 * 1024;
let warnedInsecure = false;

function readCaFile(file: string): string {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_CA_FILE_BYTES) throw new AscendError('ASC_FILE_UNREADABLE', `the CA file ${file} is larger than ${MAX_CA_FILE_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (e) {
    if (isAscendError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'ASC_FILE_NOT_FOUND' : 'ASC_FILE_UNREADABLE';
    throw new AscendError(code, `cannot read the CA file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(text)) throw new AscendError('ASC_USAGE', `the CA file ${file} holds no PEM certificate`);
  return text;
}

/**
 * The trust for one collector URL: https is verified against the CA file, else the system's
 * CAs (never unverified, even with --insecure-http); http is refused unless insecure HTTP was
 * asked for explicitly, which is said once on stderr.
 */
export function clientTrust(url: URL, opts: ClientTrustOptions = {}): Trust {
  if (url.protocol === 'http:') {
    const insecure = opts.insecureHttp === true || process.env[INSECURE_HTTP_ENV] === '1';
    if (!insecure) {
      throw new AscendError('ASC_COLLECTOR_INSECURE_REFUSED', `refusing plain http to ${url.origin}: the collector is reached over https`, {
        hint: `use the https:// URL that "ascend server start" prints; only for a development collector, pass --insecure-http or set ${INSECURE_HTTP_ENV}=1`,
      });
    }
    if (!warnedInsecure) {
      warnedInsecure = true;
      process.stderr.write(`Warning: talking to ${url.origin} over plain HTTP (--insecure-http): the collector is not authenticated and the token crosses unencrypted\n`);
    }
    return { kind: 'insecure' };
  }
  if (url.protocol !== 'https:') throw new AscendError('ASC_USAGE', `--server must be an https:// URL: ${url.origin}`);
  const env = process.env[CA_FILE_ENV];
  const caFile = opts.caFile ?? (env !== undefined && env.trim() !== '' ? env : undefined);
  return caFile === undefined ? { kind: 'system' } : { kind: 'ca', ca: readCaFile(caFile) };
}

/** The collector's URL for an API path; a usage error names --server. */
export function apiUrl(server: string, path: string): URL {
  try {
    return new URL(path, server.endsWith('/') ? server : `${server}/`);
  } catch {
    throw new AscendError('ASC_USAGE', `--server is not a URL: ${server}`);
  }
}

/**
 * One exchange with the collector through the transport: a certificate that fails
 * verification gets the next step (the CA file); other failures keep their code.
 */
export async function exchange(url: URL, trust: Trust, init: { method: 'GET' | 'POST' | 'DELETE'; headers: Record<string, string>; body?: string; timeoutMs: number; maxBytes?: number }): Promise<HttpAnswer> {
  try {
    return await send(url, {
      method: init.method,
      headers: init.headers,
      trust,
      timeoutMs: init.timeoutMs,
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(init.maxBytes === undefined ? {} : { maxBytes: init.maxBytes }),
    });
  } catch (e) {
    if (isAscendError(e) && e.code === 'ASC_COLLECTOR_UNTRUSTED' && e.hint === undefined) {
      throw new AscendError(e.code, e.message, {
        hint: `pass --ca-file DATA/tls/ca.pem, the collector's certificate authority that "ascend server start" prints, or set ${CA_FILE_ENV}`,
        cause: e,
      });
    }
    throw e;
  }
}

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
export async function callServer<T>(
  server: string,
  token: string | undefined,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  trustOptions: ClientTrustOptions = {},
): Promise<T> {
  const url = apiUrl(server, path);
  const trust = clientTrust(url, trustOptions);
  const res = await exchange(url, trust, {
    method,
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    timeoutMs: 30_000,
  });
  const json = jsonOf(res.body);
  if (res.status < 200 || res.status > 299) throw refusalOf(res.status, json, 'the server') ?? new AscendError('ASC_COLLECTOR_UNREACHABLE', `${url.origin} answered HTTP ${res.status} without JSON`);
  if (json === undefined) throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `${url.origin} answered HTTP ${res.status} without JSON`);
  return json as T;
}
