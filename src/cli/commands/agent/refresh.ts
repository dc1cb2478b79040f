import { AscendCommand } from '../../base-command.js';
import { callAgent, socketFlags } from '../../agent-command.js';
import { safe } from '../../server-command.js';

export interface AgentRefreshResult {
  refreshed: boolean;
  reason?: string;
  policy: { description?: string; fromCache?: boolean; lastError?: string; gpos?: string[]; digest?: string };
}

export default class AgentRefresh extends AscendCommand<AgentRefreshResult> {
  static override summary = 'Make the local agent read its policy now (as gpupdate does), instead of at its next refresh.';
  static override description =
    'The agent otherwise refreshes every 90 minutes plus a random 0-30. When the source can not be read the agent keeps the policy it has ' +
    '(and its cache) and says why. Users other than root may ask once a minute.';
  static override examples = ['<%= config.bin %> agent refresh'];
  static override flags = { ...socketFlags };

  async run(): Promise<AgentRefreshResult> {
    const { flags } = await this.parse(AgentRefresh);
    const r = await callAgent<AgentRefreshResult>(flags, { op: 'refresh' });
    if (r.refreshed) this.say(`Policy refreshed from ${safe(r.policy.description ?? 'its source')}${r.policy.gpos?.length ? `: ${r.policy.gpos.map(safe).join(', ')}` : ''}`);
    else this.say(`Not refreshed: ${safe(r.reason ?? r.policy.lastError ?? 'unknown')}; the agent keeps its current policy`);
    return r;
  }
}
