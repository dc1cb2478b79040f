import { Args, Flags } from '@oclif/core';
import { AscendCommand } from '../../../base-command.js';
import { callApi, safe, seg, serverFlags, when } from '../../../server-command.js';
import type { AgentView } from '../../../shared/server-views.js';

export interface AgentRevokeResult {
  agent: AgentView;
}

export default class ServerAgentRevoke extends AscendCommand<AgentRevokeResult> {
  static override summary = "Revoke an agent's credential: the collector refuses its events and requests from now on.";
  static override description = 'Needs an admin token. ID is from "ascend server agent list". To bring the machine back, enroll it again with a new enrollment token.';
  static override examples = ['<%= config.bin %> server agent revoke 7d3e1f0a-2b4c-4d5e-8f9a-0b1c2d3e4f5a --server https://collector.corp.example --reason "laptop stolen"'];
  static override args = { id: Args.string({ description: 'the agent id', required: true }) };
  static override flags = {
    ...serverFlags,
    reason: Flags.string({ description: 'why (kept with the revocation)' }),
  };

  async run(): Promise<AgentRevokeResult> {
    const { args, flags } = await this.parse(ServerAgentRevoke);
    const body = flags.reason === undefined ? {} : { reason: flags.reason };
    const r = await callApi<AgentRevokeResult>(flags, 'POST', `api/v1/agents/${seg(args.id)}/revoke`, body, { notFound: '"ascend server agent list" shows the ids' });
    this.say(`Revoked agent ${r.agent.id} (${safe(r.agent.computer)}) at ${when(r.agent.revokedAt)}.`);
    return r;
  }
}
