/**
 * The collector's storage interface (issue 5, DESIGN section 8). Two adapters implement it
 * over one schema: SqliteStore (embedded, the default) and PostgresStore (several
 * collectors behind a load balancer). Times are milliseconds since the epoch.
 */
import type { EventRecord } from '../../collector-api/events.js';
import type { WebhookEventInput, WebhookStore } from '../webhooks/store.js';

export type ApiRole = 'viewer' | 'approver' | 'admin';
export const API_ROLES: readonly ApiRole[] = ['viewer', 'approver', 'admin'];

export interface EnrollmentToken {
  /** The secret to hand to an agent; only its SHA-256 hash is stored. */
  token: string;
  id: string;
  uses: number;
  expiresAt: number | null;
  /** The computers it may enroll (checked names); empty = any computer. */
  computers: string[];
}

export interface Agent {
  id: string;
  computer: string;
  enrolledAt: number;
  revokedAt: number | null;
  /**
   * Whether the agent holds its computer name (false: an agent enrolled before names were
   * bound that shares its name with an earlier one; it redeems no passcode). Absent = true.
   */
  bound?: boolean;
}

export interface Enrollment {
  agent: Agent;
  /** 256 random bits, base64url; shown once, stored only as a SHA-256 hash. */
  credential: string;
}

/**
 * An event as an agent sends it (the contract's event, src/collector-api/events.ts; the
 * route has validated it). Everything except the indexed fields stays in the JSON payload. A
 * resent event with the same (agent, id) is stored once.
 */
export type CollectorEventInput = EventRecord;

export interface StoredEvent {
  agentId: string;
  id: string;
  type: string;
  time: number;
  receivedAt: number;
  /** The enrolled machine's name, whatever the payload says. */
  computer: string;
  user: string | null;
  passcodeId: string | null;
  sessionId: string | null;
  payload: Record<string, unknown>;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

export interface ApprovalRequestInput {
  /** Made by the agent; (agent, requestId) names the request, so a decision can not be replayed elsewhere. */
  requestId: string;
  user: string;
  processPath: string;
  args?: string;
  justification?: string;
  /** The rule(s) that asked for the approval, as the agent names them. */
  rule?: string;
}

export interface ApprovalRequest {
  id: string;
  agentId: string;
  requestId: string;
  computer: string;
  user: string;
  processPath: string;
  args: string | null;
  justification: string | null;
  status: ApprovalStatus;
  createdAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
  /** Approved for this many seconds; null = no time limit (or not approved). */
  timeLimitSeconds: number | null;
  /** When the agent ran the approved elevation; an approval runs once. */
  usedAt: number | null;
  /** The rule(s) that asked for the approval; null = not told (an older agent). */
  rule: string | null;
  /** Why the approver decided so; null = no reason given (or expired). */
  reason: string | null;
}

export interface ApprovalFilter extends ReportFilter {
  status?: ApprovalStatus;
}

export interface Decision {
  approve: boolean;
  by: string;
  timeLimitSeconds?: number;
  /** Why, in the approver's words (shown to the requesting user on a denial). */
  reason?: string;
}

export interface PasscodeRecord {
  id: string;
  title: string;
  /** null = no domain-wide limit. */
  maxUses: number | null;
  uses: number;
  issuedAt: number;
  revokedAt: number | null;
  /** The passcode's computer patterns (its terms); empty = any computer; null = not told at registration (no agent may redeem it). */
  computers: string[] | null;
}

export type RedemptionResult =
  | { ok: true; uses: number }
  | { ok: false; reason: 'unknown' | 'revoked' | 'spent' | 'wrong-computer' };

export interface Revocation {
  kind: 'passcode' | 'agent' | 'key';
  subject: string;
  reason: string | null;
  revokedAt: number;
}

export interface ApiToken {
  id: string;
  name: string;
  role: ApiRole;
  createdAt: number;
  revokedAt: number | null;
  /** null = no expiry (made tokens); a sign-in session always expires. */
  expiresAt: number | null;
  /** token = made by an admin (or the bootstrap token); ad = an Active Directory sign-in session. */
  source: 'token' | 'ad';
  /**
   * Who holds it: account names (alice, CORP\\alice, alice@corp.example) and SIDs of one
   * person; empty = no owner. An approver never approves a request of its owner.
   */
  owners: string[];
}

/** A user's TOTP enrollment. The secret must be kept to check codes; it never leaves the server after enrollment. */
export interface MfaEnrollment {
  user: string;
  secret: string;
  createdAt: number;
  /** Set by the first good code. */
  confirmedAt: number | null;
  /** The last TOTP time step accepted: a code is good once. */
  lastStep: number | null;
  failures: number;
  lockedUntil: number | null;
}

export type MfaCheck =
  | { ok: true }
  | { ok: false; reason: 'not-enrolled' | 'locked' | 'wrong-code' | 'replayed'; lockedUntil?: number };

export interface MfaAttemptOptions {
  maxFailures: number;
  lockMs: number;
  now?: number;
  /** The computer key of the calling agent; absent = one shared computer. */
  computer?: string;
  /** Domain-wide backstop; absent = 10 × maxFailures within one hour. */
  backstopFailures?: number;
  backstopWindowMs?: number;
  /** The webhook events of the attempt that locks (given the lock's end), queued in its transaction. */
  notify?: (lockedUntil: number) => readonly WebhookEventInput[];
}

export interface ReportFilter {
  from?: number;
  to?: number;
  computer?: string;
  user?: string;
  passcodeId?: string;
  /**
   * Keyset paging (issue 18): only rows after this key in the report's order, which is
   * unique — events (occurred_at, agent_id, event_id), approvals (created_at, id; `b` unused).
   */
  after?: ReportKey;
  /** At most this many rows. */
  limit?: number;
  /**
   * A byte budget (characters of the rows' text, roughly): the rows read stop after the first
   * whose running total (`pageBytes`) passes it; the caller ends its page before that row
   * (or after it, when it is the first). Event reports only.
   */
  maxBytes?: number;
}

/** With ReportFilter.maxBytes: the page's running total of text up to and including this row. */
export interface PageBytes {
  pageBytes?: number;
}

/** One page of an admin list (issue 18): rows after `after` in the list's unique order (its time, then its id), at most `limit`. */
export type ListPage = Pick<ReportFilter, 'after' | 'limit'>;

/** A row's place in its report's order: time, then one or two ids. */
export interface ReportKey {
  time: number;
  a: string;
  b: string;
}

/** One row of the Elevation Activity report: every process-elevated event. */
export interface ElevationRow extends PageBytes {
  time: number;
  computer: string;
  user: string | null;
  processPath: string | null;
  args: string | null;
  elevatedBy: string | null;
  rule: string | null;
  controls: string | null;
  passcodeId: string | null;
  sessionId: string | null;
  agentId: string;
  eventId: string;
}

/** One row of the Denied Activity report: every elevation-denied event (blacklist rules). */
export interface DeniedRow extends PageBytes {
  time: number;
  computer: string;
  user: string | null;
  processPath: string | null;
  args: string | null;
  rule: string | null;
  reason: string | null;
  agentId: string;
  eventId: string;
}

/** One row of the Discovery report (issue 19): an elevation-discovered event. */
export interface DiscoveryRow extends PageBytes {
  time: number;
  computer: string;
  user: string | null;
  runAs: string | null;
  processPath: string | null;
  args: string | null;
  cwd: string | null;
  /** would-allow | would-deny | no-rule, as the agent judged it with the rules it had. */
  result: string | null;
  rule: string | null;
  controls: string | null;
  publisher: string | null;
  sha256: string | null;
  source: string | null;
  agentId: string;
  eventId: string;
}

/** What the grouped Discovery reports group by after the program. */
export type DiscoveryGroupBy = 'program' | 'user' | 'computer';

/**
 * One row of a grouped Discovery report: a program (and a user or a computer), with counts.
 * Its keyset is (processPath, user or computer): the ReportKey's `a` and `b` (time unused, 0).
 */
export interface DiscoveryGroupRow {
  processPath: string;
  user?: string;
  computer?: string;
  runs: number;
  users: number;
  computers: number;
  firstSeen: number;
  lastSeen: number;
  wouldAllow: number;
  wouldDeny: number;
  noRule: number;
  /** wouldAllow / runs in percent, one decimal. */
  coveredPercent: number;
}

/** One row of the TSE Usage Report: a process launched elevated, with its session. */
export interface TseUsageRow extends PageBytes {
  time: number;
  computer: string;
  user: string | null;
  passcodeId: string | null;
  passcodeTitle: string | null;
  processPath: string | null;
  args: string | null;
  /** tse, rule or approval */
  elevatedBy: string | null;
  sessionId: string | null;
  sessionStart: number | null;
  sessionEnd: number | null;
  endedByExpiry: boolean;
  agentId: string;
  eventId: string;
}

export interface CollectorStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies the migrations not yet applied, each once and in its own transaction. Safe to call again. */
  migrate(): Promise<number[]>;
  /** The versions applied, ascending. */
  appliedMigrations(): Promise<number[]>;
  close(): Promise<void>;

  /** `computers`: the only names it may enroll (any when empty or absent); `uses` defaults to their number (at least 1). */
  createEnrollmentToken(opts: { uses?: number; expiresAt?: number | null; now?: number; computers?: readonly string[] }): Promise<EnrollmentToken>;
  /**
   * Consumes one use of the token and enrolls the machine, atomically. Throws
   * ASC_COLLECTOR_ENROLL_REFUSED (token unknown, expired, used up, or naming other
   * computers) or ASC_COLLECTOR_COMPUTER_TAKEN (a live agent holds the name); a refusal
   * spends no use.
   */
  enrollAgent(enrollmentToken: string, computer: string, now?: number): Promise<Enrollment>;
  /** The agent whose credential this is (revoked ones included, with revokedAt), or undefined. */
  findAgentByCredential(credential: string): Promise<Agent | undefined>;
  getAgent(id: string): Promise<Agent | undefined>;
  /** Oldest first, (enrolled at, id); every agent, or one page. */
  listAgents(page?: ListPage): Promise<Agent[]>;
  /** Revokes the agent; its webhook events (`notify`) are queued in the same transaction. */
  revokeAgent(id: string, reason?: string, now?: number, notify?: (agent: Agent) => readonly WebhookEventInput[]): Promise<void>;

  /**
   * Stores a batch in one transaction, idempotent on (agent id, event id). Resolves after
   * the commit (durable), with the number of events that were new.
   */
  insertEvents(agentId: string, events: readonly CollectorEventInput[], now?: number): Promise<number>;
  listEvents(agentId?: string): Promise<StoredEvent[]>;
  /**
   * The SIEM feed: from now on new events are queued (in the transaction that stores them) until
   * siemDone, by every collector sharing the database (the switch is in the database).
   */
  enableSiemQueue(now?: number): Promise<void>;
  /** Turns the database's SIEM switch off (what is queued stays queued). */
  disableSiemQueue(): Promise<void>;
  siemEnabledAt(): Promise<number | null>;
  /** The oldest queued events, at most `limit`. */
  siemBatch(limit: number): Promise<StoredEvent[]>;
  /** Takes forwarded events off the queue. */
  siemDone(keys: readonly { agentId: string; id: string }[]): Promise<void>;
  siemQueued(): Promise<number>;
  /** Takes or renews the feed's lease (one forwarding collector per database); true when `holder` has it. */
  siemLease(holder: string, until: number, now?: number): Promise<boolean>;
  siemRelease(holder: string): Promise<void>;
  countEvents(): Promise<number>;

  /**
   * Files a request; filing the same (agent, requestId) again returns the existing one. A new
   * request's webhook events (`notify`) are queued in the same transaction.
   */
  /** With `maxPending`: ASC_COLLECTOR_RATE_LIMITED when the agent has that many pending already (a request filed again is not counted), checked in the insert's transaction. */
  createApprovalRequest(agentId: string, input: ApprovalRequestInput, now?: number, notify?: (r: ApprovalRequest) => readonly WebhookEventInput[], maxPending?: number): Promise<ApprovalRequest>;
  listPendingApprovals(): Promise<ApprovalRequest[]>;
  /** Every request matching the filter (time = filed at), oldest first: the approvals audit. */
  listApprovals(filter?: ApprovalFilter): Promise<ApprovalRequest[]>;
  /** Decided (not pending) requests filed at or after `from`, the last decided first (then by id), at most `limit`. */
  recentlyDecidedApprovals(from: number, limit: number): Promise<ApprovalRequest[]>;
  /**
   * The agent runs an approved request: marks it used, once. Throws ASC_COLLECTOR_NOT_FOUND,
   * or ASC_COLLECTOR_CONFLICT when it is not approved, used already, or past its time limit.
   */
  useApproval(agentId: string, requestId: string, now?: number): Promise<ApprovalRequest>;
  getApprovalRequest(id: string): Promise<ApprovalRequest | undefined>;
  /** The request as its own agent sees it: bound to (agent, requestId). */
  getApprovalForAgent(agentId: string, requestId: string): Promise<ApprovalRequest | undefined>;
  /**
   * Throws ASC_COLLECTOR_NOT_FOUND, or ASC_COLLECTOR_CONFLICT when it is no longer pending. The
   * decision's webhook events (`notify`) are queued in the same transaction.
   */
  decideApproval(id: string, decision: Decision, now?: number, notify?: (r: ApprovalRequest) => readonly WebhookEventInput[]): Promise<ApprovalRequest>;
  /** Marks pending requests filed more than maxAgeMs ago as expired; returns how many. */
  expirePendingApprovals(maxAgeMs: number, now?: number): Promise<number>;

  /** `computers`: the terms' computer patterns (empty = any); absent = unknown, and no agent may redeem it. */
  registerPasscode(p: { id: string; title: string; maxUses: number | null; issuedAt?: number; computers?: readonly string[] | null }): Promise<PasscodeRecord>;
  getPasscode(id: string): Promise<PasscodeRecord | undefined>;
  /** Oldest first, (issued at, id); every passcode, or one page. */
  listPasscodes(page?: ListPage): Promise<PasscodeRecord[]>;
  /**
   * Counts one redemption domain-wide, atomically; refused when revoked or spent, or when
   * the passcode's computers do not include the agent's enrolled computer (no use spent).
   */
  recordRedemption(passcodeId: string, agentId: string, now?: number): Promise<RedemptionResult>;
  /** Revokes the passcode; its webhook events (`notify`) are queued in the same transaction. */
  revokePasscode(id: string, reason?: string, now?: number, notify?: () => readonly WebhookEventInput[]): Promise<void>;
  /** Oldest first, (revoked at, kind, subject); every one from `since`, or one page. */
  listRevocations(since?: number, page?: ListPage): Promise<Revocation[]>;

  createApiToken(
    role: ApiRole,
    name: string,
    now?: number,
    opts?: { expiresAt?: number | null; source?: ApiToken['source']; owners?: readonly string[] },
  ): Promise<{ token: string; record: ApiToken }>;
  /** The token's record if it exists, is not revoked and has not expired. */
  findApiToken(token: string, now?: number): Promise<ApiToken | undefined>;
  revokeApiToken(id: string, now?: number): Promise<void>;
  /** Oldest first, (created at, id); every token and sign-in session, or one page. */
  listApiTokens(page?: ListPage): Promise<ApiToken[]>;
  /** One token's record (revoked and expired ones too), or undefined. */
  getApiToken(id: string): Promise<ApiToken | undefined>;

  /** Enrolls (or re-enrolls, replacing the secret) a user for TOTP; the user name is matched case-insensitively. */
  putMfaSecret(user: string, secret: string, now?: number): Promise<MfaEnrollment>;
  getMfa(user: string): Promise<MfaEnrollment | undefined>;
  /** The computers (keys) on which the user is locked out now, with until when. */
  listMfaLocks(user: string, now?: number): Promise<{ computer: string; lockedUntil: number }[]>;
  deleteMfa(user: string): Promise<boolean>;
  /**
   * Records one verification, atomically: `step` is the time step of the code that matched
   * (null = no match). A match at or before the last accepted step is a replay. After
   * `maxFailures` failures in a row on one computer (`computer`, the calling agent's) the
   * user is locked for `lockMs` on that computer; after `backstopFailures` failures on all
   * computers within `backstopWindowMs` the user is locked everywhere for `lockMs`.
   */
  recordMfaAttempt(user: string, step: number | null, opts: MfaAttemptOptions): Promise<MfaCheck>;

  /** Webhooks and their deliveries (issue 18), in this database. */
  webhookStore(): WebhookStore;

  tseUsageReport(filter?: ReportFilter): Promise<TseUsageRow[]>;
  elevationsReport(filter?: ReportFilter): Promise<ElevationRow[]>;
  deniedReport(filter?: ReportFilter): Promise<DeniedRow[]>;
  /** Every elevation-discovered event (issue 19), in the event reports' order. */
  discoveryReport(filter?: ReportFilter): Promise<DiscoveryRow[]>;
  /** elevation-discovered events counted by program (and user or computer), ordered by the group. */
  discoveryGroups(by: DiscoveryGroupBy, filter?: ReportFilter): Promise<DiscoveryGroupRow[]>;
}
