import { Args, Flags } from '@oclif/core';
import { AscendCommand } from '../../../base-command.js';
import { callApi, safe, seg, serverFlags } from '../../../server-command.js';
import { decisionReason } from '../../../shared/decision-reason.js';
import { DECISION_HINTS, type ApprovalDecisionResult } from '../../../shared/server-views.js';

export default class ServerApprovalDeny extends AscendCommand<ApprovalDecisionResult> {
  static override summary = 'Deny an approval request: the agent tells the user and does not elevate.';
  static override description = 'Needs a token of the approver role or above. Your token\'s name is recorded as who decided.';
  static override examples = [
    '<%= config.bin %> server approval deny 0f9a6c2e-8d1b-4e3f-a5b7-c9d0e1f2a3b4 --server https://collector.corp.example',
    '<%= config.bin %> server approval deny 0f9a6c2e-8d1b-4e3f-a5b7-c9d0e1f2a3b4 --server URL --reason "use the self-service portal"',
  ];
  static override args = { id: Args.string({ description: 'the request id (from "ascend server approval list")', required: true }) };
  static override flags = {
    ...serverFlags,
    reason: Flags.string({ description: 'why you deny (one line, at most 500 characters); the user\'s "ascend elevate" prints it' }),
  };

  async run(): Promise<ApprovalDecisionResult> {
    const { args, flags } = await this.parse(ServerApprovalDeny);
    const r = await callApi<ApprovalDecisionResult>(flags, 'POST', `api/v1/approvals/${seg(args.id)}/deny`, flags.reason === undefined ? {} : { reason: decisionReason(flags.reason) }, DECISION_HINTS);
    const q = r.request;
    this.say(`Denied ${q.id}: ${safe(q.user)} on ${safe(q.computer)}, ${safe(q.processPath)}.`);
    return r;
  }
}
