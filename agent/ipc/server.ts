/**
 * The agent's side of the socket. One request per connection; the requester is who the kernel
 * says connected (SO_PEERCRED, read once at accept, before any byte is read), never what the
 * request claims. The socket file is 0666: every local user may ask, and the agent decides on
 * the peer uid. See protocol.ts for the frames.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { AscendError, isAscendError } from '../../src/errors.js';
import { escapeControlChars } from '../../src/log-line.js';
import { checkRootOnlyFolder } from '../policy/root-only.js';
import { peerCredentials, type PeerCredentials, type PeerParent, readPeerParent } from './peer.js';
import {
  type ClientFrame,
  encodeFrame,
  errorBody,
  type Frame,
  FrameDecoder,
  type IpcRequest,
  MAX_CHUNK_BYTES,
  MAX_FRAME_BYTES,
  type ResultFrame,
  toClientFrame,
  toRequest,
} from './protocol.js';

export type IpcLogLevel = 'info' | 'warn' | 'error';
export type IpcLog = (level: IpcLogLevel, message: string, fields?: Record<string, unknown>) => void;

/** What a handler gets besides the request. */
export interface IpcContext {
  /** Who connected, from the kernel. */
  readonly peer: PeerCredentials;
  /** The parent process of the peer, read at accept; `known: false` when it could not be (treat it as unknown, not as none). */
  readonly parent: PeerParent;
  /**
   * Sends an event, stdout or stderr frame (`kind` other than "result"). Returns false when the
   * socket's buffer is full: wait for drained() before sending more. Frames sent after the
   * result or the disconnect are dropped (false). A frame over 1 MiB throws ASC_AGENT_PROTOCOL.
   * A client that stops reading while more than 16 MiB wait for it is disconnected.
   */
  send(frame: Frame): boolean;
  /** Resolves when what was sent has gone to the kernel (or the connection is gone). */
  drained(): Promise<void>;
  /** Sends a stream as `kind` frames (base64 chunks of 256 KiB at most), with backpressure; resolves at its end. */
  forward(stream: Readable, kind: 'stdout' | 'stderr'): Promise<void>;
  /**
   * Frames the client sends after the request (stdin, stdin-end, signal); those that came before
   * the first callback are delivered to it. A callback that returns a promise holds the input:
   * the socket is not read, and no further frame delivered, until it settles (so a handler paces
   * stdin by returning "wait for the child's stdin to drain").
   */
  onFrame(cb: (frame: ClientFrame & Frame) => unknown): void;
  /** Called once when the connection is closed (after the result, or when the client went away). */
  onClose(cb: () => void): void;
  /** Aborted when the client goes away (end of its stream, reset) before the result, on a protocol error, and when the server closes. */
  readonly signal: AbortSignal;
}

export type IpcHandler = (req: IpcRequest, ctx: IpcContext) => Promise<unknown>;

export interface IpcServerOptions {
  /** The socket file. Its folder is created 0755 when missing, and must be root's (or the agent's) and not writable by group or others. */
  path: string;
  handler: IpcHandler;
  log?: IpcLog;
  /** Connections served at once, everyone's (default 64); more are answered with an error and closed. */
  maxConnections?: number;
  /** Connections one uid other than root may hold at once (default 8): one user cannot take every slot. */
  maxConnectionsPerUser?: number;
  /** Slots of maxConnections only root may use (default 8, at most maxConnections / 8 unless set), so root is served when users fill the rest. */
  rootReserve?: number;
  /** How long a connection may take to send its request (default 10 s): idle connections do not hold slots. */
  requestTimeoutMs?: number;
  /** How long close() waits for handlers to answer after aborting them (default 3 s). */
  closeGraceMs?: number;
  /**
   * Why a peer is not served at all (an elevated process's uid), or undefined: asked at accept,
   * before the connection counts against any limit, so refused peers never hold slots.
   */
  refusePeer?: (peer: PeerCredentials) => AscendError | undefined;
  /**
   * A socket already bound and listening, as this fd (ascend-agentd's, `agent run --idle-exit`):
   * listen() takes it as it is (path names it in messages only) and close() leaves the socket
   * file, which belongs to whoever bound it.
   */
  listenFd?: number;
}

/** Bytes queued for a slow reader before the connection is dropped. */
const MAX_BUFFERED_OUT = 16 * 1024 * 1024;
/**
 * Bytes of client frames held before a handler asks for them (an elevation waiting for its
 * approval), or while it holds the input; reading pauses beyond it. With the decoder's partial
 * frame (at most MAX_FRAME_BYTES) and one read, this bounds what a connection holds of its input.
 */
const MAX_QUEUED_IN = 1024 * 1024;
/** While a connection's input is held, how often an empty write checks that the client is still there. */
const HANG_UP_PROBE_MS = 500;
const EMPTY = Buffer.alloc(0);
/** The key under which connections refused by refusePeer are counted while they stay open (no uid is negative). */
const REFUSED_PEERS = -1;
/** How long a refused connection may stay open for its client to read the answer. */
const REFUSED_LINGER_MS = 1_000;
/**
 * Refused connections of one uid (other than root) left open after their answer at once; past
 * it the oldest is closed (its answer was written first; a Unix socket's client still reads
 * what was written before the close). Lingering sockets count towards the server's hard limit
 * of open sockets: one user opening connections faster than they linger out would otherwise
 * fill it, and that limit would close root's connection unanswered.
 */
const MAX_LINGERING_PER_UID = 16;
/** How often a uid's refused connections are logged: once per window, with the count. */
const REFUSAL_LOG_WINDOW_MS = 60_000;
/** A path in sockaddr_un: 108 bytes with the NUL. */
const MAX_SOCKET_PATH = 107;

const NOT_RUNNING_ERRNOS = new Set(['ECONNREFUSED', 'ENOENT']);

export class IpcServer {
  private readonly opts: ServerOpts;
  private server: net.Server | undefined;
  private readonly connections = new Set<Connection>();
  /** Open connections per peer uid. */
  private readonly perUid = new Map<number, number>();
  /** Refused connections per uid still open after their answer, oldest first (see MAX_LINGERING_PER_UID). */
  private readonly lingering = new Map<number, Set<net.Socket>>();
  /** Per uid: when its refusals were last logged, and how many came since. */
  private readonly refusals = new Map<number, { loggedAt: number; since: number }>();
  private socketIno: number | undefined;
  private closing = false;

  constructor(opts: IpcServerOptions) {
    const maxConnections = opts.maxConnections ?? 64;
    const rootReserve = opts.rootReserve ?? Math.min(8, Math.floor(maxConnections / 8));
    const maxConnectionsPerUser = opts.maxConnectionsPerUser ?? Math.max(1, Math.min(8, maxConnections - rootReserve));
    for (const [name, v, min] of [['maxConnections', maxConnections, 1], ['rootReserve', rootReserve, 0], ['maxConnectionsPerUser', maxConnectionsPerUser, 1]] as const) {
      if (!Number.isSafeInteger(v) || v < min) throw new AscendError('ASC_AGENT_CONFIG', `the agent socket's ${name} must be a whole number of at least ${min}, not ${String(v)}`);
    }
    if (rootReserve >= maxConnections) throw new AscendError('ASC_AGENT_CONFIG', `the root reserve (${rootReserve}) leaves no connection of ${maxConnections} for other users`);
    this.opts = {
      path: opts.path,
      // Counted until it settles, which may be after its connection closed.
      handler: (req, ctx) => {
        this.handling++;
        this.lastActivity = performance.now();
        return Promise.resolve()
          .then(() => opts.handler(req, ctx))
          .finally(() => {
            this.handling--;
            this.lastActivity = performance.now();
          });
      },
      log: opts.log ?? (() => undefined),
      maxConnections,
      maxConnectionsPerUser,
      rootReserve,
      requestTimeoutMs: opts.requestTimeoutMs ?? 10_000,
      closeGraceMs: opts.closeGraceMs ?? 3_000,
      refusePeer: opts.refusePeer ?? (() => undefined),
      listenFd: opts.listenFd,
    };
  }

  get path(): string {
    return this.opts.path;
  }

  /** Connections open now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  private handling = 0;
  private lastActivity = performance.now();

  /** Requests whose handler has not settled (a handler may outlive its connection). */
  get handlersInFlight(): number {
    return this.handling;
  }

  /** When (performance.now()) a connection was last accepted or a handler last settled. */
  get lastActivityAt(): number {
    return this.lastActivity;
  }

  /**
   * Checks the folder, replaces a stale socket file (one nothing answers on), listens, and makes
   * the socket 0666. ASC_AGENT_CONFIG when the folder is unsafe, the path is taken by another
   * file or a live agent, or listening fails.
   */
  async listen(): Promise<void> {
    if (this.server) throw new AscendError('ASC_AGENT_CONFIG', `the agent socket ${this.opts.path} is already listening`);
    const path = this.opts.path;
    const fd = this.opts.listenFd;
    if (fd === undefined) {
      await prepareSocketPath(path);
      await removeStale(path);
    }
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    // A hard stop (fds); accept() answers politely before that. Refused sockets count here until
    // their client closes (at once for ipcCall) or for REFUSED_LINGER_MS, hence the margin.
    server.maxConnections = this.opts.maxConnections * 4 + 1024;
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        reject(
          new AscendError('ASC_AGENT_CONFIG', `cannot listen on ${path}: ${e.code === 'EADDRINUSE' ? 'another agent is running' : e.message}`, {
            cause: e,
          }),
        );
      };
      server.once('error', onError);
      const listening = (): void => {
        server.off('error', onError);
        resolve();
      };
      if (fd === undefined) server.listen(path, listening);
      else server.listen({ fd }, listening);
    });
    if (fd !== undefined) {
      this.server = server;
      this.closing = false;
      server.on('error', (e) => this.opts.log('error', `agent socket error: ${e.message}`, { path }));
      return;
    }
    try {
      await fs.chmod(path, 0o666);
      this.socketIno = (await fs.lstat(path)).ino;
    } catch (e) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw new AscendError('ASC_AGENT_CONFIG', `cannot set the mode of ${path}: ${(e as Error).message}`, { cause: e });
    }
    server.on('error', (e) => this.opts.log('error', `agent socket error: ${e.message}`, { path }));
    this.server = server;
    this.closing = false;
  }

  /** Stops accepting, aborts the requests in flight (waiting closeGraceMs for their answers), closes every connection, removes the socket file. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.closing = true;
    this.server = undefined;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    const open = [...this.connections];
    for (const c of open) c.shutdown();
    const allClosed = Promise.all(open.map((c) => c.closed));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.opts.closeGraceMs);
    });
    await Promise.race([allClosed, grace]);
    clearTimeout(timer);
    for (const c of this.connections) c.destroy();
    await stopped;
    // libuv unlinks the file when the server closes; make sure, but never remove another agent's socket.
    try {
      const st = await fs.lstat(this.opts.path);
      if (st.isSocket() && st.ino === this.socketIno) await fs.unlink(this.opts.path);
    } catch {
      // gone already
    }
    this.socketIno = undefined;
  }

  private accept(socket: net.Socket): void {
    this.lastActivity = performance.now();
    if (this.closing) {
      socket.destroy();
      return;
    }
    let peer: PeerCredentials;
    try {
      // Before a byte is read: the credentials are those of the process that called connect().
      peer = peerCredentials(socket);
    } catch (e) {
      const err = isAscendError(e) ? e : new AscendError('ASC_AGENT_PEER_UNKNOWN', 'the kernel did not say who is on the socket', { cause: e });
      this.opts.log('error', `agent socket: request refused, peer unknown: ${err.message}`);
      refuse(socket, err);
      return;
    }
    const refused = this.opts.refusePeer(peer);
    if (refused) {
      refuse(socket, refused);
      // All such peers share one count of connections left open (each elevation has a uid of its own).
      this.linger(REFUSED_PEERS, socket);
      return;
    }
    const over = this.overLimit(peer.uid);
    if (over) {
      this.noteRefusal(peer.uid, over);
      refuse(socket, new AscendError('ASC_AGENT_PROTOCOL', over, { hint: 'finish or close your other ascend commands (elevations, approvals waited for), then try again' }));
      if (peer.uid !== 0) this.linger(peer.uid, socket);
      return;
    }
    // Before anything slow (account lookups run subprocesses): a client that exits right after
    // its request is still there, or a zombie that names its parent.
    const parent = readPeerParent(peer.pid, peer.uid);
    const conn = new Connection(socket, peer, parent, this.opts);
    this.connections.add(conn);
    this.perUid.set(peer.uid, (this.perUid.get(peer.uid) ?? 0) + 1);
    void conn.closed.then(() => {
      this.connections.delete(conn);
      const n = (this.perUid.get(peer.uid) ?? 1) - 1;
      if (n > 0) this.perUid.set(peer.uid, n);
      else this.perUid.delete(peer.uid);
    });
  }

  /** Counts a refused connection of `uid` left open after its answer; closes the uid's oldest past MAX_LINGERING_PER_UID. */
  private linger(uid: number, socket: net.Socket): void {
    let open = this.lingering.get(uid);
    if (!open) this.lingering.set(uid, (open = new Set()));
    const mine = open;
    mine.add(socket);
    socket.once('close', () => {
      mine.delete(socket);
      if (mine.size === 0 && this.lingering.get(uid) === mine) this.lingering.delete(uid);
    });
    if (mine.size > MAX_LINGERING_PER_UID) {
      const oldest = mine.values().next().value as net.Socket;
      mine.delete(oldest);
      oldest.destroy();
    }
  }

  /** Why a new connection of `uid` is not served (the limit it meets), or undefined. */
  private overLimit(uid: number): string | undefined {
    const { maxConnections, maxConnectionsPerUser, rootReserve } = this.opts;
    const open = this.connections.size;
    if (open >= maxConnections) return `the agent is serving too many connections (${maxConnections}, its limit)`;
    if (uid === 0) return undefined;
    if (open >= maxConnections - rootReserve) return `the agent is serving too many connections (${maxConnections - rootReserve} for users; the other ${rootReserve} are kept for root)`;
    const mine = this.perUid.get(uid) ?? 0;
    if (mine >= maxConnectionsPerUser) return `too many connections to the agent from uid ${uid} (${mine} open; the limit is ${maxConnectionsPerUser} per user)`;
    return undefined;
  }

  /** Logs a uid's refused connections once a minute (with how many there were), not one line each. */
  private noteRefusal(uid: number, why: string): void {
    const now = Date.now();
    const seen = this.refusals.get(uid);
    if (seen && now - seen.loggedAt < REFUSAL_LOG_WINDOW_MS) {
      seen.since++;
      return;
    }
    const earlier = seen && seen.since > 0 ? ` (and ${seen.since} more refused in the minute before)` : '';
    this.opts.log('warn', `agent socket: a connection of uid ${uid} refused: ${why}${earlier}`, { uid });
    if (this.refusals.size >= 4096) {
      for (const [u, r] of this.refusals) if (now - r.loggedAt >= REFUSAL_LOG_WINDOW_MS) this.refusals.delete(u);
    }
    this.refusals.set(uid, { loggedAt: now, since: 0 });
  }
}

/**
 * Answers a connection that is not served with one error result and ends it; it holds no slot.
 * What the client sends meanwhile is read and dropped (so writing its request does not fail
 * with EPIPE before it has read the answer); the socket is destroyed when the client closes,
 * or after REFUSED_LINGER_MS.
 */
function refuse(socket: net.Socket, err: AscendError): void {
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  socket.once('end', () => socket.destroy());
  socket.end(encodeFrame({ kind: 'result', ok: false, error: errorBody(err) } satisfies ResultFrame));
  socket.resume();
  setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
}

/**
 * Checks a socket path before it is bound (here, or by ascend-agentd): short enough for
 * sockaddr_un, in a safe folder (prepareFolder). ASC_AGENT_CONFIG when not.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new AscendError('ASC_AGENT_CONFIG', `the socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes`, { hint: 'use a shorter --socket path' });
  }
  await prepareFolder(dirname(path));
}

/** The socket's folder: created 0755 when missing; a folder, root's or ours, not group/other-writable. */
async function prepareFolder(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new AscendError('ASC_AGENT_CONFIG', `cannot create the socket folder ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const st = await fs.stat(dir);
  if (!st.isDirectory()) throw new AscendError('ASC_AGENT_CONFIG', `the socket folder ${dir} is not a folder`);
  const me = process.getuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== me) {
    throw new AscendError('ASC_AGENT_CONFIG', `the socket folder ${dir} belongs to uid ${st.uid}, not to root`, { hint: `chown root ${dir}` });
  }
  if ((st.mode & 0o022) !== 0) {
    throw new AscendError('ASC_AGENT_CONFIG', `the socket folder ${dir} may be written by others (mode ${(st.mode & 0o7777).toString(8)})`, {
      hint: `chmod 755 ${dir}, or pass a --socket path in a folder only root may write`,
    });
  }
  // And the folders above it (and links on the way): whoever could rename one could put their
  // own socket where clients look for the agent, and read what they send (passcodes).
  await checkRootOnlyFolder(dir, 'socket folder');
}

/** Removes a socket file nothing answers on; refuses a live agent's socket and any other kind of file. */
async function removeStale(path: string): Promise<void> {
  let st;
  try {
    st = await fs.lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new AscendError('ASC_AGENT_CONFIG', `cannot examine ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isSocket()) throw new AscendError('ASC_AGENT_CONFIG', `${path} exists and is not a socket; not replacing it`, { hint: 'remove it, or pass another --socket path' });
  const live = await new Promise<boolean | NodeJS.ErrnoException>((resolve) => {
    const probe = net.createConnection({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(NOT_RUNNING_ERRNOS.has(e.code ?? '') ? false : e));
  });
  if (live === true) throw new AscendError('ASC_AGENT_CONFIG', `another agent is running on ${path}`, { hint: 'stop it first, or pass another --socket path' });
  if (live !== false) throw new AscendError('ASC_AGENT_CONFIG', `cannot tell whether an agent listens on ${path}: ${live.message}`, { cause: live });
  await fs.unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw new AscendError('ASC_AGENT_CONFIG', `cannot remove the stale socket ${path}: ${e.message}`, { cause: e });
  });
}

type ServerOpts = Required<Omit<IpcServerOptions, 'log' | 'listenFd'>> & { log: IpcLog; listenFd: number | undefined };

/**
 * What a queued frame is counted as: what it holds in memory at least (its object, its line),
 * plus its data: a client's stream of empty or tiny stdin frames fills the queue's bound as
 * surely as a large one (counted by their data alone, they were held without end).
 */
const QUEUED_FRAME_COST = 256;
function frameSize(frame: ClientFrame): number {
  return QUEUED_FRAME_COST + (frame.op === 'stdin' ? frame.data.length : 0);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** One client: its request, its handler, its frames both ways. */
class Connection {
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder();
  private readonly abort = new AbortController();
  private readonly frameCallbacks: ((frame: ClientFrame & Frame) => unknown)[] = [];
  private readonly closeCallbacks: (() => void)[] = [];
  /** Client frames not delivered yet: no callback yet, or a callback holds the input. */
  private queued: (ClientFrame & Frame)[] = [];
  private queuedBytes = 0;
  /** A callback's promise is pending: nothing more is delivered or read until it settles. */
  private holding = false;
  private inputPaused = false;
  private hangUpProbe: NodeJS.Timeout | undefined;
  private request: IpcRequest | undefined;
  private finished = false;
  private isClosed = false;
  private requestTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly peer: PeerCredentials,
    private readonly parent: PeerParent,
    private readonly opts: ServerOpts,
  ) {
    this.closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') this.opts.log('warn', `agent socket: connection error: ${e.message}`, this.fields());
    });
    socket.on('close', () => this.onClose());
    this.requestTimer = setTimeout(() => {
      if (!this.request) this.fail(new AscendError('ASC_AGENT_PROTOCOL', `no request within ${this.opts.requestTimeoutMs} ms`));
    }, this.opts.requestTimeoutMs);
    this.requestTimer.unref();
    socket.resume();
  }

  /** Server closing: a connection without a request goes now; a handler is asked to stop. */
  shutdown(): void {
    if (!this.request || this.finished) {
      this.destroy();
      return;
    }
    this.abort.abort(new AscendError('ASC_AGENT_NOT_RUNNING', 'the agent is stopping'));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private fields(): Record<string, unknown> {
    return { uid: this.peer.uid, pid: this.peer.pid, ...(this.request ? { op: this.request.op.slice(0, 64) } : {}) };
  }

  private onData(chunk: Buffer): void {
    if (this.finished) return;
    try {
      this.decoder.push(chunk, (frame) => this.onFrame(frame));
    } catch (e) {
      this.fail(e);
    }
  }

  private onEnd(): void {
    if (this.finished) {
      this.socket.end();
      return;
    }
    try {
      this.decoder.end();
    } catch (e) {
      this.fail(e);
      return;
    }
    if (!this.request) {
      this.fail(new AscendError('ASC_AGENT_PROTOCOL', 'the connection ended before a request'));
      return;
    }
    // The client went away (or half-closed, which this protocol does not use): hang up.
    this.abort.abort(new Error('the client disconnected'));
  }

  private onClose(): void {
    this.isClosed = true;
    clearTimeout(this.requestTimer);
    clearInterval(this.hangUpProbe);
    // Nothing the client sent is kept once it is gone.
    this.queued = [];
    this.queuedBytes = 0;
    if (!this.finished) this.abort.abort(new Error('the client disconnected'));
    for (const cb of this.closeCallbacks.splice(0)) {
      try {
        cb();
      } catch (e) {
        this.opts.log('error', `agent socket: an onClose callback threw: ${(e as Error).message}`, this.fields());
      }
    }
  }

  private onFrame(frame: Frame): void {
    if (this.finished) return;
    if (!this.request) {
      const req = toRequest(frame);
      this.request = req;
      clearTimeout(this.requestTimer);
      this.run(req);
      return;
    }
    const cf = toClientFrame(frame) as ClientFrame & Frame;
    this.queued.push(cf);
    this.queuedBytes += frameSize(cf);
    this.pump();
  }

  /**
   * Delivers queued frames in order while there is a callback and none holds the input, then
   * pauses or resumes reading: paused while a callback holds the input (the rest of the chunk
   * read meanwhile waits in the queue) or while more than MAX_QUEUED_IN wait for a callback.
   */
  private pump(): void {
    while (!this.finished && !this.holding && this.frameCallbacks.length > 0 && this.queued.length > 0) {
      const frame = this.queued.shift() as ClientFrame & Frame;
      this.queuedBytes -= frameSize(frame);
      const pending = this.deliver(frame);
      if (pending) {
        this.holding = true;
        void pending.then(() => {
          this.holding = false;
          this.pump();
        });
      }
    }
    if (this.finished) return;
    this.setInputPaused(this.holding || this.queuedBytes > MAX_QUEUED_IN);
  }

  private setInputPaused(paused: boolean): void {
    if (paused === this.inputPaused) return;
    this.inputPaused = paused;
    if (paused) {
      this.socket.pause();
      // A paused socket is not read, so a client that goes away meanwhile is not seen by its
      // end of stream: an empty write fails (EPIPE) once the peer has closed, and closes the
      // connection, so the handler is aborted and what it holds for the client is released.
      this.hangUpProbe ??= setInterval(() => {
        if (this.socket.writable && !this.socket.destroyed) this.socket.write(EMPTY);
      }, HANG_UP_PROBE_MS);
      this.hangUpProbe.unref();
    } else {
      clearInterval(this.hangUpProbe);
      this.hangUpProbe = undefined;
      this.socket.resume();
    }
  }

  /** Calls every callback; a promise when one of them returned one (settles when all did, never rejects). */
  private deliver(frame: ClientFrame & Frame): Promise<void> | undefined {
    let waits: PromiseLike<unknown>[] | undefined;
    for (const cb of this.frameCallbacks) {
      try {
        const r = cb(frame);
        if (isThenable(r)) (waits ??= []).push(r);
      } catch (e) {
        this.opts.log('error', `agent socket: an onFrame callback threw: ${(e as Error).message}`, this.fields());
      }
    }
    if (!waits) return undefined;
    return Promise.all(
      waits.map((w) =>
        Promise.resolve(w).catch((e: unknown) => this.opts.log('error', `agent socket: an onFrame callback failed: ${(e as Error)?.message ?? String(e)}`, this.fields())),
      ),
    ).then(() => undefined);
  }

  private run(req: IpcRequest): void {
    const ctx = this.context();
    Promise.resolve()
      .then(() => this.opts.handler(req, ctx))
      .then(
        (value) => this.finish({ kind: 'result', ok: true, value: value === undefined ? null : value }),
        (e: unknown) => {
          if (isAscendError(e)) {
            this.finish({ kind: 'result', ok: false, error: errorBody(e) });
          } else {
            this.opts.log('error', `agent: request failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, this.fields());
            this.finish({ kind: 'result', ok: false, error: { code: 'ASC_INTERNAL', message: 'the agent failed on this request (the details are in its log)' } });
          }
        },
      );
  }

  private context(): IpcContext {
    const ctx: IpcContext = {
      peer: Object.freeze({ ...this.peer }),
      parent: Object.freeze({ ...this.parent }),
      signal: this.abort.signal,
      send: (frame) => {
        if (typeof frame.kind !== 'string' || frame.kind === 'result') {
          throw new AscendError('ASC_AGENT_PROTOCOL', 'send() takes event, stdout or stderr frames; the result is the handler\'s value');
        }
        return this.write(frame);
      },
      drained: () => this.drained(),
      forward: (stream, kind) => this.forward(stream, kind),
      onFrame: (cb) => {
        this.frameCallbacks.push(cb);
        // Frames that came first reach the first callback on the next tick, after the handler's own setup.
        if (this.frameCallbacks.length === 1 && this.queued.length > 0) process.nextTick(() => this.pump());
      },
      onClose: (cb) => {
        if (this.isClosed) process.nextTick(cb);
        else this.closeCallbacks.push(cb);
      },
    };
    return ctx;
  }

  private write(frame: Frame): boolean {
    if (this.finished || this.isClosed || !this.socket.writable) return false;
    // An event's message is printed on the user's terminal as it is (see errorBody).
    const bytes = encodeFrame(frame.kind === 'event' && typeof frame.message === 'string' ? { ...frame, message: escapeControlChars(frame.message) } : frame);
    const ok = this.socket.write(bytes);
    if (this.socket.writableLength > MAX_BUFFERED_OUT) {
      this.opts.log('warn', `agent socket: the client does not read (${this.socket.writableLength} bytes waiting); disconnecting it`, this.fields());
      this.abort.abort(new Error('the client stopped reading'));
      this.socket.destroy();
      return false;
    }
    return ok;
  }

  private drained(): Promise<void> {
    if (this.isClosed || this.socket.destroyed || this.socket.writableLength === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private async forward(stream: Readable, kind: 'stdout' | 'stderr'): Promise<void> {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let i = 0; i < buf.length; i += MAX_CHUNK_BYTES) {
        // Once the client is gone the rest is read and dropped, so the writer is not blocked.
        if (!this.write({ kind, data: buf.subarray(i, i + MAX_CHUNK_BYTES).toString('base64') })) await this.drained();
      }
    }
  }

  /** A protocol error: answer it (if still possible), stop the handler, close. */
  private fail(e: unknown): void {
    const err = isAscendError(e) ? e : new AscendError('ASC_AGENT_PROTOCOL', 'a malformed message on the agent socket', { cause: e });
    this.opts.log('warn', `agent socket: ${err.message}`, this.fields());
    this.abort.abort(err);
    this.finish({ kind: 'result', ok: false, error: errorBody(err) });
  }

  /** Sends the one result and closes our side. */
  private finish(result: ResultFrame): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.requestTimer);
    this.queued = [];
    this.queuedBytes = 0;
    // Read on, so the client's end (or reset) is seen and the connection closes; frames are dropped.
    if (this.inputPaused) this.setInputPaused(false);
    if (this.isClosed || this.socket.destroyed) return;
    let bytes: Buffer;
    try {
      bytes = encodeFrame(result);
    } catch (e) {
      const tooLarge = isAscendError(e);
      this.opts.log('error', `agent: the answer could not be sent: ${(e as Error).message}`, this.fields());
      bytes = encodeFrame({
        kind: 'result',
        ok: false,
        error: tooLarge
          ? { code: 'ASC_AGENT_PROTOCOL', message: `the answer is larger than the ${MAX_FRAME_BYTES}-byte frame limit` }
          : { code: 'ASC_INTERNAL', message: 'the agent failed on this request (the details are in its log)' },
      } satisfies ResultFrame);
    }
    this.socket.end(bytes);
    // A client that never closes its side is not kept.
    setTimeout(() => this.socket.destroy(), 2_000).unref();
  }
}
