/** What the collector's admin API answers, as the server commands read and print it. */

/** A passcode in the collector's registry. */
export interface PasscodeView {
  id: string;
  title: string;
  /** null = no domain-wide limit. */
  maxUses: number | null;
  uses: number;
  usesLeft: number | null;
  issuedAt: string;
  revokedAt: string | null;
}

export interface AgentView {
  id: string;
  computer: string;
  enrolledAt: string;
  revokedAt: string | null;
  /** Whether it holds its computer name: false when revoked, or for an agent enrolled before names were bound under a name an earlier one holds (it redeems no passcode). */
  holdsName?: boolean;
}

export type ApiRole = 'viewer' | 'approver' | 'admin';

/** An API token as the server shows it (never its secret). */
export interface ApiTokenView {
  id: string;
  name: string;
  role: ApiRole;
  /** token = made by an admin; ad = an Active Directory sign-in session. */
  source: 'token' | 'ad';
  /** Who holds it (account names and SIDs); an approver never approves its owner's requests. */
  owners?: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface WhoamiResult {
  name: string;
  role: 'viewer' | 'approver' | 'admin';
  /** token = an API token made by an admin; ad = an Active Directory sign-in session. */
  source: 'token' | 'ad';
  /** Who holds it (account names and SIDs); absent from older collectors. */
  owners?: string[];
  expiresAt: string | null;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

/** An approval request as approvers see it. */
export interface ApprovalView {
  id: string;
  agentId: string;
  requestId: string;
  computer: string;
  user: string;
  processPath: string;
  args: string | null;
  justification: string | null;
  status: ApprovalStatus;
  createdAt: string;
  /** Pending: when it expires. */
  expiresAt: string | null;
  decidedAt: string | null;
  decidedBy: string | null;
  timeLimitSeconds: number | null;
  usedAt: string | null;
  /** The rule(s) that asked for it; absent from an older collector. */
  rule?: string | null;
  /** The approver's reason; absent from an older collector. */
  reason?: string | null;
}

/** The answer to approve and deny. */
export interface ApprovalDecisionResult {
  request: ApprovalView;
}

/** The hints approve and deny give when the request is unknown (404) or decided already (409). */
export const DECISION_HINTS = {
  notFound: '"ascend server approval list" shows the pending ids',
  conflict: 'it was decided already or expired; "ascend server approval list --status approved|denied|expired" shows it',
};
