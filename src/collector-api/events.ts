/**
 * The events an agent reports and the collector stores (POST /api/v1/events): the closed list
 * of event types and ONE schema, built from the published limits (limits.ts). The schema is
 * the type: the collector validates every event with EventSchema, and the agent builds its
 * events as `Event` (Static<typeof EventSchema>), so a misspelled type or an unknown field is a
 * compile error on the agent and a 400 on the collector, from the same declaration.
 *
 * Adding an event type: add it to EVENT_TYPES here (and a field to EventSchema if it carries
 * one), then emit it in the agent and read it where it is reported (see ARCHITECTURE.md).
 *
 * Part of the contract between agent, collector and CLI (DESIGN section 2): no I/O.
 */
import { type Static, Type } from '@sinclair/typebox';
import { EVENT_ID_MAX, EVENT_LIST_LIMITS, EVENT_STRING_LIMITS, EVENT_TIME_TEXT_MAX, type EventStringField, MAX_EVENTS_PER_BATCH } from './limits.js';
import { MAX_TIME_MS } from './time.js';

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
  'elevation-discovered',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** How a process was elevated (process-elevated, the reports' "Elevated by"). */
export const ELEVATED_BY = ['tse', 'rule', 'approval'] as const;
export type ElevatedBy = (typeof ELEVATED_BY)[number];

/** The controls a rule asked for and the elevation met. */
export const EVENT_CONTROLS = ['approval', 'justify', 'mfa'] as const;
export type EventControl = (typeof EVENT_CONTROLS)[number];

/**
 * A time as agents and admins send it: ISO 8601 text (checked strictly by timeFrom) or
 * milliseconds since the epoch.
 */
export const TimeSchema = Type.Union([Type.String({ minLength: 1, maxLength: EVENT_TIME_TEXT_MAX }), Type.Integer({ minimum: 0, maximum: MAX_TIME_MS })]);

/** A closed list of strings as JSON Schema `enum` (the collector's error for a value outside it names the list). */
const OneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });
/** An event's string field, as long as the published limit allows. */
const Field = (name: EventStringField) => Type.Optional(Type.String({ maxLength: EVENT_STRING_LIMITS[name] }));

/**
 * One event as an agent sends it. The known fields are listed; anything else an agent wants
 * to keep goes under `data` (a free object). `computer` is accepted but ignored: the event is
 * attributed to the enrolled machine.
 */
export const EventSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: EVENT_ID_MAX }),
    type: OneOf(EVENT_TYPES),
    time: TimeSchema,
    computer: Field('computer'),
    user: Field('user'),
    passcodeId: Field('passcodeId'),
    passcodeTitle: Field('passcodeTitle'),
    sessionId: Field('sessionId'),
    processPath: Field('processPath'),
    args: Field('args'),
    elevatedBy: Type.Optional(OneOf(ELEVATED_BY)),
    /** The rules that decided (names, comma-separated), and the controls that were met. */
    rule: Field('rule'),
    controls: Type.Optional(Type.Array(OneOf(EVENT_CONTROLS), { maxItems: EVENT_LIST_LIMITS.controls })),
    pid: Type.Optional(Type.Integer({ minimum: 0 })),
    processIds: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { maxItems: EVENT_LIST_LIMITS.processIds })),
    requestId: Field('requestId'),
    justification: Field('justification'),
    reason: Field('reason'),
    result: Field('result'),
    message: Field('message'),
    policy: Field('policy'),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
/** One event: the schema is the type. */
export type Event = Static<typeof EventSchema>;

/** The body of POST /api/v1/events: 1 to MAX_EVENTS_PER_BATCH events. */
export const EventsBody = Type.Object({ events: Type.Array(EventSchema, { minItems: 1, maxItems: MAX_EVENTS_PER_BATCH }) }, { additionalProperties: false });
export type EventsRequest = Static<typeof EventsBody>;
/** The collector's answer to POST /api/v1/events: events in the batch, and how many were new. */
export interface EventsAnswer {
  accepted: number;
  stored: number;
}

/** What a producer gives besides the type: every field but the id and time (the agent makes those). */
export type EventFields = Omit<Partial<Event>, 'id' | 'type' | 'time'>;

/**
 * An event as it is kept and read back (the agent's spool, the collector's storage): the
 * contract's fields, its type and `data` left open, because a record written by another
 * version of the agent is read back as it was; only the collector's schema decides what it
 * takes (the storage checks the fields it indexes itself).
 */
export type EventRecord = Omit<Event, 'type' | 'data'> & { type: string; data?: unknown; [field: string]: unknown };

export function isEventType(type: unknown): type is EventType {
  return typeof type === 'string' && (EVENT_TYPES as readonly string[]).includes(type);
}
