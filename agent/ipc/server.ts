/**
 * The agent's side of the socket. One request per connection; the requester is who the kernel
 * says connected (SO_PEERCRED, read once at accept, before any byte is read), never what the
 * request claims. The socket file is 0666: every local user may ask, and the agent decides on
 * the peer uid. See protocol.ts for the frames.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { AscendError, isAscendError } from '../../src/errors.js';
import { peerCredentials, type PeerCredentials } from './peer.js';
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
  /** Frames the client sends after the request (stdin, stdin-end, signal); those that came before the first callback are delivered to it. */
  onFrame(cb: (frame: ClientFrame & Frame) => void): void;
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
  /** Connections served at once (default 64); more are answered with an error and closed. */
  maxConnections?: number;
  /** How long a connection may take to send its request (default 30 s). */
  requestTimeoutMs?: number;
  /** How long close() waits for handlers to answer after aborting them (default 3 s). */
  closeGraceMs?: number;
}

/** Bytes queued for a slow reader before the connection is dropped. */
const MAX_BUFFERED_OUT = 16 * 1024 * 1024;
/** Bytes of client frames held before a handler asks for them; reading pauses beyond it. */
const MAX_QUEUED_IN = 8 * 1024 * 1024;
/** A path in sockaddr_un: 108 bytes with the NUL. */
const MAX_SOCKET_PATH = 107;

const NOT_RUNNING_ERRNOS = new Set(['ECONNREFUSED', 'ENOENT']);

export class IpcServer {
  private readonly opts: ServerOpts;
  private server: net.Server | undefined;
  private readonly connections = new Set<Connection>();
  private socketIno: number | undefined;
  private closing = false;

  constructor(opts: IpcServerOptions) {
    this.opts = {
      path: opts.path,
      handler: opts.handler,
      log: opts.log ?? (() => undefined),
      maxConnections: opts.maxConnections ?? 64,
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      closeGraceMs: opts.closeGraceMs ?? 3_000,
    };
  }

  get path(): string {
    return this.opts.path;
  }

  /** Connections open now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Checks the folder, replaces a stale socket file (one nothing answers on), listens, and makes
   * the socket 0666. ASC_AGENT_CONFIG when the folder is unsafe, the path is taken by another
   * file or a live agent, or listening fails.
   */
  async listen(): Promise<void> {
    if (this.server) throw new AscendError('ASC_AGENT_CONFIG', `the agent socket ${this.opts.path} is already listening`);
    const path = this.opts.path;
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      throw new AscendError('ASC_AGENT_CONFIG', `the socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes`, { hint: 'use a shorter --socket path' });
    }
    await prepareFolder(dirname(path));
    await removeStale(path);
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    server.maxConnections = this.opts.maxConnections * 2; // a hard stop; accept() answers politely before that
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        reject(
          new AscendError('ASC_AGENT_CONFIG', `cannot listen on ${path}: ${e.code === 'EADDRINUSE' ? 'another agent is running' : e.message}`, {
            cause: e,
          }),
        );
      };
      server.once('error', onError);
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    });
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
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.opts.maxConnections) {
      this.opts.log('warn', `agent socket: too many connections (${this.connections.size}), one refused`);
      refuse(socket, new AscendError('ASC_AGENT_PROTOCOL', `the agent is serving too many connections (${this.opts.maxConnections})`, { hint: 'try again in a moment' }));
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
    const conn = new Connection(socket, peer, this.opts);
    this.connections.add(conn);
    void conn.closed.then(() => this.connections.delete(conn));
  }
}

/** Answers a connection that is not served with one error result, then closes it. */
function refuse(socket: net.Socket, err: AscendError): void {
  socket.on('error', () => undefined);
  socket.end(encodeFrame({ kind: 'result', ok: false, error: errorBody(err) } satisfies ResultFrame));
  setTimeout(() => socket.destroy(), 1_000).unref();
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

type ServerOpts = Required<Omit<IpcServerOptions, 'log'>> & { log: IpcLog };

/** One client: its request, its handler, its frames both ways. */
class Connection {
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder();
  private readonly abort = new AbortController();
  private readonly frameCallbacks: ((frame: ClientFrame & Frame) => void)[] = [];
  private readonly closeCallbacks: (() => void)[] = [];
  private queued: (ClientFrame & Frame)[] = [];
  private queuedBytes = 0;
  private pausedForQueue = false;
  private request: IpcRequest | undefined;
  private finished = false;
  private isClosed = false;
  private requestTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly peer: PeerCredentials,
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
    return { uid: this.peer.uid, pid: this.peer.pid, ...(this.request ? { op: this.request.op } : {}) };
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
    if (this.frameCallbacks.length === 0) {
      this.queued.push(cf);
      this.queuedBytes += cf.op === 'stdin' ? cf.data.length : 32;
      if (this.queuedBytes > MAX_QUEUED_IN && !this.pausedForQueue) {
        this.pausedForQueue = true;
        this.socket.pause();
      }
      return;
    }
    this.deliver(cf);
  }

  private deliver(frame: ClientFrame & Frame): void {
    for (const cb of this.frameCallbacks) {
      try {
        cb(frame);
      } catch (e) {
        this.opts.log('error', `agent socket: an onFrame callback threw: ${(e as Error).message}`, this.fields());
      }
    }
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
        if (this.frameCallbacks.length === 1 && this.queued.length > 0) {
          process.nextTick(() => {
            const frames = this.queued;
            this.queued = [];
            this.queuedBytes = 0;
            for (const f of frames) this.deliver(f);
            if (this.pausedForQueue) {
              this.pausedForQueue = false;
              this.socket.resume();
            }
          });
        }
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
    const bytes = encodeFrame(frame);
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
    if (this.pausedForQueue) this.socket.resume();
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
