import { Args, Flags } from '@oclif/core';
import { AscendCommand } from '../../../base-command.js';
import { callApi, durationShort, parseSeconds, safe, seg, serverFlags } from '../../../server-command.js';
import { decisionReason } from '../../../shared/decision-reason.js';
import { DECISION_HINTS, type ApprovalDecisionResult } from '../../../shared/server-views.js';

export default class ServerApprovalApprove extends AscendCommand<ApprovalDecisionResult> {
  static override summary = 'Approve an approval request: the agent runs the process elevated, once.';
  static override description =
    'Needs a token of the approver role or above. --time-limit bounds how long after the decision the approval may be used ' +
    '(30m, 2h, 3600s; at most 30 days); without it the approval stays usable until it is used. Your token\'s name is recorded as who decided.';
  static override examples = [
    '<%= config.bin %> server approval approve 0f9a6c2e-8d1b-4e3f-a5b7-c9d0e1f2a3b4 --server https://collector.corp.example',
    '<%= config.bin %> server approval approve 0f9a6c2e-8d1b-4e3f-a5b7-c9d0e1f2a3b4 --server URL --time-limit 30m',
  ];
  static override args = { id: Args.string({ description: 'the request id (from "ascend server approval list")', required: true }) };
  static override flags = {
    ...serverFlags,
    'time-limit': Flags.string({ description: 'the approval may be used for this long after the decision: 30m, 2h, 3600s' }),
    reason: Flags.string({ description: 'why you approve (one line, at most 500 characters; stored with the decision)' }),
  };

  async run(): Promise<ApprovalDecisionResult> {
    const { args, flags } = await this.parse(ServerApprovalApprove);
    const timeLimitSeconds = flags['time-limit'] === undefined ? undefined : parseSeconds(flags['time-limit'], '--time-limit');
    const body = { ...(timeLimitSeconds === undefined ? {} : { timeLimitSeconds }), ...(flags.reason === undefined ? {} : { reason: decisionReason(flags.reason) }) };
    const r = await callApi<ApprovalDecisionResult>(flags, 'POST', `api/v1/approvals/${seg(args.id)}/approve`, body, DECISION_HINTS);
    const q = r.request;
    const limit = q.timeLimitSeconds === null ? 'no time limit' : `usable for ${durationShort(q.timeLimitSeconds * 1000)}`;
    this.say(`Approved ${q.id}: ${safe(q.user)} on ${safe(q.computer)} may run ${safe(q.processPath)} once (${limit}).`);
    return r;
  }
}
