import { Flags } from '@oclif/core';
import { AscendCommand } from '../../../base-command.js';
import { durationShort, relative, safe, serverFlags, when } from '../../../server-command.js';
import type { ApprovalView } from '../../../shared/server-views.js';
import { fetchList, pageFlags } from '../../../shared/list-pages.js';

export interface ApprovalListResult {
  requests: ApprovalView[];
  /** Where the next page starts; the command follows it, so its result ends with null. */
  nextCursor?: string | null;
}

/**
 * One request for people: what would run where and why, then its state. Every field an agent
 * sent is shown as inert text (control characters and bidi overrides escaped).
 */
export function describeApproval(r: ApprovalView, now = Date.now()): string[] {
  const lines = [`${r.id}  ${r.status.toUpperCase()}  ${safe(r.user)} on ${safe(r.computer)}`, `  process:       ${safe(r.processPath)}`];
  if (r.args !== null && r.args !== '') lines.push(`  arguments:     ${safe(r.args)}`);
  if (typeof r.rule === 'string' && r.rule !== '') lines.push(`  rule:          ${safe(r.rule)}`);
  lines.push(`  justification: ${r.justification === null || r.justification === '' ? '(none given)' : safe(r.justification)}`);
  let state = `  requested:     ${when(r.createdAt)} (${relative(r.createdAt, now)})`;
  if (r.status === 'pending' && r.expiresAt !== null) state += `, expires ${relative(r.expiresAt, now)}`;
  lines.push(state);
  if (r.decidedAt !== null) {
    const limit = r.status === 'approved' ? (r.timeLimitSeconds === null ? ', no time limit' : `, for ${durationShort(r.timeLimitSeconds * 1000)}`) : '';
    lines.push(`  decided:       ${when(r.decidedAt)} by ${safe(r.decidedBy)}${limit}${r.usedAt === null ? '' : `; run at ${when(r.usedAt)}`}`);
    if (typeof r.reason === 'string' && r.reason !== '') lines.push(`  reason:        ${safe(r.reason)}`);
  }
  return lines;
}

export default class ServerApprovalList extends AscendCommand<ApprovalListResult> {
  static override summary = 'List approval requests from agents (pending ones by default).';
  static override description =
    'Needs a token of the approver role or above. Each request shows the computer, the user, the process and its arguments, the justification, ' +
    'and how long ago it was asked and when it expires. Decide with "ascend server approval approve ID" or "... deny ID".';
  static override examples = [
    '<%= config.bin %> server approval list --server https://collector.corp.example',
    '<%= config.bin %> server approval list --server URL --status approved --json',
  ];
  static override flags = {
    ...serverFlags,
    status: Flags.string({ description: 'which requests', options: ['pending', 'approved', 'denied', 'expired'], default: 'pending' }),
    ...pageFlags,
  };

  async run(): Promise<ApprovalListResult> {
    const { flags } = await this.parse(ServerApprovalList);
    // The list is paged (issue 18): follow every cursor, so the output is the whole list as before.
    const r: ApprovalListResult = await fetchList<'requests', ApprovalView>(flags, 'api/v1/approvals', { status: flags.status }, 'requests', flags, 'approval list');
    if (r.requests.length === 0) {
      this.say(`No ${flags.status} approval requests.`);
      return r;
    }
    const now = Date.now();
    r.requests.forEach((req, i) => {
      if (i > 0) this.say();
      for (const line of describeApproval(req, now)) this.say(line);
    });
    if (typeof r.nextCursor === 'string') this.say(`\n(more: --cursor ${r.nextCursor})`);
    return r;
  }
}
