/**
 * The events in an agent's spool, read-only and straight from its segment files (agent tests
 * that look at what the agent recorded, whether or not it still runs).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeRecord } from '../../agent/spool/record.js';

/** Every event in the spool of the agent whose state folder is `stateDir`, oldest first; a record that is not an event is skipped. */
export function spooledEvents(stateDir: string): Record<string, unknown>[] {
  const dir = path.join(stateDir, 'spool');
  const out: Record<string, unknown>[] = [];
  for (const f of existsSync(dir) ? readdirSync(dir).filter((n) => /^seg-\d+\.log$/.test(n)).sort() : []) {
    const buf = readFileSync(path.join(dir, f));
    for (let at = 0; ; ) {
      const rec = decodeRecord(buf, at);
      if (!('payload' in rec)) break;
      try {
        const v = JSON.parse(rec.payload.toString('utf8')) as unknown;
        out.push(...((Array.isArray(v) ? v : [v]) as Record<string, unknown>[]));
      } catch {
        // not an event
      }
      at = rec.end;
    }
  }
  return out;
}
