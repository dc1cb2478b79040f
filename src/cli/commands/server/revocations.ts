import { Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { parseReportTime } from '../../shared/time-flags.js';
import { serverFlags, when } from '../../server-command.js';
import { fetchList, pageFlags } from '../../shared/list-pages.js';
import { renderTable } from '../../table.js';

export interface RevocationView {
  kind: string;
  subject: string;
  reason: string | null;
  revokedAt: string;
}

export interface RevocationsResult {
  revocations: RevocationView[];
  /** null when the whole list is shown; else where the next page starts (--cursor). */
  nextCursor: string | null;
}

export default class ServerRevocations extends AscendCommand<RevocationsResult> {
  static override summary = 'List the revocations agents fetch from the collector (passcodes, agents).';
  static override description = 'Needs a token of the viewer role or above. --since takes an ISO 8601 time, milliseconds, or a duration back from now (30m, 24h, 7d).';
  static override examples = ['<%= config.bin %> server revocations --server https://collector.corp.example --since 7d'];
  static override flags = {
    ...serverFlags,
    since: Flags.string({ description: 'only revocations from this time on' }),
    ...pageFlags,
  };

  async run(): Promise<RevocationsResult> {
    const { flags } = await this.parse(ServerRevocations);
    // Paged (issue 18): the whole list (every cursor followed), or one page with --limit / --cursor.
    const since = flags.since === undefined ? undefined : parseReportTime(flags.since, '--since');
    const r: RevocationsResult = await fetchList<'revocations', RevocationView>(flags, 'api/v1/revocations', { since }, 'revocations', flags, 'revocation list');
    const rows = r.revocations.map((v) => ({ kind: v.kind, subject: v.subject, revoked: when(v.revokedAt), reason: v.reason ?? '' }));
    this.say(renderTable(['kind', 'subject', 'revoked', 'reason'], rows, { empty: '(no revocations)', maxCellWidth: 64 }));
    if (r.nextCursor !== null) this.say(`(more: --cursor ${r.nextCursor})`);
    return r;
  }
}
