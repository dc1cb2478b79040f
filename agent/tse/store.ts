/**
 * The agent's durable TSE state: how often each passcode was used on this machine, the
 * sessions it started, and the latest time the agent has seen.
 *
 * One JSON file in the state folder, replaced atomically and fsynced (file and folder) on
 * every change before the change is acted on: a use is counted on disk before its session
 * starts, so a crash or kill -9 can lose a session but never give a use back.
 *
 * Time never runs backwards here: `now()` is the later of the system clock and the latest
 * time saved, so setting the clock back does not revive an expired session, move a
 * passcode back into its activation window, or re-open a finished one.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { replaceFileAtomically } from '../../src/atomic-file.js';
import { SerialQueue } from '../../src/serial-queue.js';
import { AscendError } from '../../src/errors.js';

export interface TseSession {
  sessionId: string;
  passcodeId: string;
  passcodeTitle: string;
  uid: number;
  user: string;
  startedAt: number;
  endsAt: number;
  endProcesses: boolean;
  groups: string[];
  privileges: string[];
  integrity: string;
  /** Set once the session is over: expired, or ended early (agent told so). */
  ended?: { at: number; reason: 'expired' | 'ended' };
  /**
   * Its events not known to be in the spool yet (passcode-redeemed when it starts,
   * session-expired or session-ended when it ends): each is saved with the change it records
   * and dropped once spooled, so an agent killed in between spools it at its next start, under
   * the same id (the collector stores an id once).
   */
  unrecorded?: UnrecordedEvent[];
}

export interface UnrecordedEvent {
  eventId: string;
  type: 'passcode-redeemed' | 'session-expired' | 'session-ended';
  fields: Record<string, unknown>;
}

const UNRECORDED_TYPES: ReadonlySet<string> = new Set<UnrecordedEvent['type']>(['passcode-redeemed', 'session-expired', 'session-ended']);

interface TseFile {
  version: 1;
  /** The latest wall-clock time the agent has seen (ms). */
  clockHighWater: number;
  /** Uses per passcode id (lower case). */
  uses: Record<string, number>;
  sessions: TseSession[];
}

const FILE = 'tse-state.json';
/** Finished sessions kept for `tse status` and reports; older ones are dropped. */
const KEEP_FINISHED = 200;

function emptyState(): TseFile {
  return { version: 1, clockHighWater: 0, uses: {}, sessions: [] };
}

function isSession(s: unknown): s is TseSession {
  const x = s as Partial<TseSession> | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.sessionId === 'string' &&
    typeof x.passcodeId === 'string' &&
    typeof x.uid === 'number' &&
    typeof x.startedAt === 'number' &&
    typeof x.endsAt === 'number' &&
    Array.isArray(x.groups)
  );
}

/** A session as read back: only well-formed `unrecorded` events are kept. */
function withUnrecordedChecked(s: TseSession): TseSession {
  const { unrecorded, ...rest } = s;
  const kept = (Array.isArray(unrecorded) ? (unrecorded as unknown[]) : []).filter((x): x is UnrecordedEvent => {
    const u = x as Partial<UnrecordedEvent> | null;
    return typeof u === 'object' && u !== null && typeof u.eventId === 'string' && u.eventId.length > 0 && typeof u.type === 'string' && UNRECORDED_TYPES.has(u.type) && typeof u.fields === 'object' && u.fields !== null && !Array.isArray(u.fields);
  });
  return kept.length > 0 ? { ...rest, unrecorded: kept } : rest;
}

export class TseStore {
  readonly file: string;
  private state: TseFile = emptyState();
  private readonly queue = new SerialQueue();

  private constructor(
    stateDir: string,
    private readonly clock: () => number,
  ) {
    this.file = path.join(stateDir, FILE);
  }

  /**
   * Opens the state. A file that does not parse is refused (it holds use counts; starting
   * from zero would hand uses back), so the caller must stop and say so.
   */
  static async open(stateDir: string, clock: () => number = Date.now): Promise<TseStore> {
    const store = new TseStore(stateDir, clock);
    let text: string | undefined;
    try {
      text = await fs.readFile(store.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== undefined) {
      let parsed: Partial<TseFile>;
      try {
        parsed = JSON.parse(text) as Partial<TseFile>;
      } catch {
        throw new AscendError('ASC_AGENT_CONFIG', `${store.file} is damaged (not JSON); it holds passcode use counts, so the agent will not start from zero. Restore it or remove it deliberately.`);
      }
      const uses: Record<string, number> = {};
      for (const [k, v] of Object.entries(parsed.uses ?? {})) if (Number.isSafeInteger(v) && v >= 0) uses[k] = v;
      store.state = {
        version: 1,
        clockHighWater: Number.isFinite(parsed.clockHighWater) ? Number(parsed.clockHighWater) : 0,
        uses,
        sessions: Array.isArray(parsed.sessions) ? parsed.sessions.filter(isSession).map(withUnrecordedChecked) : [],
      };
    }
    return store;
  }

  /** The later of the clock and the latest time seen (kept in memory; saved with every change). */
  now(): number {
    const t = this.clock();
    if (t > this.state.clockHighWater) this.state.clockHighWater = t;
    return this.state.clockHighWater;
  }

  /** Whether the system clock is behind the latest time seen (it was set back). */
  clockBehindBy(): number {
    return Math.max(0, this.state.clockHighWater - this.clock());
  }

  usesOf(passcodeId: string): number {
    return this.state.uses[passcodeId.toLowerCase()] ?? 0;
  }

  /** Active sessions (not ended and not past their end), optionally of one uid. */
  activeSessions(uid?: number): TseSession[] {
    const now = this.now();
    return this.state.sessions.filter((s) => s.ended === undefined && s.endsAt > now && (uid === undefined || s.uid === uid));
  }

  /** Sessions whose end has passed but that are not marked ended yet (after a restart, or a late timer). */
  overdueSessions(): TseSession[] {
    const now = this.now();
    return this.state.sessions.filter((s) => s.ended === undefined && s.endsAt <= now);
  }

  sessions(uid?: number): TseSession[] {
    return this.state.sessions.filter((s) => uid === undefined || s.uid === uid);
  }

  /**
   * Counts one use of the passcode and starts its session, in one durable write.
   * `expectedUses` is the count the check was made with: if another redemption of the same
   * passcode counted a use meanwhile, nothing is written and false is returned (check again).
   */
  startSession(session: Omit<TseSession, 'ended'>, expectedUses: number): Promise<boolean> {
    return this.queue.run(async () => {
      const key = session.passcodeId.toLowerCase();
      if ((this.state.uses[key] ?? 0) !== expectedUses) return false;
      const next: TseFile = {
        ...this.state,
        uses: { ...this.state.uses, [key]: expectedUses + 1 },
        sessions: [...this.state.sessions, { ...session }],
      };
      await this.save(next);
      return true;
    });
  }

  /** Events of sessions saved that may not be in the spool yet, oldest first. */
  unrecordedEvents(): { sessionId: string; event: UnrecordedEvent }[] {
    return this.state.sessions.flatMap((s) => (s.unrecorded ?? []).map((event) => ({ sessionId: s.sessionId, event })));
  }

  /** A session's event is in the spool: its mark is dropped. */
  markRecorded(sessionId: string, eventId: string): Promise<void> {
    return this.queue.run(async () => {
      if (!this.state.sessions.some((x) => x.sessionId === sessionId && x.unrecorded?.some((u) => u.eventId === eventId))) return;
      const sessions = this.state.sessions.map((x) => {
        if (x.sessionId !== sessionId) return x;
        const { unrecorded, ...rest } = x;
        const left = (unrecorded ?? []).filter((u) => u.eventId !== eventId);
        return left.length > 0 ? { ...rest, unrecorded: left } : rest;
      });
      await this.save({ ...this.state, sessions });
    });
  }

  /**
   * Marks a session ended (once); returns it, or undefined when it was ended already. `event`,
   * the event of the end, is saved with it as unrecorded (see TseSession.unrecorded).
   */
  endSession(sessionId: string, reason: 'expired' | 'ended', event?: UnrecordedEvent): Promise<TseSession | undefined> {
    return this.queue.run(async () => {
      const s = this.state.sessions.find((x) => x.sessionId === sessionId);
      if (!s || s.ended !== undefined) return undefined;
      const ended: TseSession = { ...s, ended: { at: this.now(), reason }, ...(event ? { unrecorded: [...(s.unrecorded ?? []), event] } : {}) };
      const sessions = this.state.sessions.map((x) => (x.sessionId === sessionId ? ended : x));
      // Keep every open session, every one with an event still to spool, and the latest finished ones.
      const finished = sessions.filter((x) => x.ended !== undefined && x.unrecorded === undefined);
      const drop = new Set(finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED)).map((x) => x.sessionId));
      await this.save({ ...this.state, sessions: sessions.filter((x) => !drop.has(x.sessionId)) });
      return ended;
    });
  }

  /** Saves the latest time seen (called now and then so a clock set back after a quiet spell is noticed). */
  saveClock(): Promise<void> {
    return this.queue.run(async () => {
      this.now();
      await this.save(this.state);
    });
  }

  private async save(next: TseFile): Promise<void> {
    next.clockHighWater = Math.max(next.clockHighWater, this.clock());
    await replaceFileAtomically(this.file, Buffer.from(`${JSON.stringify(next)}\n`), 0o600);
    this.state = next;
  }
}
