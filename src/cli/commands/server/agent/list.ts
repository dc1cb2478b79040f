import { AscendCommand } from '../../../base-command.js';
import { serverFlags, when } from '../../../server-command.js';
import { renderTable } from '../../../table.js';
import { fetchList, pageFlags } from '../../../shared/list-pages.js';
import type { AgentView } from '../../../shared/server-views.js';

export interface AgentListResult {
  agents: AgentView[];
  /** null when the whole list is shown; else where the next page starts (--cursor). */
  nextCursor: string | null;
}

export default class ServerAgentList extends AscendCommand<AgentListResult> {
  static override summary = 'List the agents enrolled with the collector.';
  static override description = 'Needs a token of the viewer role or above.';
  static override examples = ['<%= config.bin %> server agent list --server https://collector.corp.example', '<%= config.bin %> server agent list --server URL --json'];
  static override flags = { ...serverFlags, ...pageFlags };

  async run(): Promise<AgentListResult> {
    const { flags } = await this.parse(ServerAgentList);
    // Paged (issue 18): the whole list (every cursor followed), or one page with --limit / --cursor.
    const r: AgentListResult = await fetchList<'agents', AgentView>(flags, 'api/v1/agents', {}, 'agents', flags, 'agent list');
    const rows = r.agents.map((a) => ({
      id: a.id,
      computer: a.holdsName === false && a.revokedAt === null ? `${a.computer} (duplicate: revoke one)` : a.computer,
      enrolled: when(a.enrolledAt),
      revoked: a.revokedAt === null ? '' : when(a.revokedAt),
    }));
    this.say(renderTable(['id', 'computer', 'enrolled', 'revoked'], rows, { empty: '(no agents)', maxCellWidth: 64 }));
    if (r.nextCursor !== null) this.say(`(more: --cursor ${r.nextCursor})`);
    return r;
  }
}
