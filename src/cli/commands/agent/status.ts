import { AscendCommand } from '../../base-command.js';
import { socketFlags } from '../../agent-command.js';
import { agentStatus, agentStatusLines, type AgentStatusResult } from '../../client/agent-status.js';

export type { AgentStatusResult } from '../../client/agent-status.js';

export default class AgentStatus extends AscendCommand<AgentStatusResult> {
  static override summary = "Show the local agent's state: policy and where it came from, rules, TSE, collector and spool.";
  static override examples = ['<%= config.bin %> agent status', '<%= config.bin %> agent status --socket /run/ascend/agent.sock --json'];
  static override flags = { ...socketFlags };

  async run(): Promise<AgentStatusResult> {
    const { flags } = await this.parse(AgentStatus);
    const s = await agentStatus(flags);
    for (const line of agentStatusLines(s)) this.say(line);
    return s;
  }
}
