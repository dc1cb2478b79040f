/**
 * The request schemas of the collector's HTTP API (TypeBox → JSON Schema). Every object is
 * closed (additionalProperties: false): an unknown field is a 400, never silently dropped.
 */
import { type Static, Type } from '@sinclair/typebox';
import { MAX_TIME_MS } from '../time.js';
import {
  BODY_LIMIT,
  EVENT_ID_MAX,
  EVENT_LIST_LIMITS,
  EVENT_LONG_TEXT_MAX,
  EVENT_STRING_LIMITS as L,
  EVENT_TEXT_MAX,
  EVENT_TIME_TEXT_MAX,
  MAX_EVENTS_PER_BATCH,
} from '../../collector-api/limits.js';

export { BODY_LIMIT, MAX_EVENTS_PER_BATCH };

export const EVENT_TYPES = [
  'passcode-redeemed',
  'passcode-refused',
  'process-elevated',
  'elevation-denied',
  'session-expired',
  'session-ended',
  'processes-ended',
  'approval-requested',
  'justification',
  'mfa',
  'policy-applied',
  'agent-error',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

// The event limits are published in src/collector-api/limits.ts (the agent cuts its events to them).
const Id = Type.String({ minLength: 1, maxLength: EVENT_ID_MAX });
const Text = Type.String({ maxLength: EVENT_TEXT_MAX });
const LongText = Type.String({ maxLength: EVENT_LONG_TEXT_MAX });
/** An event's string field, as long as the published limit allows. */
const Field = (name: keyof typeof L) => Type.String({ maxLength: L[name] });
/** ISO 8601 or milliseconds since the epoch. */
const Time = Type.Union([Type.String({ minLength: 1, maxLength: EVENT_TIME_TEXT_MAX }), Type.Integer({ minimum: 0, maximum: MAX_TIME_MS })]);

/**
 * One event as an agent sends it. The known fields are listed; anything else an agent wants
 * to keep goes under `data` (a free object). `computer` is accepted but ignored: the event is
 * attributed to the enrolled machine.
 */
export const EventSchema = Type.Object(
  {
    id: Id,
    type: Type.Unsafe<EventType>({ type: 'string', enum: [...EVENT_TYPES] }),
    time: Time,
    computer: Type.Optional(Field('computer')),
    user: Type.Optional(Field('user')),
    passcodeId: Type.Optional(Field('passcodeId')),
    passcodeTitle: Type.Optional(Field('passcodeTitle')),
    sessionId: Type.Optional(Field('sessionId')),
    processPath: Type.Optional(Field('processPath')),
    args: Type.Optional(Field('args')),
    elevatedBy: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: ['tse', 'rule', 'approval'] })),
    /** The rules that decided (names, comma-separated), and the controls that were met. */
    rule: Type.Optional(Field('rule')),
    controls: Type.Optional(Type.Array(Type.Unsafe<string>({ type: 'string', enum: ['approval', 'justify', 'mfa'] }), { maxItems: EVENT_LIST_LIMITS.controls })),
    pid: Type.Optional(Type.Integer({ minimum: 0 })),
    processIds: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { maxItems: EVENT_LIST_LIMITS.processIds })),
    requestId: Type.Optional(Field('requestId')),
    justification: Type.Optional(Field('justification')),
    reason: Type.Optional(Field('reason')),
    result: Type.Optional(Field('result')),
    message: Type.Optional(Field('message')),
    policy: Type.Optional(Field('policy')),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type EventBody = Static<typeof EventSchema>;

export const EventsBody = Type.Object(
  { events: Type.Array(EventSchema, { minItems: 1, maxItems: MAX_EVENTS_PER_BATCH }) },
  { additionalProperties: false },
);

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
  },
  { additionalProperties: false },
);

export const EmptyQuery = Type.Object({}, { additionalProperties: false });

/** A report's name in GET /api/v1/reports/:name. */
export const REPORT_NAMES = ['tse-usage', 'elevations', 'denied', 'approvals'] as const;
export type ReportName = (typeof REPORT_NAMES)[number];
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
  },
  { additionalProperties: false },
);
/** Long-poll: wait up to this many seconds for a decision. */
export const ApprovalPollQuery = Type.Object({ wait: Type.Optional(Type.String({ pattern: '^\\d{1,3}$' })) }, { additionalProperties: false });
export const ApprovalListQuery = Type.Object(
  { status: Type.Optional(Type.Unsafe<'pending' | 'approved' | 'denied' | 'expired'>({ type: 'string', enum: ['pending', 'approved', 'denied', 'expired'] })) },
  { additionalProperties: false },
);
export const ApproveBody = Type.Object(
  { timeLimitSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86400 })) },
  { additionalProperties: false },
);
export const DenyBody = Type.Object({}, { additionalProperties: false });

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
