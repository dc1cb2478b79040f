/** What the followers of sudo's records (the journal, sudo's JSON log) hand to discovery. */
import type { DiscoverySource } from '../../src/collector-api/discovery.js';
import type { ParseOutcome } from './sudo-record.js';
import type { DiscoveryPosition } from './position.js';
import type { LogFn } from '../daemon/options.js';

/** A record read, with the id its position gives it. */
export interface Found {
  id: string;
  source: DiscoverySource;
  outcome: ParseOutcome | { ok: false; why: 'untrusted' };
  /** The journal's _UID of the sender: the record must be that account's (journal only). */
  senderUid?: number;
}

/** Why a record was skipped (counted, never reported). */
export type SkipReason = 'malformed' | 'ambiguous' | 'too-large' | 'untrusted' | 'not-a-command' | 'refused' | 'unsafe-file';

export interface FollowerOptions {
  /**
   * Handles a batch: reports its records and saves `position` (the position after the last of
   * them). False when they could not all be put in the spool: the follower reads them again
   * from the position saved before, later.
   */
  handle: (found: Found[], position: DiscoveryPosition) => Promise<boolean>;
  count: (why: SkipReason) => void;
  log: LogFn;
}
