/**
 * The request schemas of the collector's HTTP API (TypeBox → JSON Schema). Every object is
 * closed (additionalProperties: false): an unknown field is a 400, never silently dropped.
 */
import { type Static, Type } from '@sinclair/typebox';
import { BODY_LIMIT, EVENT_ID_MAX, EVENT_LONG_TEXT_MAX, EVENT_TEXT_MAX, MAX_EVENTS_PER_BATCH } from '../../collector-api/limits.js';
import { type Event, TimeSchema as Time } from '../../collector-api/events.js';
import { REPORT_CURSOR_MAX, REPORT_NAMES, type ReportName } from '../../collector-api/reports.js';

// The event contract is declared once, in src/collector-api (the agent builds its events by it).
export { EVENT_TYPES, EventSchema, EventsBody, type EventType } from '../../collector-api/events.js';
export { REPORT_NAMES, type ReportName } from '../../collector-api/reports.js';
export { BODY_LIMIT, MAX_EVENTS_PER_BATCH };

const Id = Type.String({ minLength: 1, maxLength: EVENT_ID_MAX });
const Text = Type.String({ maxLength: EVENT_TEXT_MAX });
const LongText = Type.String({ maxLength: EVENT_LONG_TEXT_MAX });

/** One event as the collector takes it (POST /api/v1/events). */
export type EventBody = Event;

export const EnrollBody = Type.Object(
  {
    enrollmentToken: Type.String({ minLength: 1, maxLength: 200 }),
    computer: Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' }),
  },
  { additionalProperties: false },
);

export const EnrollTokenBody = Type.Object(
  {
    uses: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    expiresAt: Type.Optional(Time),
    /** The only computers it may enroll (checked names); absent or empty = any computer. Default uses = their number. */
    computers: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 1000 })),
  },
  { additionalProperties: false },
);

export const ReportQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    to: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    computer: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    passcode: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    format: Type.Optional(Type.Unsafe<'json' | 'csv'>({ type: 'string', enum: ['json', 'csv'] })),
    // A number in the query string (the query is not coerced): checked against REPORT_PAGE_MAX by the route.
    limit: Type.Optional(Type.String({ minLength: 1, maxLength: 6, pattern: '^[1-9][0-9]*$' })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: REPORT_CURSOR_MAX, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$' })),
  },
  { additionalProperties: false },
);

export const EmptyQuery = Type.Object({}, { additionalProperties: false });

export const ReportParams = Type.Object({ name: Type.Unsafe<ReportName>({ type: 'string', enum: [...REPORT_NAMES] }) }, { additionalProperties: false });

const Uuid = Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z-]+$' });
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export const RequestIdParams = Type.Object({ requestId: Id }, { additionalProperties: false });
export const PasscodeIdParams = Type.Object({ id: Id }, { additionalProperties: false });
export const ReasonBody = Type.Object({ reason: Type.Optional(Text) }, { additionalProperties: false });

const Role = Type.Unsafe<'viewer' | 'approver' | 'admin'>({ type: 'string', enum: ['viewer', 'approver', 'admin'] });
const UserName = Type.String({ minLength: 1, maxLength: 256, pattern: '\\S' });

export const ApprovalRequestBody = Type.Object(
  {
    requestId: Id,
    user: UserName,
    processPath: Type.String({ minLength: 1, maxLength: 4096 }),
    args: Type.Optional(LongText),
    justification: Type.Optional(LongText),
    /** The rule(s) that asked for the approval. */
    rule: Type.Optional(Text),
  },
  { additionalProperties: false },
);
/** Long-poll: wait up to this many seconds for a decision. */
export const ApprovalPollQuery = Type.Object({ wait: Type.Optional(Type.String({ pattern: '^\\d{1,3}$' })) }, { additionalProperties: false });
export const ApprovalListQuery = Type.Object(
  {
    status: Type.Optional(Type.Unsafe<'pending' | 'approved' | 'denied' | 'expired'>({ type: 'string', enum: ['pending', 'approved', 'denied', 'expired'] })),
    // Paged like the reports (issue 18): at most `limit` requests, then nextCursor.
    limit: Type.Optional(Type.String({ minLength: 1, maxLength: 6, pattern: '^[1-9][0-9]*$' })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: REPORT_CURSOR_MAX, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$' })),
  },
  { additionalProperties: false },
);
/** Why an approver decides so: one line (no control characters; the store checks again). */
const DecisionReason = Type.String({ maxLength: 500, pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$' });
export const ApproveBody = Type.Object(
  { timeLimitSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86400 })), reason: Type.Optional(DecisionReason) },
  { additionalProperties: false },
);
export const DenyBody = Type.Object({ reason: Type.Optional(DecisionReason) }, { additionalProperties: false });
/** The approvals page's long-poll: answers at once when the state differs from `since`, else waits up to `wait` seconds. */
export const ApprovalWatchQuery = Type.Object(
  { since: Type.Optional(Type.String({ pattern: '^[0-9a-f]{1,64}$' })), wait: Type.Optional(Type.String({ pattern: '^\\d{1,3}$' })) },
  { additionalProperties: false },
);

export const MfaEnrollBody = Type.Object({ user: UserName }, { additionalProperties: false });
export const MfaUserParams = Type.Object({ user: UserName }, { additionalProperties: false });
export const MfaVerifyBody = Type.Object({ user: UserName, code: Type.String({ minLength: 1, maxLength: 16 }) }, { additionalProperties: false });

export const PasscodeBody = Type.Object(
  {
    id: Id,
    title: Type.String({ maxLength: 512 }),
    maxUses: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
    /** The terms' computer patterns or SIDs (empty = any computer): agents redeem it only for a computer they match. */
    computers: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 256 }),
  },
  { additionalProperties: false },
);
export const SinceQuery = Type.Object({ since: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false });

export const TokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
    role: Role,
    expiresAt: Type.Optional(Time),
    /** Who holds the token: account names and SIDs of one person (no self-approval). */
    owners: Type.Optional(Type.Array(UserName, { maxItems: 8 })),
  },
  { additionalProperties: false },
);
export const SignInBody = Type.Object(
  { user: UserName, password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
