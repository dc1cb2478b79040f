/**
 * The client's side of the agent socket (`ascend elevate`, `ascend tse ...`, `ascend agent
 * status|refresh`): one request, its events, its one result. The client says nothing about who
 * it is; the agent asks the kernel.
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import { AscendError, ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { encodeFrame, type Frame, FrameDecoder, type IpcRequest, MAX_CHUNK_BYTES } from './protocol.js';

export interface IpcCallOptions {
  /** Every frame before the result: {kind:"event"|"stdout"|"stderr", ...}. */
  onEvent?: (frame: Frame) => void;
  /** Sent to the agent as stdin frames (with backpressure), then stdin-end at its end. It is paused, not closed, when the call ends. */
  stdin?: Readable;
  /** SIGINT, SIGTERM and SIGHUP are sent to the agent as signal frames while the call lasts; the same signal a second time ends this process as it normally would. */
  forwardSignals?: boolean;
  /** Gives up after this long (ASC_AGENT_NOT_RUNNING); no limit when absent. */
  timeoutMs?: number;
}

const HINT = 'start the agent: ascend agent run ... (as root), or pass --socket';
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Sends one request to the agent on `path` and resolves with its result value. Rejects with
 * the agent's error (same code, message and hint), ASC_AGENT_NOT_RUNNING when nothing answers
 * on the socket (ENOENT, ECONNREFUSED, EACCES) or in time, and ASC_AGENT_PROTOCOL when the
 * agent closes without a result or sends a malformed frame.
 */
export function ipcCall(path: string, request: IpcRequest, opts: IpcCallOptions = {}): Promise<unknown> {
  let requestBytes: Buffer;
  try {
    if (typeof request.op !== 'string' || request.op === '') throw new AscendError('ASC_AGENT_PROTOCOL', 'the request has no "op"');
    requestBytes = encodeFrame(request);
  } catch (e) {
    return Promise.reject(e);
  }

  return new Promise<unknown>((resolve, reject) => {
    const socket = net.createConnection({ path, allowHalfOpen: true });
    const decoder = new FrameDecoder();
    const stdin = opts.stdin;
    let connected = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const signalHandlers = new Map<NodeJS.Signals, () => void>();

    const cleanup = (): void => {
      clearTimeout(timer);
      for (const [sig, h] of signalHandlers) process.off(sig, h);
      signalHandlers.clear();
      if (stdin) {
        stdin.off('data', onStdinData);
        stdin.off('end', onStdinEnd);
        stdin.off('error', onStdinError);
        stdin.pause();
      }
      socket.off('drain', onDrain);
    };
    const settle = (err: Error | undefined, value?: unknown): void => {
      if (settled) return;
      settled = true;
      cleanup();
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };

    const send = (frame: Frame): boolean => {
      if (settled || socket.destroyed || !socket.writable) return true;
      return socket.write(encodeFrame(frame));
    };

    // stdin: chunks of at most MAX_CHUNK_BYTES, paused while the socket's buffer is full.
    const onDrain = (): void => {
      if (!settled) stdin?.resume();
    };
    const onStdinData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      let ok = true;
      for (let i = 0; i < buf.length; i += MAX_CHUNK_BYTES) ok = send({ op: 'stdin', data: buf.subarray(i, i + MAX_CHUNK_BYTES).toString('base64') }) && ok;
      if (!ok) stdin?.pause();
    };
    const onStdinEnd = (): void => {
      send({ op: 'stdin-end' });
    };
    const onStdinError = (): void => {
      send({ op: 'stdin-end' });
    };

    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        settle(new AscendError('ASC_AGENT_NOT_RUNNING', `the agent on ${path} did not answer within ${opts.timeoutMs} ms`, { hint: HINT }));
      }, opts.timeoutMs);
    }

    socket.once('connect', () => {
      connected = true;
      socket.write(requestBytes);
      if (opts.forwardSignals) {
        for (const sig of FORWARDED_SIGNALS) {
          let seen = false;
          const h = (): void => {
            if (!seen) {
              seen = true;
              send({ op: 'signal', signal: sig });
              return;
            }
            // Asked twice: stop waiting for the agent and die of the signal.
            settle(new AscendError('ASC_AGENT_PROTOCOL', `interrupted by ${sig}`));
            process.kill(process.pid, sig);
          };
          signalHandlers.set(sig, h);
          process.on(sig, h);
        }
      }
      if (stdin) {
        socket.on('drain', onDrain);
        stdin.on('data', onStdinData);
        stdin.once('end', onStdinEnd);
        stdin.once('error', onStdinError);
        stdin.resume();
      }
    });

    socket.on('data', (chunk: Buffer) => {
      if (settled) return;
      try {
        decoder.push(chunk, (frame) => {
          if (settled) return;
          if (frame.kind === 'result') settle(...fromResult(frame));
          else opts.onEvent?.(frame);
        });
      } catch (e) {
        settle(e instanceof AscendError ? e : new AscendError('ASC_AGENT_PROTOCOL', `the agent sent a malformed frame: ${(e as Error).message}`, { cause: e }));
      }
    });

    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) {
        const why = e.code === 'EACCES' ? 'permission denied' : e.code === 'ENOENT' ? 'no such socket' : e.code === 'ECONNREFUSED' ? 'connection refused' : e.message;
        settle(new AscendError('ASC_AGENT_NOT_RUNNING', `no agent answers on ${path} (${why})`, { hint: HINT, cause: e }));
      } else {
        settle(new AscendError('ASC_AGENT_PROTOCOL', `the connection to the agent on ${path} failed: ${e.message}`, { cause: e }));
      }
    });

    // The agent ends its side right after the result; anything else is a broken exchange.
    const noResult = (): void => settle(new AscendError('ASC_AGENT_PROTOCOL', `the agent on ${path} closed the connection without an answer`));
    socket.on('end', noResult);
    socket.on('close', noResult);
  });
}

/** A result frame to settle()'s arguments: the value, or the agent's error rebuilt. */
export function fromResult(frame: Frame): [Error | undefined, unknown?] {
  if (frame.ok === true) return [undefined, frame.value];
  const error = frame.error as { code?: unknown; message?: unknown; hint?: unknown } | undefined;
  if (frame.ok !== false || typeof error !== 'object' || error === null || typeof error.code !== 'string' || typeof error.message !== 'string') {
    return [new AscendError('ASC_AGENT_PROTOCOL', 'the agent sent a malformed result')];
  }
  const hint = typeof error.hint === 'string' ? { hint: error.hint } : {};
  if (!Object.hasOwn(ERROR_CODES, error.code)) {
    return [new AscendError('ASC_AGENT_PROTOCOL', `the agent answered with an unknown error code ${error.code}: ${error.message}`, hint)];
  }
  return [new AscendError(error.code as ErrorCode, error.message, hint)];
}
