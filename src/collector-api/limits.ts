/**
 * The published limits of one event as the collector takes it (POST /api/v1/events). The
 * collector's schema is built from these numbers and the agent cuts every field to them
 * before it spools an event, so an event the agent keeps is an event the collector stores.
 * String lengths are counted in characters (Unicode code points, as JSON Schema counts them).
 *
 * This module is part of the contract between agent, collector and CLI (DESIGN section 2):
 * it imports nothing and does no I/O.
 */

/** Events in one POST. */
export const MAX_EVENTS_PER_BATCH = 1000;
/** Bytes of one request body. */
export const BODY_LIMIT = 1024 * 1024;

/** An event id: 1 to this many characters. */
export const EVENT_ID_MAX = 200;
/** `time` given as text (ISO 8601). */
export const EVENT_TIME_TEXT_MAX = 64;
/** A short text field: names, paths, ids, reasons. */
export const EVENT_TEXT_MAX = 4096;
/** A long text field: command lines, justifications, messages. */
export const EVENT_LONG_TEXT_MAX = 32768;

/** The maximum length, in characters, of every optional string field of an event. */
export const EVENT_STRING_LIMITS = {
  computer: EVENT_TEXT_MAX,
  user: EVENT_TEXT_MAX,
  passcodeId: EVENT_TEXT_MAX,
  passcodeTitle: EVENT_TEXT_MAX,
  sessionId: EVENT_TEXT_MAX,
  processPath: EVENT_TEXT_MAX,
  args: EVENT_LONG_TEXT_MAX,
  rule: EVENT_TEXT_MAX,
  requestId: EVENT_TEXT_MAX,
  justification: EVENT_LONG_TEXT_MAX,
  reason: EVENT_TEXT_MAX,
  result: EVENT_TEXT_MAX,
  message: EVENT_LONG_TEXT_MAX,
  policy: EVENT_TEXT_MAX,
} as const;
export type EventStringField = keyof typeof EVENT_STRING_LIMITS;

/** The maximum number of items of every list field of an event. */
export const EVENT_LIST_LIMITS = {
  controls: 3,
  processIds: 10000,
} as const;
export type EventListField = keyof typeof EVENT_LIST_LIMITS;

/**
 * `data` is a free object to the collector (bounded only by the body). Agents keep it below
 * this many bytes of JSON and its strings below EVENT_TEXT_MAX characters, so that one event
 * always fits in a request with room to spare.
 */
export const EVENT_DATA_MAX_BYTES = 16 * 1024;
