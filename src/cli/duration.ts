/** The command line's one duration form: a whole number and a unit (90s, 30m, 4h, 7d, 2w). */
const UNIT_MS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 } as const;

/** "30m" → 1,800,000; undefined when the text is not a number followed by s, m, h, d or w. */
export function durationMs(text: string): number | undefined {
  const m = /^(\d{1,9})\s*([smhdw])$/i.exec(text.trim());
  if (m === null) return undefined;
  return Number(m[1]) * UNIT_MS[(m[2] ?? 's').toLowerCase() as keyof typeof UNIT_MS];
}
