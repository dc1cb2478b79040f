/**
 * TLS for tests that build a collector in-process (buildServer): the collector identity of a
 * data folder (its generated CA in DATA/tls/), and a small fetch that trusts only that CA,
 * as the agent and the admin CLI do. Node's global fetch cannot be given a CA.
 */
import { join } from 'node:path';
import { loadOrCreateIdentity } from '../../src/collector/server/identity.js';
import { send } from '../../src/collector-api/transport.js';
import type { ServerOptions } from '../../src/collector/server/index.js';

export interface CaFetchAnswer {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export type CaFetch = (url: string | URL, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<CaFetchAnswer>;

/** A fetch over https verified against `ca` only (no system CAs). */
export function caFetch(ca: string): CaFetch {
  return async (url, init = {}) => {
    const method = (init.method ?? 'GET').toUpperCase() as 'GET' | 'POST' | 'DELETE';
    const res = await send(new URL(url), { method, trust: { kind: 'ca', ca }, ...(init.headers ? { headers: init.headers } : {}), ...(init.body === undefined ? {} : { body: init.body }) });
    const text = res.body.toString('utf8');
    return {
      status: res.status,
      ok: res.status >= 200 && res.status <= 299,
      headers: {
        get: (name) => {
          const v = res.headers[name.toLowerCase()];
          return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
        },
      },
      text: async () => text,
      json: async () => JSON.parse(text) as unknown,
    };
  };
}

export interface TestTls {
  /** DATA/tls/ca.pem: give it to the CLI as --ca-file or ASCEND_CA_FILE. */
  caFile: string;
  ca: string;
  /** For buildServer: the https certificate and the identity (anchor and grant key). */
  serverOptions: Pick<ServerOptions, 'https' | 'identity'>;
  fetch: CaFetch;
}

/** The collector identity of `dataDir` (made on first use, as `ascend server start` makes it). */
export async function testTls(dataDir: string): Promise<TestTls> {
  const id = await loadOrCreateIdentity(dataDir, { host: '127.0.0.1' });
  return {
    caFile: join(dataDir, 'tls', 'ca.pem'),
    ca: id.anchor,
    serverOptions: { https: id.https, identity: { anchor: id.anchor, grantKey: id.grantKey } },
    fetch: caFetch(id.anchor),
  };
}
