/**
 * How agent and CLI talk to the collector (issue 13): HTTPS verified against one certificate
 * authority (the anchor pinned at enrollment, or a CA file the admin names), or against the
 * system's CAs; plain HTTP only when the caller explicitly chose an insecure development mode.
 * Answers are read up to a size limit and within a deadline: the other end is not trusted to
 * be quick or small.
 *
 * Part of the contract between agent, collector and CLI (DESIGN section 2): an edge adapter
 * over node:http and node:https, with no knowledge of routes.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { AscendError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { escapeControlChars } from '../log-line.js';
import { pinOfCertificate, singleCertificate } from './pin.js';

// node:http through require, not `import`: an ES import of it reads every export, and its lazy
// WebSocket, MessageEvent and CloseEvent load Node's bundled undici (a 750 KB source compiled and
// kept): 8 MB more of the agent's resident memory, for classes nothing here uses (issue 16).
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export type Trust =
  /** Only this CA (PEM); the system CAs are not consulted. */
  | { kind: 'ca'; ca: string }
  /** The system's CAs (an admin CLI pointed at a collector with a public certificate). */
  | { kind: 'system' }
  /** Plain http allowed (and https unverified): development only, the caller says so loudly. */
  | { kind: 'insecure' };

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SendOptions {
  method: 'GET' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  body?: string | Buffer;
  trust: Trust;
  /** Whole exchange, connect to last byte (default 30 s). */
  timeoutMs?: number;
  /** Largest answer read (default 8 MiB). */
  maxBytes?: number;
}

const TLS_TRUST_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

const agents = new Map<string, https.Agent>();

/** One keep-alive agent per CA, so verified connections are reused and never mixed. */
function httpsAgent(trust: Trust): https.Agent {
  // Keyed by the whole CA text (a bundle may hold several): connections verified against one set are never reused for another.
  const key = trust.kind === 'ca' ? `ca:${createHash('sha256').update(trust.ca).digest('base64url')}` : trust.kind;
  let a = agents.get(key);
  if (a === undefined) {
    a = new https.Agent({
      keepAlive: true,
      maxSockets: 8,
      minVersion: 'TLSv1.2',
      ...(trust.kind === 'ca' ? { ca: trust.ca } : {}),
      rejectUnauthorized: trust.kind !== 'insecure',
    });
    agents.set(key, a);
  }
  return a;
}

/** Closes idle kept-alive connections (at shutdown). */
export function closeIdleConnections(): void {
  for (const a of agents.values()) a.destroy();
  agents.clear();
}

export async function send(url: URL, opts: SendOptions): Promise<HttpAnswer> {
  if (url.protocol === 'http:' && opts.trust.kind !== 'insecure') {
    throw new AscendError('ASC_COLLECTOR_UNTRUSTED', `refusing plain http to ${url.origin}: the collector must be reached over https (plain http only in an explicit insecure development mode)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AscendError('ASC_USAGE', `${url.origin} is not an http(s) URL`);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxBytes = opts.maxBytes ?? 8 * 1024 * 1024;
  const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
  const headers: Record<string, string> = { ...opts.headers, ...(body === undefined ? {} : { 'content-length': String(body.length) }) };
  return new Promise<HttpAnswer>((resolve, reject) => {
    let settled = false;
    const finish = (e: Error | undefined, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) {
        req.destroy();
        reject(e);
      } else resolve(answer as HttpAnswer);
    };
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(
      url,
      { method: opts.method, headers, ...(url.protocol === 'https:' ? { agent: httpsAgent(opts.trust) } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) finish(new AscendError('ASC_COLLECTOR_UNREACHABLE', `${url.origin} answered with more than ${maxBytes} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (e) => finish(unreachable(url, e)));
      },
    );
    const timer = setTimeout(() => finish(new AscendError('ASC_COLLECTOR_UNREACHABLE', `cannot reach the collector ${url.origin}: no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    req.on('error', (e) => finish(unreachable(url, e)));
    req.end(body);
  });
}

function unreachable(url: URL, e: Error & { code?: string }): AscendError {
  if (e.code !== undefined && TLS_TRUST_ERRORS.has(e.code)) {
    return new AscendError('ASC_COLLECTOR_UNTRUSTED', `the server at ${url.origin} is not the trusted collector: its certificate failed verification (${e.code})`);
  }
  return new AscendError('ASC_COLLECTOR_UNREACHABLE', `cannot reach the collector ${url.origin}: ${e.message}`);
}

/**
 * The anchor a collector offers (GET /api/v1/tls/anchor), accepted only when its pin is the
 * one the enrollment token carries. This one request is made without verifying the server
 * (there is nothing yet to verify it against) and carries no secret; what it returns is
 * trusted only because its SHA-256 is the pin.
 */
export async function fetchPinnedAnchor(base: URL, pin: string, timeoutMs = 30_000): Promise<string> {
  if (base.protocol !== 'https:') throw new AscendError('ASC_COLLECTOR_UNTRUSTED', `the collector URL ${base.origin} is not https; a pinned collector is reached over https`);
  const res = await send(new URL('api/v1/tls/anchor', base), { method: 'GET', trust: { kind: 'insecure' }, timeoutMs, maxBytes: 64 * 1024 });
  let anchor: unknown;
  try {
    anchor = (JSON.parse(res.body.toString('utf8')) as { anchor?: unknown }).anchor;
  } catch {
    anchor = undefined;
  }
  if (res.status !== 200 || typeof anchor !== 'string') throw new AscendError('ASC_COLLECTOR_UNTRUSTED', `${base.origin} offered no certificate authority (HTTP ${res.status}); is it an Ascend collector?`);
  const single = singleCertificate(anchor);
  if (pinOfCertificate(single) !== pin) {
    throw new AscendError('ASC_COLLECTOR_UNTRUSTED', `the server at ${base.origin} offered a certificate authority whose fingerprint is not the one in the enrollment token: it is not that collector`);
  }
  return single;
}

/** localhost, 127.0.0.0/8 and ::1: addresses that never leave the machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}

/** The body as JSON, or undefined when it is not JSON. */
export function jsonOf(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The collector's refusal (`{ "error": { "code", "message" } }`) as an AscendError: its code when
 * the catalogue knows it (else ASC_COLLECTOR_UNREACHABLE), its message cut to 500 characters with
 * control characters escaped (the other end is not trusted to write to a terminal or a log), named
 * as `refuser` ("the collector", "the server"). Undefined when the body holds no such object.
 */
export function refusalOf(status: number, json: unknown, refuser: string): AscendError | undefined {
  const err = json !== null && typeof json === 'object' ? (json as { error?: unknown }).error : undefined;
  if (err === null || typeof err !== 'object') return undefined;
  const { code, message } = err as { code?: unknown; message?: unknown };
  const known: ErrorCode = typeof code === 'string' && Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : 'ASC_COLLECTOR_UNREACHABLE';
  const text = typeof message === 'string' ? escapeControlChars(message.slice(0, 500)) : 'no message';
  return new AscendError(known, `${refuser} refused (HTTP ${status}): ${text}`);
}
