import { Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { parseReportTime } from '../../shared/time-flags.js';
import { callApi, serverFlags, when } from '../../server-command.js';
import { renderTable } from '../../table.js';

export interface RevocationView {
  kind: string;
  subject: string;
  reason: string | null;
  revokedAt: string;
}

export interface RevocationsResult {
  revocations: RevocationView[];
}

export default class ServerRevocations extends AscendCommand<RevocationsResult> {
  static override summary = 'List the revocations agents fetch from the collector (passcodes, agents).';
  static override description = 'Needs a token of the viewer role or above. --since takes an ISO 8601 time, milliseconds, or a duration back from now (30m, 24h, 7d).';
  static override examples = ['<%= config.bin %> server revocations --server https://collector.corp.example --since 7d'];
  static override flags = {
    ...serverFlags,
    since: Flags.string({ description: 'only revocations from this time on' }),
  };

  async run(): Promise<RevocationsResult> {
    const { flags } = await this.parse(ServerRevocations);
    const query = flags.since === undefined ? '' : `?${new URLSearchParams({ since: parseReportTime(flags.since, '--since') }).toString()}`;
    const r = await callApi<RevocationsResult>(flags, 'GET', `api/v1/revocations${query}`);
    const rows = r.revocations.map((v) => ({ kind: v.kind, subject: v.subject, revoked: when(v.revokedAt), reason: v.reason ?? '' }));
    this.say(renderTable(['kind', 'subject', 'revoked', 'reason'], rows, { empty: '(no revocations)', maxCellWidth: 64 }));
    return r;
  }
}
