/**
 * Migration 3's data step: binds each existing agent to its computer key, then makes the
 * key unique among live agents. A database may already hold two live agents under one
 * name (the impostor of issue 13, or a reinstalled machine never revoked): the earliest
 * enrolled keeps the name, the later ones stay unbound (computer_key NULL). An unbound
 * agent still sends events and asks for approvals, but redeems no passcode (the collector
 * can not tell which of them is the machine); `ascend server agent list` shows them, and
 * revoking the wrong one and re-enrolling the right one binds it. A stored name that is no
 * valid computer name stays unbound too. The migration never fails on old data.
 */
import { computerKeyOrNull } from '../computer-name.js';
import type { Sql } from './driver.js';

export async function bindComputerNames(q: Sql): Promise<void> {
  const rows = await q.all('SELECT id, computer, revoked_at FROM agents ORDER BY enrolled_at, id');
  const held = new Set<string>();
  for (const r of rows) {
    const key = computerKeyOrNull(String(r.computer));
    if (key === null) continue;
    const live = r.revoked_at === null || r.revoked_at === undefined;
    if (live) {
      if (held.has(key)) continue;
      held.add(key);
    }
    await q.run('UPDATE agents SET computer_key = ? WHERE id = ?', [key, String(r.id)]);
  }
  await q.run('CREATE UNIQUE INDEX agents_live_computer ON agents (computer_key) WHERE revoked_at IS NULL');
}
