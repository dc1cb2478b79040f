/**
 * Slow and many clients (issue 13): bounds on how long a request may take to arrive and on
 * how many connections the collector holds, with a reserve for those who authenticated.
 *
 * - Time: the request head must arrive within headersTimeoutMs and the whole request (head
 *   and body) within requestTimeoutMs, counted from its first byte (node's http server closes
 *   the connection with 408); a TLS handshake within headersTimeoutMs. Once a request has
 *   arrived the answer may take its time, so an agent's long-poll is not cut. Idle keep-alive
 *   connections close after keepAliveTimeoutMs, a connection after maxRequestsPerSocket
 *   requests, a connection that moves no byte for socketIdleTimeoutMs (a slow reader).
 * - Count: at most maxConnections, of which at most maxPerAddress unprotected ones per client
 *   address (IPv6: per /64). A connection becomes protected once an agent credential or an API
 *   token has authenticated on it (at most maxProtectedPerCredential per credential, so one
 *   stolen credential can not pin the whole table). A new connection over a limit evicts the
 *   oldest unprotected connection that is not being answered (of its address, or of all), and
 *   is refused when there is none: an unauthenticated flood only ever displaces itself.
 *
 * ConnectionTable is the pure accounting (no sockets, no clock of its own); guardConnections
 * is the adapter that feeds it the server's sockets; markAuthenticated is called by the
 * authentication hooks (context.ts).
 */
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { AscendError } from '../../errors.js';
import { addressKey } from './auth-failures.js';

export interface ConnectionLimits {
  /** Connections held at once (lowered to fit the process's open-file limit). */
  maxConnections: number;
  /** Unprotected connections per client address (IPv6: per /64). */
  maxPerAddress: number;
  /** Connections one credential may hold protected; its others count as unprotected. */
  maxProtectedPerCredential: number;
  /** The request head (and a TLS handshake) must arrive within this. */
  headersTimeoutMs: number;
  /** The whole request, head and body, must arrive within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection closes after this. */
  keepAliveTimeoutMs: number;
  /** A connection closes after this many requests (0 = no limit). */
  maxRequestsPerSocket: number;
  /** A connection on which no byte moves either way for this long closes (a client that does not read). */
  socketIdleTimeoutMs: number;
}

/**
 * Sized for a fleet of a few thousand agents, each with a keep-alive connection or two and a
 * long-poll (agents send their requests at once; a 1 MiB event batch in 30 s needs ~35 KB/s).
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 16_384,
  maxPerAddress: 256,
  maxProtectedPerCredential: 32,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  maxRequestsPerSocket: 1000,
  socketIdleTimeoutMs: 120_000,
};

/** Checks the limits: each a whole number in range; the head's bound no longer than the request's. */
export function connectionLimits(given: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const l = { ...DEFAULT_CONNECTION_LIMITS, ...given };
  const whole = (name: keyof ConnectionLimits, min: number): void => {
    if (!Number.isSafeInteger(l[name]) || l[name] < min) throw new RangeError(`connection limit ${name} must be a whole number of at least ${min}: ${String(l[name])}`);
  };
  whole('maxConnections', 1);
  whole('maxPerAddress', 1);
  whole('maxProtectedPerCredential', 0);
  whole('headersTimeoutMs', 1);
  whole('requestTimeoutMs', 1);
  whole('keepAliveTimeoutMs', 1);
  whole('maxRequestsPerSocket', 0);
  whole('socketIdleTimeoutMs', 1);
  if (l.headersTimeoutMs > l.requestTimeoutMs) throw new RangeError(`connection limit headersTimeoutMs (${l.headersTimeoutMs}) must not exceed requestTimeoutMs (${l.requestTimeoutMs})`);
  return l;
}

interface Entry<Id> {
  id: Id;
  address: string;
  /** The credential it is protected for, once one authenticated on it (within the per-credential allowance). */
  protectedFor: string | undefined;
  /** Requests that arrived whole and are being answered, and since when. */
  serving: number;
  servingSince: number;
}

export type Admission<Id> = { admitted: true; evict: Id[] } | { admitted: false; reason: 'address' | 'total' };

export interface TableLimits {
  maxConnections: number;
  maxPerAddress: number;
  maxProtectedPerCredential: number;
  /** An unprotected connection being answered is spared eviction this long (then a slow reader loses it). */
  servingGraceMs: number;
}

/**
 * The connection accounting: which connections exist, from where, which are protected, which
 * are being answered. Maps keep insertion order, so the first evictable entry is the oldest.
 */
export class ConnectionTable<Id> {
  private readonly all = new Map<Id, Entry<Id>>();
  private readonly unprotected = new Map<Id, Entry<Id>>();
  private readonly unprotectedByAddress = new Map<string, Map<Id, Entry<Id>>>();
  private readonly protectedByCredential = new Map<string, number>();

  constructor(private readonly limits: TableLimits) {}

  get size(): number {
    return this.all.size;
  }

  /** Connections now held, protected ones, and unprotected ones of an address. */
  counts(address?: string): { total: number; protected: number; ofAddress: number } {
    return { total: this.all.size, protected: this.all.size - this.unprotected.size, ofAddress: address === undefined ? 0 : (this.unprotectedByAddress.get(address)?.size ?? 0) };
  }

  /**
   * A new connection from address (an addressKey): admitted, after the listed connections are
   * closed, or refused. The evicted ones are already out of the table.
   */
  admit(id: Id, address: string, now: number): Admission<Id> {
    if (this.all.has(id)) throw new AscendError('ASC_INTERNAL', 'connection admitted twice');
    const evict: Entry<Id>[] = [];
    const ofAddress = this.unprotectedByAddress.get(address);
    if ((ofAddress?.size ?? 0) >= this.limits.maxPerAddress) {
      const victim = this.oldestEvictable(ofAddress?.values() ?? [].values(), now, evict);
      if (victim === undefined) return { admitted: false, reason: 'address' };
      evict.push(victim);
    }
    if (this.all.size - evict.length >= this.limits.maxConnections) {
      const victim = this.oldestEvictable(this.unprotected.values(), now, evict);
      if (victim === undefined) return { admitted: false, reason: 'total' };
      evict.push(victim);
    }
    for (const v of evict) this.remove(v.id);
    const entry: Entry<Id> = { id, address, protectedFor: undefined, serving: 0, servingSince: 0 };
    this.all.set(id, entry);
    this.unprotected.set(id, entry);
    let group = this.unprotectedByAddress.get(address);
    if (group === undefined) this.unprotectedByAddress.set(address, (group = new Map()));
    group.set(id, entry);
    return { admitted: true, evict: evict.map((v) => v.id) };
  }

  /** A credential authenticated on the connection: protected, unless the credential holds its allowance already. */
  authenticate(id: Id, credential: string): boolean {
    const e = this.all.get(id);
    if (e === undefined) return false;
    if (e.protectedFor !== undefined) return true;
    const held = this.protectedByCredential.get(credential) ?? 0;
    if (held >= this.limits.maxProtectedPerCredential) return false;
    this.protectedByCredential.set(credential, held + 1);
    e.protectedFor = credential;
    this.unprotected.delete(id);
    this.dropFromAddress(e);
    return true;
  }

  /** A request arrived whole on the connection and is being answered. */
  serving(id: Id, now: number): void {
    const e = this.all.get(id);
    if (e === undefined) return;
    if (e.serving === 0) e.servingSince = now;
    e.serving++;
  }

  /** Its answer is done (or the client went). */
  served(id: Id): void {
    const e = this.all.get(id);
    if (e !== undefined && e.serving > 0) e.serving--;
  }

  /** The connection closed. */
  remove(id: Id): void {
    const e = this.all.get(id);
    if (e === undefined) return;
    this.all.delete(id);
    if (e.protectedFor === undefined) {
      this.unprotected.delete(id);
      this.dropFromAddress(e);
    } else {
      const held = (this.protectedByCredential.get(e.protectedFor) ?? 1) - 1;
      if (held > 0) this.protectedByCredential.set(e.protectedFor, held);
      else this.protectedByCredential.delete(e.protectedFor);
    }
  }

  private dropFromAddress(e: Entry<Id>): void {
    const group = this.unprotectedByAddress.get(e.address);
    if (group === undefined) return;
    group.delete(e.id);
    if (group.size === 0) this.unprotectedByAddress.delete(e.address);
  }

  private oldestEvictable(candidates: Iterable<Entry<Id>>, now: number, taken: readonly Entry<Id>[]): Entry<Id> | undefined {
    for (const e of candidates) {
      if (taken.includes(e)) continue;
      if (e.serving > 0 && now - e.servingSince < this.limits.servingGraceMs) continue;
      return e;
    }
    return undefined;
  }
}

/** The soft limit on open files (Linux /proc), or undefined when unknown. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (m?.[1] === undefined || m[1] === 'unlimited') return undefined;
  return Number(m[1]);
}

/** Files the process keeps for itself (store, logs, DNS, LDAP) besides client connections. */
const FILE_RESERVE = 256;

/** The connection cap that fits the open-file limit (a refused accept drops a client the table could have chosen). */
export function fittedMaxConnections(wanted: number, fileLimit: number | undefined): number {
  if (fileLimit === undefined) return wanted;
  return Math.max(1, Math.min(wanted, fileLimit - FILE_RESERVE));
}

/** What the guard did since the last report: for one log line now and then, never one per connection. */
export interface PressureReport {
  evicted: number;
  refusedPerAddress: number;
  refusedTotal: number;
  connections: number;
  protected: number;
}

interface Held {
  id: number;
  raw: Socket;
  tls: Socket | undefined;
}

/** Socket → the table it belongs to; the authentication hooks reach it through markAuthenticated. */
const registry = new WeakMap<object, { guard: ConnectionGuard; held: Held }>();

/**
 * Marks the connection a request came on as authenticated for credential ("agent:ID",
 * "token:ID"). A socket the guard does not know (fastify inject) is ignored.
 */
export function markAuthenticated(socket: object | null | undefined, credential: string): void {
  if (socket === null || socket === undefined) return;
  const r = registry.get(socket);
  r?.guard.table.authenticate(r.held.id, credential);
}

export interface ConnectionGuard {
  readonly table: ConnectionTable<number>;
  readonly limits: ConnectionLimits;
  /** A request arrived whole on this socket; its answer is `res` (closing it ends the mark). */
  serving(socket: object, res: NodeJS.EventEmitter): void;
}

const REPORT_EVERY_MS = 10_000;

/**
 * Applies the limits to a node http(s) server: timeouts on the server, and the table on its
 * connections. The caller sets connectionsCheckingInterval (a constructor-only option) and,
 * for TLS, handshakeTimeout; see serverTimingOptions.
 */
export function guardConnections(server: Server, limits: ConnectionLimits, onPressure?: (r: PressureReport) => void, now: () => number = Date.now): ConnectionGuard {
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket === 0 ? null : limits.maxRequestsPerSocket;
  server.setTimeout(limits.socketIdleTimeoutMs);

  const table = new ConnectionTable<number>({
    maxConnections: fittedMaxConnections(limits.maxConnections, openFileLimit()),
    maxPerAddress: limits.maxPerAddress,
    maxProtectedPerCredential: limits.maxProtectedPerCredential,
    servingGraceMs: limits.requestTimeoutMs,
  });
  const live = new Map<number, Held>();
  const byPeer = new Map<string, Held>();
  const peer = (s: Socket): string => `${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`;
  const pressure = { evicted: 0, refusedPerAddress: 0, refusedTotal: 0, lastReport: 0 };
  let next = 1;

  const guard: ConnectionGuard = {
    table,
    limits,
    serving(socket, res) {
      const r = registry.get(socket);
      if (r === undefined || r.guard !== guard) return;
      const { id } = r.held;
      table.serving(id, now());
      let done = false;
      const end = (): void => {
        if (done) return;
        done = true;
        table.served(id);
      };
      res.once('finish', end);
      res.once('close', end);
    },
  };

  function report(): void {
    const t = now();
    if (onPressure === undefined || t - pressure.lastReport < REPORT_EVERY_MS) return;
    pressure.lastReport = t;
    const c = table.counts();
    onPressure({ evicted: pressure.evicted, refusedPerAddress: pressure.refusedPerAddress, refusedTotal: pressure.refusedTotal, connections: c.total, protected: c.protected });
    pressure.evicted = pressure.refusedPerAddress = pressure.refusedTotal = 0;
  }

  function close(h: Held): void {
    h.tls?.destroy();
    h.raw.destroy();
  }

  // Prepended: decided before the TLS layer or the http parser spends anything on the socket.
  server.prependListener('connection', (raw: Socket) => {
    if (raw.remoteAddress === undefined || raw.destroyed) {
      raw.destroy();
      return;
    }
    const id = next++;
    const admission = table.admit(id, addressKey(raw.remoteAddress), now());
    if (!admission.admitted) {
      if (admission.reason === 'address') pressure.refusedPerAddress++;
      else pressure.refusedTotal++;
      raw.destroy();
      report();
      return;
    }
    for (const victim of admission.evict) {
      const h = live.get(victim);
      if (h === undefined) continue;
      live.delete(victim);
      byPeer.delete(peer(h.raw));
      pressure.evicted++;
      close(h);
    }
    if (admission.evict.length > 0) report();
    const held: Held = { id, raw, tls: undefined };
    live.set(id, held);
    const key = peer(raw);
    byPeer.set(key, held);
    registry.set(raw, { guard, held });
    raw.once('close', () => {
      table.remove(id);
      if (live.get(id) === held) live.delete(id);
      if (byPeer.get(key) === held) byPeer.delete(key);
    });
  });
  // TLS: requests come on the TLS socket that wraps the raw one (same peer address and port).
  server.on('secureConnection', (tls: Socket) => {
    const held = byPeer.get(peer(tls));
    if (held === undefined) {
      tls.destroy();
      return;
    }
    held.tls = tls;
    registry.set(tls, { guard, held });
  });
  return guard;
}

/** Options node takes only when it creates the server: how often it checks request timeouts; the TLS handshake bound. */
export function serverTimingOptions(limits: ConnectionLimits): { connectionsCheckingInterval: number; handshakeTimeout: number } {
  return {
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    handshakeTimeout: limits.headersTimeoutMs,
  };
}

/**
 * The raw answer to a request node's parser gave up on (fastify's clientErrorHandler), in the
 * collector's error shape: 408 when it did not arrive in time, 431 for an oversized head,
 * else 400.
 */
export function clientErrorAnswer(code: string | undefined, limits: Pick<ConnectionLimits, 'requestTimeoutMs'>): string {
  const [status, reason, message] =
    code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', `the request did not arrive within ${Math.ceil(limits.requestTimeoutMs / 1000)} s`]
      : code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'the request head is too large']
        : [400, 'Bad Request', 'the request is not well-formed HTTP'];
  const body = JSON.stringify({ error: { code: 'ASC_COLLECTOR_BAD_INPUT', message } });
  return `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** fastify's clientErrorHandler: answers with clientErrorAnswer and closes the connection. */
export function clientErrorHandler(limits: Pick<ConnectionLimits, 'requestTimeoutMs'>): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    if (socket.writable) socket.write(clientErrorAnswer(err.code, limits));
    socket.destroy();
  };
}
