/**
 * One delivery attempt: POST the body to the webhook's URL, connecting only to addresses
 * target.ts allows (checked in the lookup the socket uses, so what was checked is what is
 * dialled), following no redirect, with an overall time-out and a cap on what is read back.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { refusedAddress } from './target.js';

export interface SendResult {
  ok: boolean;
  /** HTTP status, when one came back. */
  status?: number;
  /** Why it failed, one line for the deliveries view (no secret in it). */
  error?: string;
  /** Ended by SendOptions.signal: not the receiver's failure. */
  aborted?: boolean;
}

export interface SendOptions {
  timeoutMs: number;
  /** Bytes of the answer read at most; the rest is not waited for. */
  maxResponseBytes: number;
  /** Extra CA certificates to trust (tests); default: the system's. */
  ca?: string | Buffer;
  /** Ends the attempt at once (the collector is stopping): the result has aborted set. */
  signal?: AbortSignal;
  /** The resolver (tests give one that answers what DNS would); default dns.lookup. */
  resolve?: Resolver;
}

export type Resolver = (hostname: string, cb: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, cb) => dnsLookup(hostname, { all: true, verbatim: true }, cb);

function guardedLookup(protocol: 'http:' | 'https:', resolve: Resolver): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
    resolve(hostname, (err, addresses) => {
      if (err) return callback(err);
      // Fail closed: one refused answer refuses the name (a resolver mixing in a metadata address is hostile).
      for (const a of addresses) {
        const why = refusedAddress(a.address, protocol);
        if (why !== null) return callback(Object.assign(new Error(`${hostname} resolves to a refused address: ${why}`), { code: 'EWEBHOOKADDR' }));
      }
      const first = addresses[0];
      if (first === undefined) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }));
      if (options?.all) return callback(null, addresses);
      return callback(null, first.address, first.family);
    });
  }) as unknown as LookupFunction;
}

function oneLine(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 300);
}

export function sendWebhook(url: string, body: string, headers: Record<string, string>, opts: SendOptions): Promise<SendResult> {
  return new Promise<SendResult>((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return resolve({ ok: false, error: 'the URL does not parse' });
    }
    const protocol = u.protocol === 'https:' ? 'https:' : u.protocol === 'http:' ? 'http:' : undefined;
    if (protocol === undefined) return resolve({ ok: false, error: `protocol ${u.protocol} is not allowed` });
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const why = refusedAddress(host, protocol);
      if (why !== null) return resolve({ ok: false, error: why });
    }
    let settled = false;
    const done = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const mod = protocol === 'https:' ? https : http;
    const req = mod.request(
      u,
      {
        method: 'POST',
        agent: false,
        lookup: guardedLookup(protocol, opts.resolve ?? systemResolver),
        headers: { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Ascend-Webhook/1' },
        ...(protocol === 'https:' && opts.ca !== undefined ? { ca: opts.ca } : {}),
        maxHeaderSize: 16 * 1024,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          // Enough: the status decides, and a receiver that streams forever costs nothing more.
          if (read > opts.maxResponseBytes) finish();
        });
        const finish = () => {
          if (status >= 200 && status < 300) done({ ok: true, status });
          else if (status >= 300 && status < 400) done({ ok: false, status, error: `the receiver answered ${status} (a redirect; redirects are not followed)` });
          else done({ ok: false, status, error: `the receiver answered ${status}` });
        };
        res.on('end', finish);
        res.on('error', (e) => done({ ok: false, status, error: oneLine(e.message) }));
      },
    );
    const timer = setTimeout(() => done({ ok: false, error: `no answer within ${opts.timeoutMs} ms` }), opts.timeoutMs);
    req.on('error', (e: Error & { code?: string }) => done({ ok: false, error: oneLine(e.code === 'EWEBHOOKADDR' ? e.message : `${e.code ?? 'error'}: ${e.message}`) }));
    const onAbort = () => done({ ok: false, aborted: true, error: 'the collector stopped during the attempt' });
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => opts.signal?.removeEventListener('abort', onAbort));
    req.end(body);
  });
}
