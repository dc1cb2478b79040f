/**
 * TSE sessions come to an end: at their expiry (a timer, and a catch-up for ends that passed
 * while the agent was not running), or when the policy no longer allows them (TSE disabled,
 * the passcode revoked); with them end their elevated processes when the passcode says so.
 * A session starts in ./redeem.ts.
 */
import { randomUUID } from 'node:crypto';
import type { TseSession, TseStore, UnrecordedEvent } from '../tse/store.js';
import type { AuditTrail } from './audit.js';
import type { Requester } from './identity.js';
import type { PolicyState } from './policy-state.js';
import type { RunningEntry } from './elevation.js';
import { type LogFn, messageOf } from './options.js';

const MAX_TIMER_MS = 24 * 3600 * 1000;

export class Sessions {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly tse: TseStore,
    private readonly policy: Pick<PolicyState, 'passcodePolicy'>,
    private readonly audit: Pick<AuditTrail, 'emit' | 'reserve'>,
    /** The elevations running now (a session's are ended with it). */
    private readonly running: ReadonlyMap<string, RunningEntry>,
    private readonly log: LogFn,
  ) {}

  /** Ends sessions whose end passed while the agent was not running (and their processes are gone with it). */
  async catchUp(): Promise<void> {
    await this.recordUnrecorded();
    for (const s of this.tse.overdueSessions()) await this.expire(s);
    this.schedule();
  }

  /**
   * Sessions saved by an agent that was killed before their passcode-redeemed event was in the
   * spool: the event is spooled now, under the id it was given (the collector stores it once
   * should the first write have made it after all). A spool that cannot take it leaves the
   * mark for the next start.
   */
  private async recordUnrecorded(): Promise<void> {
    for (const { sessionId, event } of this.tse.unrecordedEvents()) {
      try {
        await this.record(sessionId, event);
        this.log('warn', `TSE session ${sessionId}: its ${event.type} event was spooled at this start (the agent had stopped before it was)`);
      } catch (e) {
        this.log('error', `TSE session ${sessionId}: its ${event.type} event could not be spooled: ${messageOf(e)}`);
      }
    }
  }

  /** Spools a session's event under its id, then drops its unrecorded mark. */
  private async record(sessionId: string, event: UnrecordedEvent): Promise<void> {
    const held = await this.audit.reserve(`the event of TSE session ${sessionId}`, event.type, event.fields, {}, event.eventId);
    try {
      await held.commit();
    } finally {
      await held.release();
    }
    await this.tse.markRecorded(sessionId, event.eventId);
  }

  /** Ends a session with its event saved alongside (spooled at once, or at the next start should the agent die first). */
  private async endWithEvent(s: TseSession, reason: 'expired' | 'ended', type: 'session-expired' | 'session-ended', fields: Record<string, unknown>): Promise<TseSession | undefined> {
    const event: UnrecordedEvent = { eventId: randomUUID(), type, fields };
    const ended = await this.tse.endSession(s.sessionId, reason, event);
    if (ended) await this.record(s.sessionId, event).catch((e: unknown) => this.log('error', `TSE session ${s.sessionId}: its ${type} event could not be spooled now (again at the next start): ${messageOf(e)}`));
    return ended;
  }

  /** Ends active sessions the policy no longer allows: TSE not enabled, or the passcode revoked. */
  async enforce(): Promise<void> {
    if (!this.policy.passcodePolicy) return;
    for (const s of this.tse.activeSessions()) {
      const revoked = this.policy.passcodePolicy.revoked.has(s.passcodeId) || [...this.policy.passcodePolicy.revoked].some((id) => id.toLowerCase() === s.passcodeId.toLowerCase());
      if (!this.policy.passcodePolicy.tseEnabled || revoked) {
        const ended = await this.endWithEvent(s, 'ended', 'session-ended', { user: s.user, passcodeId: s.passcodeId, passcodeTitle: s.passcodeTitle, sessionId: s.sessionId, reason: revoked ? 'passcode revoked' : 'TSE disabled by policy' });
        if (ended && s.endProcesses) await this.endProcesses(s);
      }
    }
  }

  /** Sets the timer to the next session end (again after a session started or ended). */
  schedule(): void {
    clearTimeout(this.timer);
    const active = this.tse.activeSessions();
    if (active.length === 0) return;
    const next = Math.min(...active.map((s) => s.endsAt));
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - this.tse.now()));
    this.timer = setTimeout(() => void this.onTimer(), delay);
  }

  private async onTimer(): Promise<void> {
    for (const s of this.tse.overdueSessions()) await this.expire(s);
    this.schedule();
  }

  private async expire(s: TseSession): Promise<void> {
    const ended = await this.endWithEvent(s, 'expired', 'session-expired', { user: s.user, passcodeId: s.passcodeId, passcodeTitle: s.passcodeTitle, sessionId: s.sessionId });
    if (!ended) return;
    this.log('info', `TSE session ${s.sessionId} of ${s.user} expired`);
    if (s.endProcesses) await this.endProcesses(s);
  }

  private async endProcesses(s: TseSession): Promise<void> {
    const pids: number[] = [];
    for (const entry of this.running.values()) {
      if (entry.sessionId !== s.sessionId) continue;
      try {
        pids.push(...(await entry.running.endTree()));
      } catch (e) {
        this.log('error', `ending the processes of elevation ${entry.elevationId} failed: ${messageOf(e)}`);
      }
    }
    await this.audit.emit('processes-ended', { user: s.user, passcodeId: s.passcodeId, sessionId: s.sessionId, processIds: pids, reason: 'session-expired' });
  }

  /** tse-status: the requester's sessions (root: everyone's), active and the last ten ended. */
  statusFor(requester: Requester): unknown {
    const now = this.tse.now();
    const view = (s: TseSession) => ({
      sessionId: s.sessionId,
      user: s.user,
      passcodeId: s.passcodeId,
      passcodeTitle: s.passcodeTitle,
      startedAt: new Date(s.startedAt).toISOString(),
      endsAt: new Date(s.endsAt).toISOString(),
      secondsLeft: s.ended === undefined ? Math.max(0, Math.round((s.endsAt - now) / 1000)) : 0,
      endProcesses: s.endProcesses,
      groups: s.groups,
      integrity: s.integrity,
      ended: s.ended ? { at: new Date(s.ended.at).toISOString(), reason: s.ended.reason } : null,
    });
    const mine = requester.uid === 0 ? this.tse.sessions() : this.tse.sessions(requester.uid);
    return { user: requester.name, active: mine.filter((s) => s.ended === undefined && s.endsAt > now).map(view), recent: mine.filter((s) => s.ended !== undefined).slice(-10).map(view) };
  }

  /** Stops the session timer (the agent is stopping). */
  stop(): void {
    clearTimeout(this.timer);
  }
}
