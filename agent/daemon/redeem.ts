/**
 * A passcode becomes a TSE session: it is checked offline (signature, computer, user, time,
 * uses counted on this machine), counted domain-wide by the collector (required when the
 * policy forbids offline use), and the session starts only with its event's room held.
 */
import { randomUUID } from 'node:crypto';
import { AscendError } from '../../src/errors.js';
import type { PasscodeTerms } from '../../src/passcode/index.js';
// The module itself, not the passcode-keys barrel (that loads the keychain's native addon).
import { tokenFromAscpass } from '../../src/passcode-keys/ascpass.js';
import type { TseSession, TseStore } from '../tse/store.js';
import type { AgentCollectorClient } from '../collector/client.js';
import type { AuditTrail } from './audit.js';
import type { Requester } from './identity.js';
import type { PolicyState } from './policy-state.js';
import { type AgentOptions, type LogFn, messageOf } from './options.js';

const UNRESOLVED_HINT = 'try again; if it persists, an administrator should check the name service: sssd, winbind, /etc/group';

export class Redemption {
  constructor(
    private readonly opts: Pick<AgentOptions, 'computer'>,
    private readonly tse: TseStore,
    private readonly policy: Pick<PolicyState, 'verifier' | 'passcodePolicy'>,
    /** The collector's agent API, when the agent is enrolled. */
    private readonly client: () => AgentCollectorClient | null,
    private readonly audit: Pick<AuditTrail, 'emit' | 'recorded'>,
    /** The session timer (./sessions.ts), set again once a session started. */
    private readonly sessions: { schedule(): void },
    private readonly log: LogFn,
  ) {}

  /**
   * The checks redeem() makes before it counts a use (the passcode's form and signature, its
   * user, computer and time, the uses this machine counted), refused as redeem() refuses them,
   * with the event; nothing is counted. An elevation with a passcode asks this first: the program
   * checks made before the use is spent are not answered for a passcode that would be refused.
   */
  async precheck(requester: Requester, text: string): Promise<void> {
    const token = tokenFromAscpass(text, 'the passcode');
    const refuse = this.refuser(requester);
    if (requester.unresolved !== undefined) return refuse('identity-unresolved', `the passcode is not redeemed: ${requester.unresolved}, so who may use it cannot be checked`, undefined, UNRESOLVED_HINT);
    const probe = this.policy.verifier.check(token, this.checkContext(requester, 0));
    if (!probe.ok && probe.reason !== 'uses-exhausted') return refuse(probe.reason, probe.message, probe.terms);
    const result = this.policy.verifier.check(token, this.checkContext(requester, this.tse.usesOf((probe.terms as PasscodeTerms).id)));
    if (!result.ok) return refuse(result.reason, result.message, result.terms);
  }

  /** Refuses a redemption, with its passcode-refused event. */
  private refuser(requester: Requester) {
    return async (reason: string, message: string, terms?: PasscodeTerms, hint?: string): Promise<never> => {
      await this.audit.emit('passcode-refused', { user: requester.name, reason, message, ...(terms ? { passcodeId: terms.id, passcodeTitle: terms.title } : {}) });
      throw new AscendError('ASC_TSE_REFUSED', message, hint ? { hint } : undefined);
    };
  }

  /** Redeems a passcode for the requester: checks, counts (durably, then domain-wide), starts the session. */
  async redeem(requester: Requester, text: string): Promise<unknown> {
    const token = tokenFromAscpass(text, 'the passcode');
    const refuse = this.refuser(requester);
    const reconnect = 'connect to the network so the collector can confirm the passcode';
    // Fail closed, as an elevation (./elevation.ts): a passcode may be bound to users and groups.
    if (requester.unresolved !== undefined) {
      return refuse('identity-unresolved', `the passcode is not redeemed: ${requester.unresolved}, so who may use it cannot be checked`, undefined, UNRESOLVED_HINT);
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const probe = this.policy.verifier.check(token, this.checkContext(requester, 0));
      if (!probe.ok && probe.reason !== 'uses-exhausted') return refuse(probe.reason, probe.message, probe.terms);
      const terms = probe.terms as PasscodeTerms;
      const usesSoFar = this.tse.usesOf(terms.id);
      const result = this.policy.verifier.check(token, this.checkContext(requester, usesSoFar));
      if (!result.ok) return refuse(result.reason, result.message, result.terms);
      // Domain-wide count, and the confirmation offline use needs when the policy forbids it.
      const mustConfirm = !this.policy.passcodePolicy.offlineAllowed;
      const client = this.client();
      if (client) {
        let answer: Awaited<ReturnType<AgentCollectorClient['redeemPasscode']>> | undefined;
        try {
          answer = await client.redeemPasscode(terms.id);
        } catch (e) {
          if (mustConfirm) return refuse('offline-not-allowed', `passcode "${terms.title}" (${terms.id}): offline passcodes are not enabled for this computer and the collector could not confirm it (${messageOf(e)})`, terms, reconnect);
          this.log('warn', `passcode ${terms.id} counted on this machine only: ${messageOf(e)}`);
        }
        if (answer && !answer.ok && (answer.reason !== 'unknown' || mustConfirm)) {
          const why =
            answer.reason === 'spent'
              ? 'its uses across the domain are spent'
              : answer.reason === 'revoked'
                ? 'the collector lists it as revoked'
                : answer.reason === 'wrong-computer'
                  ? 'the collector registered it for other computers than the one this agent is enrolled as'
                  : 'the collector does not know it (register it: ascend server passcode register FILE)';
          const reason = answer.reason === 'spent' ? 'uses-exhausted' : answer.reason === 'revoked' ? 'revoked' : answer.reason === 'wrong-computer' ? 'wrong-computer' : 'offline-not-allowed';
          return refuse(reason, `passcode "${terms.title}" (${terms.id}): ${why}`, terms);
        }
      } else if (mustConfirm) {
        return refuse('offline-not-allowed', `passcode "${terms.title}" (${terms.id}): offline passcodes are not enabled for this computer and the agent is not enrolled with a collector to confirm it`, terms, 'enroll the agent with a collector (--collector URL --enroll-token-file F)');
      }
      const now = this.tse.now();
      const sessionId = randomUUID();
      // The session starts only with the room for its passcode-redeemed event held (fail closed),
      // and carries the event until it is spooled, so a kill -9 between the two does not lose it (Sessions.catchUp).
      const redeemedEvent = { user: requester.name, passcodeId: terms.id, passcodeTitle: terms.title, sessionId, result: `uses left ${result.session.usesLeft}` };
      const eventId = randomUUID();
      const session: Omit<TseSession, 'ended'> = {
        sessionId,
        passcodeId: terms.id,
        passcodeTitle: terms.title,
        uid: requester.uid,
        user: requester.name,
        startedAt: now,
        endsAt: now + result.session.durationSeconds * 1000,
        endProcesses: result.session.endProcesses,
        groups: result.session.groups,
        privileges: result.session.privileges,
        integrity: result.session.integrity,
        unrecorded: [{ eventId, type: 'passcode-redeemed', fields: redeemedEvent }],
      };
      const started = await this.audit.recorded('the TSE session', 'passcode-redeemed', redeemedEvent, () => this.tse.startSession(session, usesSoFar), () => this.tse.endSession(session.sessionId, 'ended').then(() => this.tse.markRecorded(sessionId, eventId)), eventId);
      if (!started) continue; // another redemption counted meanwhile: check again
      await this.tse.markRecorded(sessionId, eventId).catch((e: unknown) => this.log('warn', `TSE session ${sessionId}: its event is spooled, the mark not saved (it is spooled again at the next start, under the same id): ${messageOf(e)}`));
      this.sessions.schedule();
      this.log('info', `TSE session ${session.sessionId} for ${requester.name} from passcode ${terms.id}`);
      return {
        sessionId: session.sessionId,
        passcodeId: terms.id,
        passcodeTitle: terms.title,
        user: requester.name,
        startedAt: new Date(session.startedAt).toISOString(),
        endsAt: new Date(session.endsAt).toISOString(),
        durationSeconds: result.session.durationSeconds,
        endProcesses: session.endProcesses,
        groups: session.groups,
        integrity: session.integrity,
        usesLeft: result.session.usesLeft,
      };
    }
    throw new AscendError('ASC_TSE_REFUSED', 'the passcode is being redeemed concurrently; try again');
  }

  private checkContext(requester: Requester, usesSoFar: number) {
    const at = new Date(this.tse.now());
    return { computer: this.opts.computer, user: requester.name, at, utcOffsetMinutes: -at.getTimezoneOffset(), usesSoFar };
  }
}
