/**
 * Follows sudo's JSON log file (`Defaults log_format=json` with `logfile=`): polled, read
 * from the saved offset, events parsed as sudo writes them (./sudo-record.ts scanJsonLog).
 *
 * Only a file sudo can have written counts: opened without following a link (nor blocking
 * on a FIFO, nor taking a terminal), a regular file owned by root that no group or other user
 * may write. A new file at the path (another inode, or a birth time that differs: rotation),
 * or one shorter than the saved offset (truncated), is read from its start.
 */
import { createHash } from 'node:crypto';
import { constants as fsc, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { parseSudoJson, scanJsonLog, skipEvent, MAX_RECORD_BYTES } from './sudo-record.js';
import { idOf, type LogFilePosition } from './position.js';
import type { Found, FollowerOptions } from './follower.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The most read at once: a complete event always fits (the largest is MAX_RECORD_BYTES). */
const WINDOW = 2 * MAX_RECORD_BYTES;

export interface SudoLogOptions extends FollowerOptions {
  file: string;
  position?: LogFilePosition;
  /** How often the file is looked at (default 1 s). */
  intervalMs?: number;
}

export class SudoLogFollower {
  private position: LogFilePosition | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  /** The last problem logged, so a lasting one is logged once. */
  private lastProblem = '';
  /**
   * The identity of a file seen unsafe (not root's, or writable by others): what it holds
   * when it is safe again may have been written by anyone, so reading resumes at its end.
   */
  private tainted: string | undefined;
  /** An oversized event found unfinished at this offset when the file had this size. */
  private unfinished: { offset: number; size: number } | undefined;

  constructor(private readonly opts: SudoLogOptions) {
    this.position = opts.position?.file === opts.file ? opts.position : undefined;
  }

  start(): void {
    if (this.stopped || this.timer || this.running) return;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.poll()
        .catch((e: unknown) => this.problem(`discovery: reading ${this.opts.file} failed: ${e instanceof Error ? e.message : String(e)}`))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.opts.intervalMs ?? 1000);
        });
    }, ms);
    this.timer.unref();
  }

  private problem(message: string): void {
    if (message !== this.lastProblem) this.opts.log('warn', message);
    this.lastProblem = message;
  }

  /** One look at the file: every complete event after the saved offset is handled. */
  private async poll(): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await fs.open(this.opts.file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Not there yet (sudo creates it at its first command) is not a problem.
      if (code !== 'ENOENT') this.problem(`discovery: ${this.opts.file} cannot be opened (${code === 'ELOOP' ? 'it is a symbolic link' : (code ?? 'error')}); it is not read`);
      return;
    }
    try {
      const st = await handle.stat({ bigint: false });
      if (!st.isFile() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
        this.tainted = `${st.dev}:${st.ino}`;
        this.problem(`discovery: ${this.opts.file} is not read: only a regular file owned by root that no one else may write is sudo's log (it is ${st.isFile() ? `owned by uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}` : 'not a regular file'})`);
        return;
      }
      const birth = Math.floor(st.birthtimeMs > 0 ? st.birthtimeMs : 0);
      let pos = this.position;
      if (!pos || pos.dev !== st.dev || pos.ino !== st.ino || pos.birth !== birth || st.size < pos.offset) {
        pos = { file: this.opts.file, dev: st.dev, ino: st.ino, birth, offset: 0 };
      }
      if (pos.offset > 0 && !(await this.stillThere(handle, pos))) {
        pos = { file: this.opts.file, dev: st.dev, ino: st.ino, birth, offset: 0 };
      }
      const skipAll = this.tainted === `${st.dev}:${st.ino}`;
      this.tainted = undefined;
      while (!this.stopped && pos.offset < st.size) {
        const length = Math.min(WINDOW, st.size - pos.offset);
        const buf = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(buf, 0, length, pos.offset);
        const scan = scanJsonLog(buf.subarray(0, bytesRead), pos.offset);
        if (scan.foreign) {
          this.problem(`discovery: ${this.opts.file} is not sudo's JSON log at offset ${scan.next} (set "Defaults log_format=json" for it); it is read again once it is replaced`);
          if (scan.events.length === 0) return;
        }
        if (scan.events.length === 0) {
          // The opening brace only, or an event still being written.
          if (scan.next > pos.offset) pos = { ...pos, offset: scan.next };
          this.position = pos;
          if (!(length === WINDOW && bytesRead === WINDOW)) break;
          // An event larger than a whole window (a user decides how long sudo's record of their
          // command is): stepped over in pieces, counted as too large, never a stop of discovery.
          const readAt = async (offset: number, len: number): Promise<Uint8Array> => {
            const piece = Buffer.allocUnsafe(len);
            const r = await handle.read(piece, 0, len, offset);
            return piece.subarray(0, r.bytesRead);
          };
          // An event still unfinished at this size was lexed to the end already: not again until the file grows.
          if (this.unfinished !== undefined && this.unfinished.offset === pos.offset && this.unfinished.size === st.size) break;
          const end = await skipEvent(readAt, pos.offset, st.size);
          if (end === null) {
            this.problem(`discovery: ${this.opts.file} is not sudo's JSON log at offset ${pos.offset} (set "Defaults log_format=json" for it); it is read again once it is replaced`);
            return;
          }
          if (end < 0) {
            this.unfinished = { offset: pos.offset, size: st.size };
            break;
          }
          this.unfinished = undefined;
          const tailFrom = Math.max(pos.offset, end - 64);
          const tail = await readAt(tailFrom, end - tailFrom);
          const over: LogFilePosition = { ...pos, offset: end, check: { from: tailFrom, sha256: sha256(tail) } };
          const skipped: Found[] = skipAll ? [] : [{ id: idOf('sudo-json-log', `${st.dev}:${st.ino}:${birth}:${pos.offset}:${end}:${sha256(tail)}`), source: 'sudo-json-log', outcome: { ok: false, why: 'too-large' } }];
          if (skipAll) this.opts.count('unsafe-file');
          if (!(await this.opts.handle(skipped, { log: over }))) return;
          this.problem(`discovery: ${this.opts.file} has an event of ${end - pos.offset} bytes at offset ${pos.offset}, more than ${WINDOW}: skipped`);
          pos = over;
          this.position = pos;
          continue;
        }
        if (skipAll) {
          // Written while anyone could write it: skipped (counted), never reported.
          for (let k = 0; k < scan.events.length; k++) this.opts.count('unsafe-file');
          const last = scan.events[scan.events.length - 1] as (typeof scan.events)[number];
          pos = { ...pos, offset: scan.next, check: { from: last.offset, sha256: sha256(buf.subarray(last.offset - pos.offset, scan.next - pos.offset)) } };
          continue;
        }
        const base = pos.offset;
        const found: Found[] = scan.events.map((ev) => ({
          // The event's bytes too: a file truncated in place holds other events at the same offsets.
          id: idOf('sudo-json-log', `${st.dev}:${st.ino}:${birth}:${ev.offset}:${sha256(buf.subarray(ev.offset - base, ev.end - base))}`),
          source: 'sudo-json-log',
          outcome: ev.why ? { ok: false, why: ev.why } : parseSudoJson(ev.kind, ev.body),
        }));
        const last = scan.events[scan.events.length - 1] as (typeof scan.events)[number];
        const next: LogFilePosition = { ...pos, offset: scan.next, check: { from: last.offset, sha256: sha256(buf.subarray(last.offset - pos.offset, scan.next - pos.offset)) } };
        // A failure (thrown) is logged by schedule's catch; the next poll reads them again.
        if (!(await this.opts.handle(found, { log: next }))) return;
        pos = next;
        this.position = pos;
        this.lastProblem = '';
      }
      this.position = pos;
      if (skipAll) {
        await this.opts.handle([], { log: pos });
        this.opts.log('warn', `discovery: ${this.opts.file} was writable by others; what it held up to offset ${pos.offset} is not reported`);
      }
    } finally {
      await handle.close();
    }
  }

  /** Whether the last event read is still where it was (see LogFilePosition.check). */
  private async stillThere(handle: FileHandle, pos: LogFilePosition): Promise<boolean> {
    if (!pos.check) return true;
    const length = pos.offset - pos.check.from;
    if (length <= 0 || length > WINDOW) return false;
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buf, 0, length, pos.check.from);
    return bytesRead === length && sha256(buf) === pos.check.sha256;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
