/**
 * The agent's durable event spool (DESIGN section 7): every event is appended here first,
 * fsynced per batch, and only then considered reported. The uploader reads from the
 * acknowledged position, sends, and moves the position after the collector's answer.
 *
 * On disk, in the spool folder: segment files `seg-<n>.log` of checksummed records (see
 * record.ts), `position.json` (the first record not yet acknowledged by the collector,
 * replaced atomically), and `drops.json` (events refused because the spool was full).
 * Segments wholly before the position are deleted. Disk use is bounded: an append that
 * would pass `maxBytes` stores nothing and counts its events as dropped; once there is
 * room again an agent-error event reports how many were dropped.
 *
 * The last `reserveBytes` of the spool are kept for the events that record elevations and
 * sessions (see usesReserve): denials, policy and agent-error events, which a user can cause
 * in any number, stop short of it, so a flood of them cannot keep an elevation out of the
 * spool. An elevation reserves the room for its event before its program starts (reserve),
 * and commits the event once it knows the pid.
 *
 * Crash safety: an append returns only after fdatasync; a crash mid-append leaves a torn
 * tail, which open() cuts off (that append never returned, so nothing acknowledged to the
 * caller is lost). A crash after sending but before the position moved resends the batch;
 * event ids make that harmless at the collector.
 */
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { replaceFileAtomically } from '../../src/atomic-file.js';
import { AscendError } from '../../src/errors.js';
import { SerialQueue } from '../../src/serial-queue.js';
import type { Event, EventRecord, EventType } from '../../src/collector-api/events.js';
import { decodeRecord, encodeRecord } from './record.js';

/**
 * An event as the spool keeps it: the contract's event (src/collector-api/events.ts), read
 * back as it was written, so its type is open (a record of another agent version); the
 * collector's schema decides what it takes.
 */
export type SpoolEvent = EventRecord;

export interface SpoolPosition {
  segment: number;
  offset: number;
}

export interface SpoolOptions {
  /** Total bytes of segment files the spool may hold (default 64 MiB). */
  maxBytes?: number;
  /** A segment is closed and a new one started past this size (default 4 MiB). */
  segmentBytes?: number;
  /** The last bytes of maxBytes only elevation and session events may use (default maxBytes / 8). */
  reserveBytes?: number;
}

/**
 * Events that record an elevation or a session: they may use the whole spool, reserve
 * included. Every other type (elevation-denied, passcode-refused, policy-applied,
 * agent-error, anything new) stops short of the reserve, and so does a failed MFA check
 * (a refusal a user can repeat at will, as a denial).
 */
const RESERVE_TYPES: ReadonlySet<string> = new Set<EventType>(['process-elevated', 'passcode-redeemed', 'session-expired', 'session-ended', 'processes-ended', 'approval-requested', 'justification', 'mfa']);

export function usesReserve(event: Pick<SpoolEvent, 'type'> & { result?: unknown }): boolean {
  if (event.type === 'mfa') return event.result === 'verified';
  return RESERVE_TYPES.has(event.type);
}

/**
 * Room held in the spool for one event that is not known in full yet (the pid of a program
 * about to start). Nothing else can use the room until it is committed or released.
 */
export interface SpoolReservation {
  readonly bytes: number;
  /** Writes the event durably into the held room (see Spool.reserve). */
  commit(event: SpoolEvent): Promise<void>;
  /** Gives the room back (the elevation did not happen). */
  release(): Promise<void>;
}

export interface SpoolBatch {
  events: SpoolEvent[];
  /** Where the batch ends: acknowledge this after the collector stored the batch. */
  next: SpoolPosition;
}

export interface SpoolStats {
  /** Bytes in segment files. */
  bytes: number;
  segments: number;
  /** Events dropped because the spool was full, ever. */
  dropped: number;
  /** Of those, how many an agent-error event has reported already. */
  droppedReported: number;
  /** Records cut off at open (torn tails) or skipped as damaged. */
  damaged: number;
  /** Bytes held for events about to be committed. */
  reserved: number;
  maxBytes: number;
  /** The part of maxBytes only elevation and session events may use. */
  reserveBytes: number;
}

const SEGMENT_RE = /^seg-(\d{10})\.log$/;
const segmentName = (n: number): string => `seg-${String(n).padStart(10, '0')}.log`;

async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export class Spool {
  /** One operation at a time: appends, reads and acknowledgements never interleave. */
  private readonly queue = new SerialQueue();
  private active: { n: number; handle: FileHandle; size: number } | undefined;
  /** Segment number → size in bytes, ascending. */
  private readonly sizes = new Map<number, number>();
  private position: SpoolPosition;
  private drops: { dropped: number; reported: number };
  private damaged = 0;
  private closed = false;
  /** Bytes held by reservations not yet committed or released. */
  private reserved = 0;
  /** A failed append left bytes after the active segment's last whole record that could not be cut off. */
  private tornTail = false;

  private constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly segmentBytes: number,
    private readonly reserveBytes: number,
    position: SpoolPosition,
    drops: { dropped: number; reported: number },
  ) {
    this.position = position;
    this.drops = drops;
  }

  static async open(dir: string, options: SpoolOptions = {}): Promise<Spool> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const position = (await readJson<SpoolPosition>(path.join(dir, 'position.json'))) ?? { segment: 1, offset: 0 };
    const drops = (await readJson<{ dropped: number; reported: number }>(path.join(dir, 'drops.json'))) ?? { dropped: 0, reported: 0 };
    const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    const reserveBytes = Math.min(maxBytes, Math.max(0, options.reserveBytes ?? Math.floor(maxBytes / 8)));
    const spool = new Spool(dir, maxBytes, options.segmentBytes ?? 4 * 1024 * 1024, reserveBytes, position, drops);
    await spool.recover();
    return spool;
  }

  /** Lists the segments, cuts a torn tail off the last one, removes acknowledged ones. */
  private async recover(): Promise<void> {
    const numbers = (await fs.readdir(this.dir))
      .map((f) => SEGMENT_RE.exec(f)?.[1])
      .filter((m): m is string => m !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const n of numbers) {
      if (n < this.position.segment) {
        await fs.rm(path.join(this.dir, segmentName(n)), { force: true });
        continue;
      }
      this.sizes.set(n, (await fs.stat(path.join(this.dir, segmentName(n)))).size);
    }
    const last = numbers.filter((n) => n >= this.position.segment).at(-1);
    if (last !== undefined) {
      const file = path.join(this.dir, segmentName(last));
      const buf = await fs.readFile(file);
      let offset = 0;
      for (;;) {
        const r = decodeRecord(buf, offset);
        if (!('payload' in r)) {
          if (r.reason !== 'end') {
            this.damaged++;
            await fs.truncate(file, offset);
            this.sizes.set(last, offset);
          }
          break;
        }
        offset = r.end;
      }
    }
    const n = Math.max(last ?? 0, this.position.segment);
    await this.openSegment(n);
  }

  private async openSegment(n: number): Promise<void> {
    const handle = await fs.open(path.join(this.dir, segmentName(n)), 'a+', 0o600);
    const size = (await handle.stat()).size;
    this.active = { n, handle, size };
    if (!this.sizes.has(n)) {
      this.sizes.set(n, size);
      // The new file's name must survive a crash too.
      await fsyncDir(this.dir);
    }
  }

  private totalBytes(): number {
    let total = 0;
    for (const s of this.sizes.values()) total += s;
    return total;
  }

  /** Bytes an append of these events may bring the spool to: all of it, or short of the reserve. */
  private limitFor(events: readonly SpoolEvent[]): number {
    return events.every((e) => usesReserve(e)) ? this.maxBytes : this.maxBytes - this.reserveBytes;
  }

  /**
   * Appends events durably (one write, one fdatasync). Returns how many were stored; when the
   * spool is full none are, and they are counted as dropped. Events that may not use the
   * reserve count it as full already.
   */
  append(events: readonly SpoolEvent[]): Promise<{ stored: number; dropped: number }> {
    return this.queue.run(async () => {
      this.ensureOpen();
      if (events.length === 0) return { stored: 0, dropped: 0 };
      const records = events.map((e) => encodeRecord(Buffer.from(JSON.stringify(e), 'utf8')));
      const bytes = records.reduce((n, r) => n + r.length, 0);
      const used = this.totalBytes() + this.reserved;
      if (used + bytes > this.limitFor(events)) {
        this.drops.dropped += events.length;
        await this.saveDrops();
        return { stored: 0, dropped: events.length };
      }
      // The drop report goes first when it fits short of the reserve too; else it waits.
      const report = this.drops.dropped > this.drops.reported ? encodeRecord(Buffer.from(JSON.stringify(this.dropReport()), 'utf8')) : undefined;
      const withReport = report !== undefined && used + bytes + report.length <= this.maxBytes - this.reserveBytes;
      await this.write(withReport ? Buffer.concat([report, ...records]) : Buffer.concat(records));
      if (withReport) {
        this.drops.reported = this.drops.dropped;
        await this.saveDrops();
      }
      return { stored: events.length, dropped: 0 };
    });
  }

  /**
   * Holds `bytes` of the spool, reserve included, for one event to be committed later;
   * undefined (and the event counted as dropped) when the spool cannot hold them.
   *
   * Why this is enough to never lose the event of a program that was started: the room is
   * taken under the spool's one-at-a-time queue, so no other append can use it; every append
   * and reservation counts the held bytes as used; and commit writes into the held room
   * without asking again. The caller sizes the hold with the largest value of each field it
   * does not know yet, so the committed event is no larger (were it larger, commit still
   * writes it: the bound is passed by those few bytes rather than an elevation lost). What
   * remains is the disk failing under the write itself (EIO, a file system full through
   * other files), where commit rejects and the caller ends the program, and the agent being
   * killed in the milliseconds between the start and the write, which only root can do.
   */
  reserve(bytes: number): Promise<SpoolReservation | undefined> {
    return this.queue.run(async () => {
      this.ensureOpen();
      const held = Math.max(0, Math.ceil(bytes));
      if (this.totalBytes() + this.reserved + held > this.maxBytes) {
        this.drops.dropped += 1;
        await this.saveDrops();
        return undefined;
      }
      this.reserved += held;
      let open = true;
      const settle = (): boolean => {
        if (!open) return false;
        open = false;
        this.reserved -= held;
        return true;
      };
      return {
        bytes: held,
        commit: (event: SpoolEvent) =>
          this.queue.run(async () => {
            this.ensureOpen();
            if (!settle()) throw new AscendError('ASC_INTERNAL', 'the spool reservation was used already');
            await this.write(encodeRecord(Buffer.from(JSON.stringify(event), 'utf8')));
          }),
        release: () =>
          this.queue.run(async () => {
            settle();
          }),
      };
    });
  }

  /** The bytes one event takes in the spool. */
  static recordBytes(event: SpoolEvent): number {
    return encodeRecord(Buffer.from(JSON.stringify(event), 'utf8')).length;
  }

  private dropReport(): Event {
    const total = this.drops.dropped;
    return {
      // The same report (same total) keeps the same id, so a resend is stored once.
      id: `spool-drop-${total}`,
      type: 'agent-error',
      time: Date.now(),
      message: `the event spool was full: ${total - this.drops.reported} events were dropped (${total} in all)`,
      data: { dropped: total - this.drops.reported, droppedTotal: total },
    };
  }

  private async saveDrops(): Promise<void> {
    await replaceFileAtomically(path.join(this.dir, 'drops.json'), Buffer.from(JSON.stringify(this.drops)), 0o600);
  }

  private async write(bytes: Buffer): Promise<void> {
    let active = this.active as NonNullable<Spool['active']>;
    if (this.tornTail || (active.size > 0 && active.size + bytes.length > this.segmentBytes)) {
      await active.handle.close();
      await this.openSegment(active.n + 1);
      active = this.active as NonNullable<Spool['active']>;
      this.tornTail = false;
    }
    try {
      // A full disk writes part of a buffer and says how much (a short write): all of it or an error.
      for (let done = 0; done < bytes.length; ) {
        const { bytesWritten } = await active.handle.write(bytes, done, bytes.length - done);
        if (bytesWritten <= 0) throw new AscendError('ASC_INTERNAL', `the spool segment ${segmentName(active.n)} took no more bytes`);
        done += bytesWritten;
      }
      await active.handle.datasync();
    } catch (e) {
      // What a failed append left is cut off: the next record starts where the last whole one
      // ends, never behind a torn one (which the next start would cut off, and all after it).
      // When even that fails, the next append goes to a new segment.
      await active.handle.truncate(active.size).then(
        () => active.handle.datasync(),
        () => {
          this.tornTail = true;
        },
      ).catch(() => {
        this.tornTail = true;
      });
      throw e;
    }
    active.size += bytes.length;
    this.sizes.set(active.n, active.size);
  }

  /**
   * The next events after the acknowledged position, up to `maxEvents` and about `maxBytes`
   * of payload. A damaged record (not at the tail) is skipped, counted, and the read goes on
   * with the next segment: one bad sector does not stop reporting.
   */
  read(maxEvents = 1000, maxBytes = 900 * 1024): Promise<SpoolBatch> {
    return this.queue.run(async () => {
      this.ensureOpen();
      const events: SpoolEvent[] = [];
      let pos = { ...this.position };
      let bytes = 0;
      const lastSegment = this.active?.n ?? pos.segment;
      while (events.length < maxEvents && bytes < maxBytes) {
        const size = this.sizes.get(pos.segment) ?? 0;
        if (pos.offset >= size) {
          if (pos.segment >= lastSegment) break;
          pos = { segment: pos.segment + 1, offset: 0 };
          continue;
        }
        // A segment is a few MiB at most: read the rest of it and decode what the batch needs.
        const buf = await this.readSegment(pos.segment, pos.offset, size - pos.offset);
        let offset = 0;
        let damaged = false;
        while (events.length < maxEvents && bytes < maxBytes) {
          const r = decodeRecord(buf, offset);
          if (!('payload' in r)) {
            damaged = r.reason !== 'end';
            break;
          }
          try {
            events.push(JSON.parse(r.payload.toString('utf8')) as SpoolEvent);
          } catch {
            this.damaged++;
          }
          bytes += r.payload.length;
          offset = r.end;
        }
        if (damaged) {
          // Nothing after a damaged record of this segment can be framed: skip to the next one.
          this.damaged++;
          pos = pos.segment >= lastSegment ? { segment: pos.segment, offset: size } : { segment: pos.segment + 1, offset: 0 };
        } else {
          pos = { segment: pos.segment, offset: pos.offset + offset };
        }
      }
      return { events, next: pos };
    });
  }

  private async readSegment(n: number, offset: number, length: number): Promise<Buffer> {
    if (this.active?.n === n) {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await this.active.handle.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    }
    const h = await fs.open(path.join(this.dir, segmentName(n)), 'r');
    try {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await h.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await h.close();
    }
  }

  /** The collector stored everything before `next`: move the position there and delete finished segments. */
  ack(next: SpoolPosition): Promise<void> {
    return this.queue.run(async () => {
      this.ensureOpen();
      if (next.segment < this.position.segment || (next.segment === this.position.segment && next.offset < this.position.offset)) return;
      await replaceFileAtomically(path.join(this.dir, 'position.json'), Buffer.from(JSON.stringify(next)), 0o600);
      this.position = { ...next };
      for (const n of [...this.sizes.keys()]) {
        if (n < next.segment && n !== this.active?.n) {
          await fs.rm(path.join(this.dir, segmentName(n)), { force: true });
          this.sizes.delete(n);
        }
      }
    });
  }

  /** Whether every stored event has been acknowledged. */
  async isDrained(): Promise<boolean> {
    const b = await this.read(1);
    return b.events.length === 0;
  }

  stats(): SpoolStats {
    return {
      bytes: this.totalBytes(),
      segments: this.sizes.size,
      dropped: this.drops.dropped,
      droppedReported: this.drops.reported,
      damaged: this.damaged,
      reserved: this.reserved,
      maxBytes: this.maxBytes,
      reserveBytes: this.reserveBytes,
    };
  }

  close(): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.active?.handle.close();
    });
  }

  private ensureOpen(): void {
    if (this.closed) throw new AscendError('ASC_INTERNAL', 'the spool is closed');
  }
}
