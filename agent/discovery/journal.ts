/**
 * Follows sudo's entries in the systemd journal through `journalctl -o json -f`, resuming
 * after the saved cursor. journalctl's own match (_COMM=sudo) only narrows what it
 * sends; every entry is still checked (./journal-entry.ts), and its cursor becomes the
 * position once the batch it is in was handled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { journalEntry } from './journal-entry.js';
import { idOf } from './position.js';
import type { Found, FollowerOptions } from './follower.js';

/** A line longer than this is not read (its bytes are skipped up to the next newline). */
const MAX_LINE = 8 * 1024 * 1024;
const BATCH = 256;
const HIGH_WATER = 2048;

export interface JournalOptions extends FollowerOptions {
  cursor?: string;
  /** Real paths of sudo: an entry counts only when the journal says one of them wrote it. */
  sudoExes: ReadonlySet<string>;
  /** journalctl (default: /usr/bin/journalctl). */
  journalctl?: string;
  /** More arguments before the matches (tests: --directory, --file). */
  extraArgs?: readonly string[];
}

export class JournalFollower {
  private child: ChildProcess | undefined;
  private cursor: string | undefined;
  private lines: string[] = [];
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private skipping = false;
  private busy = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs = 1000;

  constructor(private readonly opts: JournalOptions) {
    this.cursor = opts.cursor;
  }

  start(): void {
    if (this.stopped || this.child) return;
    const args = ['-o', 'json', '-f', '--no-pager', '-q', '--no-tail', ...(this.cursor ? [`--after-cursor=${this.cursor}`] : []), ...(this.opts.extraArgs ?? []), '_COMM=sudo'];
    // By its absolute path, never through PATH: /usr/local can be writable by the staff group on Debian.
    const child = spawn(this.opts.journalctl ?? '/usr/bin/journalctl', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' },
    });
    this.child = child;
    this.lines = [];
    this.partial = [];
    this.partialBytes = 0;
    this.skipping = false;
    let errText = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (errText.length < 2000) errText += d.toString('utf8');
    });
    child.stdout?.on('data', (d: Buffer) => this.take(d));
    child.on('error', (e) => this.opts.log('warn', `discovery: journalctl could not start: ${e.message}`));
    child.on('close', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopped) return;
      this.opts.log('warn', `discovery: journalctl ended (${signal ?? `exit ${code}`})${errText ? `: ${errText.trim().split('\n')[0]}` : ''}; following again in ${Math.round(this.backoffMs / 1000)} s`);
      this.restartLater();
    });
  }

  private restartLater(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, this.backoffMs);
    this.timer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, 60_000);
  }

  /** Splits stdout into lines; a line past MAX_LINE is dropped whole. */
  private take(d: Buffer): void {
    let from = 0;
    for (let nl = d.indexOf(0x0a); nl >= 0; nl = d.indexOf(0x0a, from)) {
      const piece = d.subarray(from, nl);
      if (!this.skipping && this.partialBytes + piece.length <= MAX_LINE) {
        this.lines.push(Buffer.concat([...this.partial, piece]).toString('utf8'));
      } else {
        this.opts.count('too-large');
      }
      this.partial = [];
      this.partialBytes = 0;
      this.skipping = false;
      from = nl + 1;
    }
    const rest = d.subarray(from);
    if (rest.length) {
      if (this.partialBytes + rest.length > MAX_LINE) {
        this.skipping = true;
        this.partial = [];
        this.partialBytes = 0;
      } else if (!this.skipping) {
        this.partial.push(Buffer.from(rest));
        this.partialBytes += rest.length;
      }
    }
    if (this.lines.length > HIGH_WATER) this.child?.stdout?.pause();
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.lines.length && !this.stopped) {
        const child = this.child;
        const batch = this.lines.splice(0, BATCH);
        const found: Found[] = [];
        let last: string | undefined;
        for (const line of batch) {
          if (line.trim() === '') continue;
          const e = journalEntry(line, this.opts.sudoExes);
          if (e.cursor === null) {
            this.opts.count('malformed');
            continue;
          }
          last = e.cursor;
          found.push({ id: idOf('journal', e.cursor), source: 'journal', outcome: e.outcome, ...('senderUid' in e ? { senderUid: e.senderUid } : {}) });
        }
        if (last === undefined) continue;
        const done = await this.opts.handle(found, { journal: { cursor: last } }).catch((e: unknown) => {
          this.opts.log('error', `discovery: ${e instanceof Error ? e.message : String(e)}`);
          return false;
        });
        if (!done) {
          // Not in the spool: read again from the saved cursor, later.
          this.lines = [];
          if (child && this.child === child) {
            this.child = undefined;
            child.kill('SIGTERM');
          }
          if (!this.stopped) this.restartLater();
          return;
        }
        this.cursor = last;
        this.backoffMs = 1000;
        if (this.lines.length < HIGH_WATER / 2) this.child?.stdout?.resume();
      }
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      await closed;
    }
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
  }
}
