import { AscendError } from '../../errors.js';

/** The longest reason the collector stores. */
export const MAX_DECISION_REASON = 500;

/** --reason as the collector takes it: one line, trimmed, at most 500 characters. */
export function decisionReason(text: string): string {
  const t = text.trim();
  if (t === '') throw new AscendError('ASC_USAGE', '--reason must not be empty');
  if (/[\p{Cc}\p{Zl}\p{Zp}]/u.test(t)) throw new AscendError('ASC_USAGE', '--reason must be one line without control characters');
  if (t.length > MAX_DECISION_REASON) throw new AscendError('ASC_USAGE', `--reason must be at most ${MAX_DECISION_REASON} characters (it has ${t.length})`);
  return t;
}
