/**
 * A plain-text table for reports in a terminal. Pure: no I/O, no terminal queries.
 *
 * Report cells come from events that agents send, so they are attacker-controlled: control
 * characters (ESC sequences, CR, BEL...) and bidirectional overrides would let a crafted
 * process path rewrite or reorder what the admin sees. Every such character is shown as an
 * escape (`\n`, `\x1b`, `\u202e`) instead of being written to the terminal.
 */

export type Cell = string | number | boolean | null | undefined;

export interface TableOptions {
  /** Longest a cell may be, in characters; longer ones end in "…". Default 40; at least 2. */
  maxCellWidth?: number;
  /** Header labels by column key; a column without one shows its key. */
  labels?: Readonly<Record<string, string>>;
  /** Printed under the header when there are no rows. Default "(no rows)". */
  empty?: string;
}

export const DEFAULT_MAX_CELL_WIDTH = 40;

const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * C0 and C1 controls, DEL, the bidirectional embeddings, overrides and isolates, the
 * zero-width and directional marks, the line and paragraph separators, and the BOM.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** A cell as one line of inert text. */
export function cellText(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value).replace(UNSAFE, (ch) => {
    const named = NAMED_ESCAPES[ch];
    if (named !== undefined) return named;
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * Text for a terminal that keeps its line structure (CR, LF, TAB) but shows every other
 * unsafe character as an escape: CSV from agents must not drive the terminal.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    if (ch === '\n' || ch === '\r' || ch === '\t') return ch;
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Cuts to `max` characters (code points, never half a surrogate pair), the last one "…". */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

function width(text: string): number {
  return Array.from(text).length;
}

function pad(text: string, to: number): string {
  return text + ' '.repeat(Math.max(0, to - width(text)));
}

/**
 * The rows under a header line and a rule, columns separated by two spaces, the last
 * column not padded. Columns keep the order given; keys of a row that are not columns
 * are not shown.
 */
export function renderTable(columns: readonly string[], rows: readonly Readonly<Record<string, Cell>>[], opts: TableOptions = {}): string {
  const max = Math.max(2, Math.floor(opts.maxCellWidth ?? DEFAULT_MAX_CELL_WIDTH));
  const header = columns.map((c) => truncate(cellText(opts.labels?.[c] ?? c), max));
  const body = rows.map((row) => columns.map((c) => truncate(cellText(row[c]), max)));
  if (columns.length === 0) return opts.empty ?? '(no rows)';
  // A loop, not Math.max(...): a report may have more rows than a call has arguments.
  const widths = header.map(width);
  for (const r of body) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : pad(cell, widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w)))];
  if (body.length === 0) out.push(opts.empty ?? '(no rows)');
  else for (const r of body) out.push(line(r));
  return out.join('\n');
}
