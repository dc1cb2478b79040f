/**
 * The controls a rule can ask for before an elevation runs: JUSTIFY (recorded before it goes
 * on), MFA (the code checked by the collector, with the policy's grace period) and APPROVAL
 * (filed with the collector, waited for, and used once: what runs is what the collector's
 * signed answer to that use approved).
 */
import { AscendError, isAscendError } from '../../src/errors.js';
import type { Decision } from '../../src/rules/index.js';
import type { IpcContext } from '../ipc/index.js';
import type { AgentCollectorClient } from '../collector/client.js';
import type { AuditTrail } from './audit.js';
import type { EventFields, EventType } from '../../src/collector-api/events.js';
import type { Requester } from './identity.js';
import type { PolicyState } from './policy-state.js';
import { messageOf } from './options.js';
import { cellText } from '../../src/cli/table.js';

export class ElevationControls {
  /** When each uid last passed MFA (for the policy's MFA grace period). */
  private readonly mfaPassedAt = new Map<number, number>();

  constructor(
    private readonly policy: Pick<PolicyState, 'settings'>,
    /** The collector's agent API, when the agent is enrolled. */
    private readonly client: () => AgentCollectorClient | null,
    private readonly audit: Pick<AuditTrail, 'emit' | 'reserve'>,
    /** Whether the agent is stopping (a wait for approval ends). */
    private readonly stopping: () => boolean,
  ) {}

  /** JUSTIFY (length from policy), then MFA (checked by the collector), then APPROVAL (asked once, waited for, used once). */
  async satisfy(
    decision: Decision,
    requester: Requester,
    elevationId: string,
    base: { user: string; processPath: string; args: string },
    justification: string | undefined,
    otp: string | undefined,
    ctx: IpcContext,
  ): Promise<void> {
    const fail = (message: string, hint?: string): never => {
      throw new AscendError('ASC_ELEVATION_CONTROL_FAILED', message, hint ? { hint } : undefined);
    };
    const rules = decision.matchedRules.join(', ');
    if (decision.controls.includes('justify')) {
      const min = this.policy.settings.approvals.justificationMinLength;
      if (justification === undefined || justification.length < Math.max(1, min)) {
        fail(`${rules} requires a justification of at least ${min} characters`, 'pass --justify "why you need it"');
      }
      // The reason is part of the record: when it cannot be written, nothing goes on (fail closed).
      await this.recordNow(`the elevation of ${base.processPath}`, 'justification', { ...base, justification, requestId: elevationId });
    }
    if (!this.client() && (decision.controls.includes('mfa') || decision.controls.includes('approval'))) {
      fail(`${rules} requires ${decision.controls.filter((c) => c !== 'justify').join(' and ')}, which the collector checks, and this agent is not enrolled with one`);
    }
    const client = this.client() as AgentCollectorClient;
    const grace = this.policy.settings.approvals.mfaGraceMinutes * 60_000;
    const passedAt = this.mfaPassedAt.get(requester.uid);
    const inGrace = grace > 0 && passedAt !== undefined && performance.now() - passedAt < grace;
    if (decision.controls.includes('mfa') && !inGrace) {
      if (!otp) fail(`${rules} requires MFA`, 'pass --otp CODE from your authenticator app');
      let answer: { verified: boolean; reason?: string };
      try {
        answer = await client.verifyMfa(requester.name, otp as string);
      } catch (e) {
        await this.audit.emit('mfa', { ...base, result: 'error', message: messageOf(e) });
        return fail(`MFA could not be checked: ${messageOf(e)}`);
      }
      await this.audit.emit('mfa', { ...base, result: answer.verified ? 'verified' : (answer.reason ?? 'refused') });
      if (!answer.verified) fail(`the MFA code was refused (${answer.reason ?? 'wrong code'})`, 'use the current code; each code works once');
      this.mfaPassedAt.set(requester.uid, performance.now());
    }
    if (decision.controls.includes('approval')) {
      const filed = await client.fileApproval({ requestId: elevationId, ...base, ...(justification ? { justification } : {}), ...(rules ? { rule: rules.slice(0, 1000) } : {}) });
      await this.recordNow(`the elevation of ${base.processPath}`, 'approval-requested', { ...base, requestId: elevationId, ...(justification ? { justification } : {}) });
      ctx.send({ kind: 'event', status: 'waiting-approval', requestId: filed.requestId, message: `waiting for approval of request ${filed.requestId}` });
      const deadline = Date.now() + this.policy.settings.approvals.requestTimeoutMinutes * 60_000;
      let view = filed;
      while (view.status === 'pending' && Date.now() < deadline && !ctx.signal.aborted && !this.stopping()) {
        try {
          view = await client.pollApproval(elevationId, Math.min(50, Math.ceil((deadline - Date.now()) / 1000)));
        } catch (e) {
          if (isAscendError(e) && e.code !== 'ASC_COLLECTOR_UNREACHABLE') throw e;
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
      if (ctx.signal.aborted) fail('the request was abandoned while waiting for approval');
      if (view.status === 'pending') fail(`no decision on approval request ${elevationId} within ${this.policy.settings.approvals.requestTimeoutMinutes} minutes`);
      if (view.status !== 'approved') fail(`approval request ${elevationId} was ${view.status}${view.decidedBy ? ` by ${cellText(view.decidedBy)}` : ''}${decisionReason(view)}`);
      // An approval runs once: the collector refuses a second use, or one past its time limit.
      // What runs is what the signed answer to this use says was approved: this elevation, used now.
      const used = await client.useApproval(elevationId);
      if (used.status !== 'approved' || used.usedAt === null || used.user !== base.user || used.processPath !== base.processPath || (used.args ?? '') !== base.args) {
        fail(`the collector's answer to using approval request ${elevationId} does not approve this elevation (${used.status}${used.usedAt === null ? ', not marked used' : ''})`);
      }
      ctx.send({ kind: 'event', status: 'approved', requestId: elevationId, message: `approved by ${used.decidedBy ?? 'an approver'}` });
    }
  }

  /** Spools an event of an elevation now, or throws ASC_AUDIT_UNAVAILABLE when it cannot be recorded. */
  private async recordNow(what: string, type: EventType, fields: EventFields): Promise<void> {
    const pending = await this.audit.reserve(what, type, fields);
    try {
      await pending.commit();
    } finally {
      await pending.release();
    }
  }
}

/** The approver's reason for the requesting user: ': "why"', one inert line (the collector's text is not trusted to be printable), or nothing. */
function decisionReason(view: { reason?: unknown }): string {
  if (typeof view.reason !== 'string' || view.reason.trim() === '') return '';
  const text = view.reason.trim();
  return `: "${cellText(text.length > 500 ? `${text.slice(0, 500)}...` : text)}"`;
}
