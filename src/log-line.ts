/**
 * One log line, safe to write whatever it carries: the agent logs names, paths, arguments and
 * pieces of frames that users chose, and none of them may start a line of their own, move the
 * cursor, recolour the terminal or reorder the text. Every character that could is written as a
 * JSON-style escape (`\n`, `\r`, `\t`, `\u001b`, `\u2028`...):
 *
 * - C0 controls (U+0000-U+001F), DEL (U+007F) and C1 controls (U+0080-U+009F), among them
 *   ESC, CR, LF and the 8-bit CSI (U+009B);
 * - the Unicode line and paragraph separators (U+2028, U+2029);
 * - the bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
 *   U+202A-U+202E, U+2066-U+2069), which reorder what a reader sees;
 * - lone UTF-16 surrogates, which have no UTF-8 form.
 *
 * Backslashes stay as they are in the message (Windows paths read naturally); in the fields,
 * which are JSON, they are escaped as JSON escapes them, so the fields part parses back to the
 * values logged.
 */

// Built from code points so this file itself holds none of the characters it escapes.
const RANGES: readonly [number, number][] = [
  [0x00, 0x1f],
  [0x7f, 0x9f],
  [0x061c, 0x061c],
  [0x200e, 0x200f],
  [0x2028, 0x202e],
  [0x2066, 0x2069],
  [0xd800, 0xdfff],
];
const hex4 = (n: number): string => n.toString(16).padStart(4, '0');
const UNSAFE = new RegExp(`[${RANGES.map(([a, b]) => (a === b ? `\\u${hex4(a)}` : `\\u${hex4(a)}-\\u${hex4(b)}`)).join('')}]`, 'g');
// A surrogate is unsafe only alone: a pair is one astral character, which stays.
const PAIR = /[\ud800-\udbff][\udc00-\udfff]/y;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(ch: string): string {
  return SHORT[ch] ?? `\\u${hex4(ch.charCodeAt(0))}`;
}

/** The text with every character listed above written as an escape; other text unchanged. */
export function escapeControlChars(text: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(text)) return text;
  UNSAFE.lastIndex = 0;
  return text.replace(UNSAFE, (ch: string, offset: number, whole: string) => {
    const code = ch.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdfff) {
      // Keep a well-formed pair: a high surrogate followed by a low one, or a low one preceded by a high one.
      PAIR.lastIndex = code <= 0xdbff ? offset : offset - 1;
      if (PAIR.lastIndex >= 0 && PAIR.test(whole)) return ch;
    }
    return escapeOne(ch);
  });
}

/**
 * Fields as one line of JSON: nested values, keys included, with every unsafe character
 * escaped. Never throws: a bigint is written as a string, an Error as its message, an object
 * met a second time (a cycle) as "[repeated]".
 */
export function formatLogFields(fields: Record<string, unknown>): string {
  const seen = new WeakSet<object>();
  let json: string | undefined;
  try {
    json = JSON.stringify(fields, (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      if (value instanceof Error) return value.message;
      if (typeof value === 'object' && value !== null) {
        if (seen.has(value)) return '[repeated]';
        seen.add(value);
      }
      return value;
    });
  } catch (e) {
    json = JSON.stringify({ unloggable: e instanceof Error ? e.message : String(e) });
  }
  // JSON.stringify escapes C0 and lone surrogates, not DEL, C1, separators or bidi controls:
  // their \u escapes are valid JSON, so the part still parses to what was logged.
  return escapeControlChars(json ?? '{}');
}

/** `TIME LEVEL MESSAGE [FIELDS-AS-JSON]`, with nothing in it that could end the line early. */
export function formatLogLine(time: Date, level: string, message: string, fields?: Record<string, unknown>): string {
  const tail = fields && Object.keys(fields).length > 0 ? ` ${formatLogFields(fields)}` : '';
  return `${time.toISOString()} ${escapeControlChars(level)} ${escapeControlChars(String(message))}${tail}\n`;
}
