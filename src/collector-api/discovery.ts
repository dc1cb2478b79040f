/**
 * Discovery (issue 19): what an agent reports when it sees a program run as another user
 * outside Ascend (sudo's own records), in an `elevation-discovered` event.
 *
 * The event's contract fields: `user` (who ran it), `processPath` (the program, resolved to an
 * absolute path), `args` (its arguments as a command line, like process-elevated's), `time`
 * (when sudo ran it, from sudo's record, not when the agent read it), `result` (what the
 * current Ascend rules would have decided: one of DISCOVERY_RESULTS), `rule` (the deciding
 * rules' names, comma-separated) and `controls` (the controls that rule would ask for).
 * The rest is under `data` as DiscoveredData.
 *
 * The event id is derived from the position of the record in its source (the journal cursor,
 * or the log file's identity and offset), so a record read twice (an agent restarted before
 * its saved position caught up) carries the same id, and the collector keeps it once.
 *
 * Part of the contract between agent, collector and CLI (DESIGN section 2): no I/O.
 */

/** What the current rules would have decided for a discovered elevation. */
export const DISCOVERY_RESULTS = ['would-allow', 'would-deny', 'no-rule'] as const;
export type DiscoveryResult = (typeof DISCOVERY_RESULTS)[number];

/** Where a discovered elevation was read from. */
export const DISCOVERY_SOURCES = ['journal', 'sudo-json-log'] as const;
export type DiscoverySource = (typeof DISCOVERY_SOURCES)[number];

/** `data` of an elevation-discovered event. Every field is optional to a reader (older agents). */
export interface DiscoveredData {
  /** The working folder the command ran in. */
  cwd?: string;
  /** The user it ran as (sudo's runas user), e.g. "root". */
  runAs?: string;
  /** The owning Debian package as a rule's publisher names it ("deb:coreutils"), only when dpkg's checksum matched the file. */
  publisher?: string;
  /** The file's SHA-256 (lower-case hex) when the agent could read it. */
  sha256?: string;
  /** The record's source. */
  source?: DiscoverySource;
  /** The terminal, as sudo logged it. */
  tty?: string;
}

export function isDiscoveryResult(v: unknown): v is DiscoveryResult {
  return typeof v === 'string' && (DISCOVERY_RESULTS as readonly string[]).includes(v);
}
