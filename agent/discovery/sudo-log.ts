/**
 * Follows sudo's JSON log file (`Defaults log_format=json` with `logfile=`): polled, read
 * from the saved offset, events parsed as sudo writes them (./sudo-record.ts scanJsonLog).
 *
 * Only a file sudo can have written counts: opened without following a link (nor blocking
 * on a FIFO, nor taking a terminal), a regular file owned by root that no group or other user
 * may write. A new file at the path (another inode, or a birth time that differs: rotation),
 * or one shorter than the saved offset (truncated), is read from its start.
 */
import { constants as fsc, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { parseSudoJson, scanJsonLog, MAX_RECORD_BYTES } from './sudo-record.js';
import { idOf, type LogFilePosition } from './position.js';
import type { Found, FollowerOptions } from './follower.js';

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
        this.problem(`discovery: ${this.opts.file} is not read: only a regular file owned by root that no one else may write is sudo's log (it is ${st.isFile() ? `owned by uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}` : 'not a regular file'})`);
        return;
      }
      const birth = Math.floor(st.birthtimeMs > 0 ? st.birthtimeMs : 0);
      let pos = this.position;
      if (!pos || pos.dev !== st.dev || pos.ino !== st.ino || pos.birth !== birth || st.size < pos.offset) {
        pos = { file: this.opts.file, dev: st.dev, ino: st.ino, birth, offset: 0 };
      }
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
          if (length === WINDOW && bytesRead === WINDOW) this.problem(`discovery: ${this.opts.file} has an event larger than ${WINDOW} bytes at offset ${pos.offset}; reading stops there`);
          return;
        }
        const found: Found[] = scan.events.map((ev) => ({
          id: idOf('sudo-json-log', `${st.dev}:${st.ino}:${birth}:${ev.offset}`),
          source: 'sudo-json-log',
          outcome: ev.why ? { ok: false, why: ev.why } : parseSudoJson(ev.kind, ev.body),
        }));
        const next: LogFilePosition = { ...pos, offset: scan.next };
        if (!(await this.opts.handle(found, { log: next }))) return;
        pos = next;
        this.position = pos;
        this.lastProblem = '';
      }
      this.position = pos;
    } finally {
      await handle.close();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
