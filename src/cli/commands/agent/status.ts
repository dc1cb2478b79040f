import { AscendCommand } from '../../base-command.js';
import { callAgent, socketFlags } from '../../agent-command.js';
import { safe } from '../../server-command.js';

export interface AgentStatusResult {
  computer: string;
  pid: number;
  startedAt: string;
  policy: { origin?: string; description?: string; fetchedAt?: number; fromCache?: boolean; lastError?: string; nextRefreshAt?: number; gpos?: string[] };
  rules: { count: number; problems: string[] };
  tse: { enabled: boolean; offlineAllowed: boolean; trustedKeys: string[]; activeSessions: number; clockBehindSeconds: number };
  collector: { url: string | null; enrolled: boolean; agentId: string | null; pinned?: string | null; insecure?: boolean; spool: { bytes: number; dropped: number; maxBytes?: number }; upload: { sent: number; rejected?: number; failures: number; lastError: string | null; unauthorized: boolean } | null };
  elevationsRunning: number;
}

const time = (ms: number | undefined): string => (ms === undefined ? 'never' : new Date(ms).toISOString());

export default class AgentStatus extends AscendCommand<AgentStatusResult> {
  static override summary = "Show the local agent's state: policy and where it came from, rules, TSE, collector and spool.";
  static override examples = ['<%= config.bin %> agent status', '<%= config.bin %> agent status --socket /run/ascend/agent.sock --json'];
  static override flags = { ...socketFlags };

  async run(): Promise<AgentStatusResult> {
    const { flags } = await this.parse(AgentStatus);
    const s = await callAgent<AgentStatusResult>(flags, { op: 'status' });
    const p = s.policy;
    this.say(`Agent on ${safe(s.computer)} (pid ${s.pid}, since ${s.startedAt})`);
    this.say(`Policy: ${safe(p.description ?? p.origin ?? 'unknown')}${p.fromCache ? ' (from the local cache: the source was unreachable)' : ''}, read ${time(p.fetchedAt)}, next refresh ${time(p.nextRefreshAt)}`);
    if (p.gpos?.length) this.say(`  GPOs (lowest precedence first): ${p.gpos.map(safe).join(', ')}`);
    if (p.lastError) this.say(`  last refresh failed: ${safe(p.lastError)}`);
    this.say(`Rules: ${s.rules.count}${s.rules.problems.length ? `, ${s.rules.problems.length} skipped (do not parse)` : ''}`);
    for (const problem of s.rules.problems) this.say(`  skipped: ${safe(problem)}`);
    this.say(`TSE: ${s.tse.enabled ? 'enabled' : 'not enabled'}, offline passcodes ${s.tse.offlineAllowed ? 'allowed' : 'not allowed'}, ${s.tse.trustedKeys.length} trusted keys, ${s.tse.activeSessions} active sessions`);
    if (s.tse.clockBehindSeconds > 0) this.say(`  the system clock is ${s.tse.clockBehindSeconds} s behind the latest time seen: the agent keeps counting from the latest`);
    const c = s.collector;
    this.say(`Collector: ${c.url ? safe(c.url) : 'none'}${c.enrolled ? ` (agent ${c.agentId})` : ' (not enrolled)'}; spool ${c.spool.bytes}${c.spool.maxBytes ? ` of ${c.spool.maxBytes}` : ''} bytes${c.spool.dropped ? `, ${c.spool.dropped} events dropped (spool full)` : ''}`);
    if (c.insecure) this.say('  INSECURE DEVELOPMENT MODE (--insecure-dev): the collector is not authenticated');
    else if (c.pinned) this.say(`  trusted by its certificate authority ${safe(c.pinned)} (pinned at enrollment)`);
    if (c.upload) this.say(`  sent ${c.upload.sent} events${c.upload.rejected ? `, ${c.upload.rejected} refused by the collector (set aside in the spool's rejected.jsonl)` : ''}${c.upload.failures ? `, ${c.upload.failures} failures in a row: ${safe(c.upload.lastError ?? '')}` : ''}${c.upload.unauthorized ? ', CREDENTIAL REFUSED: enroll again' : ''}`);
    this.say(`Elevated programs running: ${s.elevationsRunning}`);
    return s;
  }
}
