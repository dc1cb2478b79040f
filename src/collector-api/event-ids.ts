/**
 * Stable numeric ids for the event types (EVENT_TYPES in events.ts): what a SIEM rule is
 * written against (the CEF Device Event Class ID, `eventId` in the JSON feed). An id is never
 * reused or renumbered; a new event type takes a new id in its group. docs/events.md documents
 * each one, and a test checks the two agree.
 *
 * Groups: 1xx passcodes, 2xx elevations, 3xx sessions, 4xx approvals and controls,
 * 5xx policy, 9xx the agent itself. `severity` is CEF's 0 (lowest) to 10.
 *
 * Part of the contract between agent, collector and CLI (DESIGN section 2): no I/O.
 */
import type { EventType } from './events.js';

export interface EventTypeInfo {
  id: number;
  /** A short human name (CEF Name). */
  name: string;
  /** 0 to 10, as CEF rates it. */
  severity: number;
}

/** A Record over EventType: an event type without an id does not compile. */
export const EVENT_IDS: Readonly<Record<EventType, EventTypeInfo>> = {
  'passcode-redeemed': { id: 100, name: 'Passcode redeemed', severity: 5 },
  'passcode-refused': { id: 101, name: 'Passcode refused', severity: 6 },
  'process-elevated': { id: 200, name: 'Process elevated', severity: 3 },
  'elevation-denied': { id: 201, name: 'Elevation denied', severity: 6 },
  'elevation-discovered': { id: 202, name: 'Elevation discovered', severity: 2 },
  'session-expired': { id: 300, name: 'Elevated session expired', severity: 2 },
  'session-ended': { id: 301, name: 'Elevated session ended', severity: 2 },
  'processes-ended': { id: 302, name: 'Elevated processes ended', severity: 3 },
  'approval-requested': { id: 400, name: 'Approval requested', severity: 4 },
  justification: { id: 401, name: 'Justification given', severity: 3 },
  mfa: { id: 402, name: 'MFA check', severity: 4 },
  'policy-applied': { id: 500, name: 'Policy applied', severity: 1 },
  'agent-error': { id: 900, name: 'Agent error', severity: 7 },
};

/** The id for a stored type; 0 for a type this version does not know (written by another agent version). */
export function eventIdOf(type: string): number {
  return Object.hasOwn(EVENT_IDS, type) ? EVENT_IDS[type as EventType].id : 0;
}

export function eventInfoOf(type: string): EventTypeInfo {
  return Object.hasOwn(EVENT_IDS, type) ? EVENT_IDS[type as EventType] : { id: 0, name: 'Unknown event', severity: 5 };
}
