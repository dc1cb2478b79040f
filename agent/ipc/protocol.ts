/**
 * The agent socket's wire format: newline-delimited JSON, one UTF-8 JSON object per line, each
 * at most MAX_FRAME_BYTES (the newline not counted).
 *
 * Client -> agent: exactly one request `{"op": string, "id"?: string, ...params}`, then, for a
 * streaming request, `{"op":"stdin","data":base64}`, `{"op":"stdin-end"}` and
 * `{"op":"signal","signal":"SIGINT"}` frames.
 * Agent -> client: zero or more `{"kind":"event"|"stdout"|"stderr", ...}` frames, then exactly
 * one `{"kind":"result","ok":true,"value":...}` or
 * `{"kind":"result","ok":false,"error":{"code","message","hint"?}}`, then the agent closes.
 */
import { AscendError } from '../../src/errors.js';
import { escapeControlChars } from '../../src/log-line.js';

/** The largest frame, in bytes of UTF-8 JSON without its newline: 1 MiB. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Raw bytes per stdin/stdout/stderr frame: base64 makes 4/3 of it, well under a frame. */
export const MAX_CHUNK_BYTES = 256 * 1024;

export type Frame = Record<string, unknown>;

/** A request: its op, an optional correlation id, and the op's own parameters. */
export interface IpcRequest {
  op: string;
  id?: string;
  [param: string]: unknown;
}

/** What may follow the request on the same connection. */
export type ClientFrame = { op: 'stdin'; data: string } | { op: 'stdin-end' } | { op: 'signal'; signal: string };

export interface IpcErrorBody {
  code: string;
  message: string;
  hint?: string;
}

export type ResultFrame = { kind: 'result'; ok: true; value: unknown } | { kind: 'result'; ok: false; error: IpcErrorBody };

const NEWLINE = 0x0a;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function protocolError(message: string): AscendError {
  return new AscendError('ASC_AGENT_PROTOCOL', message);
}

/** One frame as bytes, newline included; ASC_AGENT_PROTOCOL when it is over the limit. */
export function encodeFrame(frame: object): Buffer {
  const json = JSON.stringify(frame);
  if (json === undefined) throw protocolError('a frame must be a JSON object');
  const bytes = Buffer.from(`${json}\n`, 'utf8');
  if (bytes.length - 1 > MAX_FRAME_BYTES) throw protocolError(`a frame of ${bytes.length - 1} bytes is larger than the ${MAX_FRAME_BYTES}-byte limit`);
  return bytes;
}

/** One line (without its newline) to a frame: strict UTF-8, JSON, an object. */
export function parseFrame(line: Buffer): Frame {
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    throw protocolError('a frame is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // The parser quotes a piece of the frame: escaped, so no control character of it reaches a log or terminal.
    throw protocolError(escapeControlChars(`a frame is not valid JSON (${e instanceof Error ? e.message : String(e)})`.slice(0, 300)));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw protocolError('a frame is not a JSON object');
  return value as Frame;
}

/**
 * Cuts a byte stream into frames. `push` calls `onFrame` for every complete line in the chunk,
 * in order, then throws ASC_AGENT_PROTOCOL if a line is malformed or a line (complete or not)
 * grows past MAX_FRAME_BYTES; after a throw the decoder is unusable (close the connection).
 */
export class FrameDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private failed = false;

  /** Bytes held of a line not yet complete. */
  get pending(): number {
    return this.size;
  }

  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    if (this.failed) throw protocolError('the frame stream is already broken');
    try {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(NEWLINE, start);
        if (nl === -1) break;
        const piece = chunk.subarray(start, nl);
        start = nl + 1;
        if (this.size + piece.length > MAX_FRAME_BYTES) throw this.tooLarge();
        const line = this.size === 0 ? piece : Buffer.concat([...this.parts, piece]);
        this.parts = [];
        this.size = 0;
        onFrame(parseFrame(line));
      }
      const rest = chunk.subarray(start);
      if (rest.length > 0) {
        if (this.size + rest.length > MAX_FRAME_BYTES) throw this.tooLarge();
        this.parts.push(rest);
        this.size += rest.length;
      }
    } catch (e) {
      this.failed = true;
      this.parts = [];
      this.size = 0;
      throw e;
    }
  }

  /** At the end of the stream: a partial line left over is a protocol error. */
  end(): void {
    if (this.size > 0 && !this.failed) {
      this.failed = true;
      throw protocolError('the stream ended inside a frame (no final newline)');
    }
  }

  private tooLarge(): AscendError {
    return protocolError(`a frame is larger than the ${MAX_FRAME_BYTES}-byte limit`);
  }
}

/** The request frame, checked: an object with a non-empty string op and, if any, a string id. */
export function toRequest(frame: Frame): IpcRequest {
  if (typeof frame.op !== 'string' || frame.op === '') throw protocolError('the request has no "op" string');
  if (frame.id !== undefined && typeof frame.id !== 'string') throw protocolError('the request "id" must be a string');
  return frame as IpcRequest;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const SIGNAL_NAME = /^SIG[A-Z0-9]+$/;

/** A frame after the request, checked: stdin (base64 data), stdin-end, or signal (SIG...). */
export function toClientFrame(frame: Frame): ClientFrame {
  switch (frame.op) {
    case 'stdin':
      if (typeof frame.data !== 'string' || frame.data.length % 4 !== 0 || !BASE64.test(frame.data)) throw protocolError('a stdin frame needs base64 "data"');
      return { op: 'stdin', data: frame.data };
    case 'stdin-end':
      return { op: 'stdin-end' };
    case 'signal':
      if (typeof frame.signal !== 'string' || !SIGNAL_NAME.test(frame.signal)) throw protocolError('a signal frame needs a "signal" name such as SIGINT');
      return { op: 'signal', signal: frame.signal };
    default:
      throw protocolError(`unknown frame after the request: op ${escapeControlChars(JSON.stringify(frame.op ?? null)?.slice(0, 60) ?? '')}`);
  }
}

/** The error part of a result frame for an AscendError. */
export function errorBody(e: AscendError): IpcErrorBody {
  // The client prints these on the user's terminal: text that came from elsewhere (a collector's
  // approver name or refusal reason, a program's path) must not carry terminal controls or bidi overrides.
  return { code: e.code, message: escapeControlChars(e.message), ...(e.hint !== undefined ? { hint: escapeControlChars(e.hint) } : {}) };
}
