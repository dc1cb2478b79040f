import { AscendCommand } from '../../../base-command.js';
import { callApi, serverFlags, when } from '../../../server-command.js';
import { renderTable } from '../../../table.js';
import type { AgentView } from '../../../shared/server-views.js';

export interface AgentListResult {
  agents: AgentView[];
}

export default class ServerAgentList extends AscendCommand<AgentListResult> {
  static override summary = 'List the agents enrolled with the collector.';
  static override description = 'Needs a token of the viewer role or above.';
  static override examples = ['<%= config.bin %> server agent list --server https://collector.corp.example', '<%= config.bin %> server agent list --server URL --json'];
  static override flags = { ...serverFlags };

  async run(): Promise<AgentListResult> {
    const { flags } = await this.parse(ServerAgentList);
    const r = await callApi<AgentListResult>(flags, 'GET', 'api/v1/agents');
    const rows = r.agents.map((a) => ({
      id: a.id,
      computer: a.holdsName === false && a.revokedAt === null ? `${a.computer} (duplicate: revoke one)` : a.computer,
      enrolled: when(a.enrolledAt),
      revoked: a.revokedAt === null ? '' : when(a.revokedAt),
    }));
    this.say(renderTable(['id', 'computer', 'enrolled', 'revoked'], rows, { empty: '(no agents)', maxCellWidth: 64 }));
    return r;
  }
}
