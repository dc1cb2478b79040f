/**
 * The request schemas of the collector's HTTP API (TypeBox → JSON Schema). Every object is
 * closed (additionalProperties: false): an unknown field is a 400, never silently dropped.
 */
import { type Static, Type } from '@sinclair/typebox';
import { MAX_TIME_MS } from '../time.js';

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

export const MAX_EVENTS_PER_BATCH = 1000;
export const BODY_LIMIT = 1024 * 1024;

const Id = Type.String({ minLength: 1, maxLength: 200 });
const Text = Type.String({ maxLength: 4096 });
const LongText = Type.String({ maxLength: 32768 });
/** ISO 8601 or milliseconds since the epoch. */
const Time = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Integer({ minimum: 0, maximum: MAX_TIME_MS })]);

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
    computer: Type.Optional(Text),
    user: Type.Optional(Text),
    passcodeId: Type.Optional(Text),
    passcodeTitle: Type.Optional(Text),
    sessionId: Type.Optional(Text),
    processPath: Type.Optional(Text),
    args: Type.Optional(LongText),
    elevatedBy: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: ['tse', 'rule', 'approval'] })),
    /** The rules that decided (names, comma-separated), and the controls that were met. */
    rule: Type.Optional(Text),
    controls: Type.Optional(Type.Array(Type.Unsafe<string>({ type: 'string', enum: ['approval', 'justify', 'mfa'] }), { maxItems: 3 })),
    pid: Type.Optional(Type.Integer({ minimum: 0 })),
    processIds: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 10000 })),
    requestId: Type.Optional(Text),
    justification: Type.Optional(LongText),
    reason: Type.Optional(Text),
    result: Type.Optional(Text),
    message: Type.Optional(LongText),
    policy: Type.Optional(Text),
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
  },
  { additionalProperties: false },
);
export const SinceQuery = Type.Object({ since: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false });

export const TokenBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }), role: Role, expiresAt: Type.Optional(Time) },
  { additionalProperties: false },
);
export const SignInBody = Type.Object(
  { user: UserName, password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
