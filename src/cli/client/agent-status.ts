/** `ascend agent status`: the request and the lines it prints. Shared by the oclif command and the lean client. */
import { safe } from './output.js';
import { callAgent, type SocketOption } from './socket.js';

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

export function agentStatus(opts: SocketOption): Promise<AgentStatusResult> {
  return callAgent<AgentStatusResult>(opts, { op: 'status' });
}

export function agentStatusLines(s: AgentStatusResult): string[] {
  const lines: string[] = [];
  const p = s.policy;
  lines.push(`Agent on ${safe(s.computer)} (pid ${s.pid}, since ${s.startedAt})`);
  lines.push(`Policy: ${safe(p.description ?? p.origin ?? 'unknown')}${p.fromCache ? ' (from the local cache: the source was unreachable)' : ''}, read ${time(p.fetchedAt)}, next refresh ${time(p.nextRefreshAt)}`);
  if (p.gpos?.length) lines.push(`  GPOs (lowest precedence first): ${p.gpos.map(safe).join(', ')}`);
  if (p.lastError) lines.push(`  last refresh failed: ${safe(p.lastError)}`);
  lines.push(`Rules: ${s.rules.count}${s.rules.problems.length ? `, ${s.rules.problems.length} skipped (do not parse)` : ''}`);
  for (const problem of s.rules.problems) lines.push(`  skipped: ${safe(problem)}`);
  lines.push(`TSE: ${s.tse.enabled ? 'enabled' : 'not enabled'}, offline passcodes ${s.tse.offlineAllowed ? 'allowed' : 'not allowed'}, ${s.tse.trustedKeys.length} trusted keys, ${s.tse.activeSessions} active sessions`);
  if (s.tse.clockBehindSeconds > 0) lines.push(`  the system clock is ${s.tse.clockBehindSeconds} s behind the latest time seen: the agent keeps counting from the latest`);
  const c = s.collector;
  lines.push(`Collector: ${c.url ? safe(c.url) : 'none'}${c.enrolled ? ` (agent ${c.agentId})` : ' (not enrolled)'}; spool ${c.spool.bytes}${c.spool.maxBytes ? ` of ${c.spool.maxBytes}` : ''} bytes${c.spool.dropped ? `, ${c.spool.dropped} events dropped (spool full)` : ''}`);
  if (c.insecure) lines.push('  INSECURE DEVELOPMENT MODE (--insecure-dev): the collector is not authenticated');
  else if (c.pinned) lines.push(`  trusted by its certificate authority ${safe(c.pinned)} (pinned at enrollment)`);
  if (c.upload) lines.push(`  sent ${c.upload.sent} events${c.upload.rejected ? `, ${c.upload.rejected} refused by the collector (set aside in the spool's rejected.jsonl)` : ''}${c.upload.failures ? `, ${c.upload.failures} failures in a row: ${safe(c.upload.lastError ?? '')}` : ''}${c.upload.unauthorized ? ', CREDENTIAL REFUSED: enroll again' : ''}`);
  lines.push(`Elevated programs running: ${s.elevationsRunning}`);
  return lines;
}
