/** The time flags of the server commands: --expires (a time ahead) and --from/--to/--since (a time back). */
import { AscendError } from '../../errors.js';
import { durationMs } from '../duration.js';

/** "24h", "7d", "30m", "3600s" from now, or an ISO 8601 time. */
export function parseExpiry(text: string, now = Date.now()): string {
  const ms = durationMs(text);
  if (ms !== undefined) return new Date(now + ms).toISOString();
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new AscendError('ASC_USAGE', `--expires must be a duration (30m, 24h, 7d) or an ISO 8601 time: ${text}`);
  return new Date(t).toISOString();
}

/**
 * --from/--to: an ISO 8601 time, milliseconds since the epoch, or a duration back from now
 * ("30m", "24h", "7d"). Sent to the server as ISO 8601 (milliseconds as they are).
 */
export function parseReportTime(text: string, flag: string, now = Date.now()): string {
  const t = text.trim();
  if (/^\d+$/.test(t)) return t;
  const back = durationMs(t);
  if (back !== undefined) return new Date(now - back).toISOString();
  const ms = Date.parse(t);
  if (!Number.isFinite(ms)) throw new AscendError('ASC_USAGE', `${flag} must be an ISO 8601 time, milliseconds, or a duration back from now (30m, 24h, 7d): ${text}`);
  return new Date(ms).toISOString();
}
