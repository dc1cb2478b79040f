/**
 * Timestamps pinned to the time window of the request that set them, rather than checked
 * by type: `const w = windowStart(); ...request...; expectTimeIn(value, w)` checks that the
 * value is an ISO-8601 UTC time no earlier than the request's start and no later than now
 * (shifted by `offsetMs` for times the server puts ahead, such as a lock's end).
 */
import { expect } from 'chai';

export interface TimeWindow {
  from: number;
}

/** Marks the start of a request's window (read before the request is made). */
export function windowStart(): TimeWindow {
  return { from: Date.now() };
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/;

/** Checks `value` is an ISO UTC time within [w.from, now] + offsetMs; returns it in ms. */
export function expectTimeIn(value: unknown, w: TimeWindow, what: string, offsetMs = 0): number {
  const to = Date.now();
  expect(value, `${what}: an ISO-8601 UTC time`).to.be.a('string').and.match(ISO_UTC);
  const t = Date.parse(value as string);
  // A store that keeps whole seconds may round the start of the window down to its second.
  const from = Math.floor((w.from + offsetMs) / 1000) * 1000;
  expect(t, `${what} ${String(value)} within ${new Date(from).toISOString()} .. ${new Date(to + offsetMs).toISOString()}`).to.be.within(from, to + offsetMs);
  return t;
}
