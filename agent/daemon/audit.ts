/**
 * The agent's audit trail on top of the spool: every event is cut to the collector's
 * published limits (../spool/fit.ts) before it is spooled; the event of an elevation or a
 * TSE redemption has its room held before the program or session starts, so one that
 * cannot be recorded is refused (fail closed); and repeated identical refusals are
 * aggregated, so a user who repeats a denied request cannot fill the spool with copies.
 *
 * Events are the contract's (src/collector-api/events.ts): the type is one of EVENT_TYPES and
 * the fields are the schema's, so what the agent spools is what the collector takes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { AscendError } from '../../src/errors.js';
import { EVENT_TEXT_MAX } from '../../src/collector-api/limits.js';
import type { Event, EventFields, EventType } from '../../src/collector-api/events.js';
import { fitEvent } from '../spool/fit.js';
import { Spool, type SpoolReservation } from '../spool/spool.js';

export interface AuditOptions {
  spool: Spool;
  computer: string;
  /** The time events carry (the agent's monotonic-safe clock). */
  now: () => number;
  /** Whether the policy collects events of this type; the others are not spooled at all. */
  collects: (type: EventType) => boolean;
  /** Called after an event was spooled (wakes the uploader). */
  onSpooled?: () => void;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** How long identical refusals are counted instead of spooled (default 60 s). */
  repeatWindowMs?: number;
  /** Distinct refusals tracked at once (default 1024); the oldest is summed up early past it. */
  repeatKeys?: number;
  /** The clock of the repeat windows (default performance.now). */
  monotonic?: () => number;
}

/** An event whose room in the spool is held; it is written with what only later is known. */
export interface PendingEvent {
  /** Writes the event with `fields` added (a pid). Rejects only when the disk write fails. */
  commit(fields?: EventFields): Promise<void>;
  /** Gives the room back; harmless after commit. */
  release(): Promise<void>;
  /** Gives the room back and rethrows `error` (for a start that failed). */
  abandon(error: unknown): Promise<never>;
}

/** Refusals a user can repeat at will: the same one within the window is counted, not spooled again. */
function repeatable(type: EventType, fields: EventFields): boolean {
  return type === 'elevation-denied' || type === 'passcode-refused' || (type === 'mfa' && fields.result !== 'verified');
}

interface Repeat {
  fields: EventFields;
  type: EventType;
  windowStart: number;
  /** Identical events since the last one spooled. */
  count: number;
  firstAt: string;
  lastAt: string;
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

export class AuditTrail {
  private readonly repeats = new Map<string, Repeat>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly monotonic: () => number;

  constructor(private readonly opts: AuditOptions) {
    this.windowMs = opts.repeatWindowMs ?? 60_000;
    this.maxKeys = opts.repeatKeys ?? 1024;
    this.monotonic = opts.monotonic ?? (() => performance.now());
  }

  private event(type: EventType, fields: EventFields, id: string = randomUUID()): Event {
    return fitEvent<Event>({ id, type, time: new Date(this.opts.now()).toISOString(), computer: this.opts.computer, ...fields });
  }

  /**
   * Spools an event if its type is collected; settles once it is on disk (or counted as
   * dropped). Never rejects. Repeated identical refusals are counted (see repeatable): the
   * first is spooled at once, the repeats within the window as one event with
   * `data.repeated` when the window closes.
   */
  emit(type: EventType, fields: EventFields): Promise<void>;
  emit(anyType: string, anyFields: EventFields | Record<string, unknown>): Promise<void> {
    const [type, fields] = [anyType as EventType, anyFields as EventFields];
    if (!this.opts.collects(type)) return Promise.resolve();
    if (repeatable(type, fields) && this.counted(type, fields)) return Promise.resolve();
    return this.write(this.event(type, fields));
  }

  /**
   * Spools an event whose id and time the caller gives (a discovered command: the id comes
   * from the record's position, so one read twice is stored once by the collector; the time is
   * when it happened). True once it is on disk, or its type is not collected; false when the
   * spool did not take it (full, or the write failed), for the caller to try again later.
   */
  async emitWithId(type: EventType, fields: EventFields, id: string, time?: string): Promise<boolean> {
    if (!this.opts.collects(type)) return true;
    const event = this.event(type, fields, id);
    if (time !== undefined) event.time = time;
    try {
      const { stored } = await this.opts.spool.append([event]);
      if (stored > 0) this.opts.onSpooled?.();
      return stored > 0;
    } catch (e) {
      this.opts.log?.('error', `event ${event.type} not spooled: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  }

  private async write(event: Event): Promise<void> {
    try {
      await this.opts.spool.append([event]);
      this.opts.onSpooled?.();
    } catch (e) {
      this.opts.log?.('error', `event ${event.type} not spooled: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** True when the event repeats one spooled within the window (it is counted instead). */
  private counted(type: EventType, fields: EventFields): boolean {
    const key = sha256(
      JSON.stringify([type, fields.user, fields.processPath, typeof fields.args === 'string' ? sha256(fields.args) : null, fields.reason, fields.result, fields.rule, fields.passcodeId, fields.message]),
    );
    const at = new Date(this.opts.now()).toISOString();
    const seen = this.repeats.get(key);
    if (seen) {
      seen.count++;
      seen.lastAt = at;
      return true;
    }
    if (this.repeats.size >= this.maxKeys) {
      const [oldestKey, oldest] = this.repeats.entries().next().value as [string, Repeat];
      this.repeats.delete(oldestKey);
      if (oldest.count > 0) void this.write(this.summary(oldest));
    }
    // Kept for the summary, with text fields cut short (their markers name the full values):
    // a thousand windows open at once stay a few megabytes.
    this.repeats.set(key, { fields: fitEvent(fields, EVENT_TEXT_MAX), type, windowStart: this.monotonic(), count: 0, firstAt: at, lastAt: at });
    this.sweeper ??= setInterval(() => void this.sweep(), Math.max(100, Math.floor(this.windowMs / 4)));
    this.sweeper.unref();
    return false;
  }

  private summary(r: Repeat): Event {
    const message = typeof r.fields.message === 'string' ? `${r.fields.message} ` : '';
    return this.event(r.type, {
      ...r.fields,
      message: `${message}(repeated ${r.count} more time${r.count === 1 ? '' : 's'} from ${r.firstAt} to ${r.lastAt})`,
      data: { ...(r.fields.data ?? {}), repeated: r.count, firstAt: r.firstAt, lastAt: r.lastAt },
    });
  }

  /** Closes the windows that are over: their repeats are spooled as one event, and a new window starts. */
  private async sweep(all = false): Promise<void> {
    const now = this.monotonic();
    for (const [key, r] of [...this.repeats]) {
      if (!all && now - r.windowStart < this.windowMs) continue;
      if (r.count === 0 || all) {
        this.repeats.delete(key);
      } else {
        // A flood goes on: one summary per window, not one event per request.
        r.windowStart = now;
        r.firstAt = r.lastAt;
      }
      if (r.count > 0) {
        const summary = this.summary(r);
        r.count = 0;
        await this.write(summary);
      }
    }
    if (this.repeats.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Spools every open window's repeats now (the agent is stopping). */
  async flush(): Promise<void> {
    await this.sweep(true);
  }

  /**
   * Holds the room for an event of an elevation or a session before it happens, or throws
   * ASC_AUDIT_UNAVAILABLE when the spool cannot take it, so the caller refuses before
   * anything starts. `unknown` gives each field only known later (a pid) its largest value,
   * so the event committed later fits in the room held (see Spool.reserve). A type the
   * policy does not collect holds nothing and commits nothing.
   */
  async reserve(what: string, type: EventType, fields: EventFields, unknown?: EventFields, eventId?: string): Promise<PendingEvent>;
  async reserve(what: string, anyType: string, anyFields: EventFields | Record<string, unknown>, anyUnknown: EventFields | Record<string, unknown> = {}, eventId?: string): Promise<PendingEvent> {
    const [type, fields, unknown] = [anyType as EventType, anyFields as EventFields, anyUnknown as EventFields];
    if (!this.opts.collects(type)) {
      return {
        commit: async () => undefined,
        release: async () => undefined,
        abandon: async (error: unknown) => {
          throw error;
        },
      };
    }
    // A caller-given id: the same event written again (after a crash) is stored once by the collector.
    const id = eventId ?? randomUUID();
    const largest = this.event(type, { ...fields, ...unknown }, id);
    let held: SpoolReservation | undefined;
    try {
      held = await this.opts.spool.reserve(Spool.recordBytes(largest));
    } catch (e) {
      throw new AscendError('ASC_AUDIT_UNAVAILABLE', `${what} is refused: the agent cannot record it (${e instanceof Error ? e.message : String(e)}); nothing was started`);
    }
    if (!held) {
      throw new AscendError('ASC_AUDIT_UNAVAILABLE', `${what} is refused: the agent cannot record it because its event spool is full; nothing was started`, {
        hint: 'connect the computer to the collector so the spool drains, then try again',
      });
    }
    const room = held;
    return {
      commit: async (later: EventFields = {}) => {
        await room.commit(this.event(type, { ...fields, ...later }, id));
        this.opts.onSpooled?.();
      },
      release: () => room.release(),
      abandon: async (error: unknown) => {
        await room.release();
        throw error;
      },
    };
  }

  /**
   * Runs `action` (starting a session) only with the room for its event held; spools the
   * event when it returns true, gives the room back otherwise. Throws ASC_AUDIT_UNAVAILABLE
   * before `action` when the event could not be recorded. Should the disk fail the write
   * itself, `undo` takes back what `action` did before the error goes on.
   */
  async recorded(what: string, type: EventType, fields: EventFields, action: () => Promise<boolean>, undo: () => Promise<unknown>, eventId?: string): Promise<boolean>;
  async recorded(what: string, type: string, fields: EventFields | Record<string, unknown>, action: () => Promise<boolean>, undo: () => Promise<unknown>, eventId?: string): Promise<boolean> {
    const pending = await this.reserve(what, type as EventType, fields as EventFields, {}, eventId);
    try {
      const done = await action();
      if (done) {
        await pending.commit().catch(async (e: unknown) => {
          await undo().catch(() => undefined);
          throw new AscendError('ASC_AUDIT_UNAVAILABLE', `${what} was undone: the agent could not record it (${e instanceof Error ? e.message : String(e)})`);
        });
      }
      return done;
    } finally {
      await pending.release();
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
