/**
 * Times the collector takes from agents and admins: strict ISO 8601 — a date (UTC midnight),
 * or a date and time with Z or an offset; a time without a zone would mean the server's local
 * time, so it is refused — or whole milliseconds since the epoch, within a Date's range.
 *
 * Part of the contract between agent, collector and CLI (DESIGN section 2): no I/O.
 */

/** The largest time a JavaScript Date can hold (±100,000,000 days from 1970), in milliseconds. */
export const MAX_TIME_MS = 8.64e15;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;

/** Milliseconds since the epoch, or undefined when `v` is not one of the accepted forms. */
export function timeFrom(v: string | number): number | undefined {
  let t: number;
  if (typeof v === 'number') t = v;
  else if (/^\d{1,16}$/.test(v)) t = Number(v);
  else if (ISO_TIME.test(v)) t = Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  else return undefined;
  return Number.isInteger(t) && Math.abs(t) <= MAX_TIME_MS ? t : undefined;
}
