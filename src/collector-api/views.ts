/**
 * The answers the agent reads from the collector: enrollment, its approval requests,
 * MFA checks, passcode redemptions and revocations. The collector's routes build them with
 * these types and the agent's client reads them with the same ones; the answers that grant
 * something are also carried, signed, in a grant (grant.ts): GrantAnswers says which answer
 * each kind of grant carries.
 *
 * The agent never trusts that an answer has this shape: its client checks every field it acts
 * on (agent/collector/client.ts). Times are ISO 8601.
 *
 * Part of the contract between agent, collector and CLI (DESIGN section 2): no I/O.
 */
import type { GrantKind } from './grant.js';

/** POST /api/v1/enroll: the agent's id and credential (shown once) and the key its grants are signed with. */
export interface EnrollAnswer {
  agentId: string;
  computer: string;
  credential: string;
  /** The collector's Ed25519 grant key, SPKI PEM. */
  grantKey: string;
  /** "SHA256:..." of the collector's certificate authority; null for a plain-http collector. */
  fingerprint: string | null;
}

/** GET /api/v1/tls/anchor: the certificate authority an agent pins (checked against its token's pin). */
export interface AnchorAnswer {
  anchor: string;
  fingerprint: string;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

/** What an agent sees of its own approval request. */
export interface ApprovalView {
  requestId: string;
  /** What was asked, so the agent can check the decision is for the elevation it is about to run. */
  user: string;
  processPath: string;
  args: string | null;
  status: ApprovalStatus;
  createdAt: string | null;
  decidedAt: string | null;
  decidedBy: string | null;
  /** Approved for this many seconds; null = no time limit (or not approved). */
  timeLimitSeconds: number | null;
  /** pending: when it expires; approved with a time limit: until when it may run. */
  validUntil: string | null;
  usedAt: string | null;
  /** The approver's reason (absent from an older collector). Approver-written text: print it as text. */
  reason?: string | null;
}

/** POST /api/v1/agent/approvals, GET .../:requestId, POST .../:requestId/use. */
export interface ApprovalAnswer {
  request: ApprovalView;
}

/** POST /api/v1/agent/mfa/verify. */
export interface MfaVerifyAnswer {
  user: string;
  verified: boolean;
  /** Why a code was refused (wrong-code, replayed, not-enrolled). */
  reason?: string;
  lockedUntil?: string | null;
}

export type RedeemRefusal = 'unknown' | 'revoked' | 'spent' | 'wrong-computer';
/** A domain-wide redemption: counted (uses so far, the limit), or refused and why. */
export type RedeemAnswer = { ok: true; uses: number; maxUses: number | null } | { ok: false; reason: RedeemRefusal };
/** POST /api/v1/agent/passcodes/:id/redeem: the answer, naming the passcode it is for. */
export type RedemptionAnswer = { passcodeId: string } & RedeemAnswer;

export type RevocationKind = 'passcode' | 'agent' | 'key';
export interface RevocationView {
  kind: RevocationKind;
  subject: string;
  reason: string | null;
  revokedAt: string;
}
/** GET /api/v1/agent/revocations: the list, naming the `since` it answers (null: all). */
export interface RevocationsAnswer {
  since: string | null;
  revocations: RevocationView[];
}

/** The answer each kind of grant carries (signed with the collector's key, see grant.ts). */
export interface GrantAnswers {
  approval: ApprovalAnswer;
  'approval-use': ApprovalAnswer;
  'mfa-verify': MfaVerifyAnswer;
  'passcode-redeem': RedemptionAnswer;
  revocations: RevocationsAnswer;
}

// Every kind of grant has its answer, and nothing else does.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const grantAnswersCoverGrantKinds: Same<keyof GrantAnswers, GrantKind> = true;
void grantAnswersCoverGrantKinds;
