/**
 * TSE sessions come to an end: at their expiry (a timer, and a catch-up for ends that passed
 * while the agent was not running), or when the policy no longer allows them (TSE disabled,
 * the passcode revoked); with them end their elevated processes when the passcode says so.
 * A session starts in ./redeem.ts.
 */
import type { TseSession, TseStore } from '../tse/store.js';
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
    private readonly audit: Pick<AuditTrail, 'emit'>,
    /** The elevations running now (a session's are ended with it). */
    private readonly running: ReadonlyMap<string, RunningEntry>,
    private readonly log: LogFn,
  ) {}

  /** Ends sessions whose end passed while the agent was not running (and their processes are gone with it). */
  async catchUp(): Promise<void> {
    for (const s of this.tse.overdueSessions()) await this.expire(s);
    this.schedule();
  }

  /** Ends active sessions the policy no longer allows: TSE not enabled, or the passcode revoked. */
  async enforce(): Promise<void> {
    if (!this.policy.passcodePolicy) return;
    for (const s of this.tse.activeSessions()) {
      const revoked = this.policy.passcodePolicy.revoked.has(s.passcodeId) || [...this.policy.passcodePolicy.revoked].some((id) => id.toLowerCase() === s.passcodeId.toLowerCase());
      if (!this.policy.passcodePolicy.tseEnabled || revoked) {
        const ended = await this.tse.endSession(s.sessionId, 'ended');
        if (ended) {
          await this.audit.emit('session-ended', { user: s.user, passcodeId: s.passcodeId, passcodeTitle: s.passcodeTitle, sessionId: s.sessionId, reason: revoked ? 'passcode revoked' : 'TSE disabled by policy' });
          if (s.endProcesses) await this.endProcesses(s);
        }
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
    const ended = await this.tse.endSession(s.sessionId, 'expired');
    if (!ended) return;
    this.log('info', `TSE session ${s.sessionId} of ${s.user} expired`);
    await this.audit.emit('session-expired', { user: s.user, passcodeId: s.passcodeId, passcodeTitle: s.passcodeTitle, sessionId: s.sessionId });
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
