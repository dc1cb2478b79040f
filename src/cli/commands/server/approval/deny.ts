import { Args } from '@oclif/core';
import { AscendCommand } from '../../../base-command.js';
import { callApi, safe, seg, serverFlags } from '../../../server-command.js';
import { DECISION_HINTS, type ApprovalDecisionResult } from '../../../shared/server-views.js';

export default class ServerApprovalDeny extends AscendCommand<ApprovalDecisionResult> {
  static override summary = 'Deny an approval request: the agent tells the user and does not elevate.';
  static override description = 'Needs a token of the approver role or above. Your token\'s name is recorded as who decided.';
  static override examples = ['<%= config.bin %> server approval deny 0f9a6c2e-8d1b-4e3f-a5b7-c9d0e1f2a3b4 --server https://collector.corp.example'];
  static override args = { id: Args.string({ description: 'the request id (from "ascend server approval list")', required: true }) };
  static override flags = { ...serverFlags };

  async run(): Promise<ApprovalDecisionResult> {
    const { args, flags } = await this.parse(ServerApprovalDeny);
    const r = await callApi<ApprovalDecisionResult>(flags, 'POST', `api/v1/approvals/${seg(args.id)}/deny`, {}, DECISION_HINTS);
    const q = r.request;
    this.say(`Denied ${q.id}: ${safe(q.user)} on ${safe(q.computer)}, ${safe(q.processPath)}.`);
    return r;
  }
}
