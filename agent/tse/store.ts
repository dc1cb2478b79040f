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
}

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
        sessions: Array.isArray(parsed.sessions) ? parsed.sessions.filter(isSession) : [],
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

  /** Marks a session ended (once); returns it, or undefined when it was ended already. */
  endSession(sessionId: string, reason: 'expired' | 'ended'): Promise<TseSession | undefined> {
    return this.queue.run(async () => {
      const s = this.state.sessions.find((x) => x.sessionId === sessionId);
      if (!s || s.ended !== undefined) return undefined;
      const ended: TseSession = { ...s, ended: { at: this.now(), reason } };
      const sessions = this.state.sessions.map((x) => (x.sessionId === sessionId ? ended : x));
      // Keep every open session and the latest finished ones.
      const finished = sessions.filter((x) => x.ended !== undefined);
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
