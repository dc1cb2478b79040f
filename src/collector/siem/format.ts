/**
 * The SIEM feed's wire format, pure: one stored event → one syslog message (RFC 5424) whose
 * MSG is JSON or CEF, framed by octet counting (RFC 6587 section 3.4.1: "LEN SP MSG").
 *
 * Everything in an event came from an agent and is hostile: no field can break the framing
 * (octet counting does not look inside the message, and every control character is escaped
 * anyway so a receiver that splits on newlines is not fooled either), and no field can add a
 * CEF field or header column (`\`, `|`, `=` and newlines escaped as the CEF spec says; other
 * control characters, which CEF has no escape for, become U+FFFD). The header fields of the
 * syslog line are ours or reduced to printable ASCII.
 */
import { eventInfoOf } from '../../collector-api/event-ids.js';
import type { StoredEvent } from '../storage/types.js';

export const SIEM_FORMATS = ['json', 'cef'] as const;
export type SiemFormat = (typeof SIEM_FORMATS)[number];

/** syslog facility: 10 = authpriv (security/authorization messages). */
export const SYSLOG_FACILITY = 10;
const APP_NAME = 'ascend';

/** CEF 0-10 → syslog severity: informational (6), notice (5), warning (4), error (3). */
export function syslogSeverity(cef: number): number {
  if (cef >= 9) return 3;
  if (cef >= 7) return 4;
  if (cef >= 4) return 5;
  return 6;
}

/** An RFC 5424 header field: printable US-ASCII (33-126) only, at most `max` characters, "-" when empty. */
export function headerField(text: string, max: number): string {
  const clean = text.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** JSON.stringify escapes C0 controls; this also escapes DEL, C1 controls and the Unicode line separators. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Other control characters (and lone surrogates) have no CEF escape: they become U+FFFD. */
function noControls(text: string): string {
  return text.replace(/[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** A CEF header column: `\` and `|` escaped; newlines have no place in the header, so they go too. */
export function cefHeader(text: string): string {
  return noControls(text.replace(/[\r\n]/g, ' ')).replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
}

/** A CEF extension value: `\`, `=`, CR and LF escaped (the pipe needs none there). */
export function cefValue(text: string): string {
  return noControls(text)
    .replace(/\\/g, '\\\\')
    .replace(/=/g, '\\=')
    .replace(/\r\n|\r|\n/g, (nl) => (nl === '\r\n' ? '\\r\\n' : nl === '\r' ? '\\r' : '\\n'));
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/**
 * The CEF extension keys (ArcSight names) each event field goes to. Fields not listed here
 * (processIds, data) are in the JSON format only.
 */
export const CEF_FIELDS: readonly { key: string; label?: string; from: (e: StoredEvent) => unknown }[] = [
  { key: 'rt', from: (e) => e.receivedAt },
  { key: 'start', from: (e) => e.time },
  { key: 'externalId', from: (e) => e.id },
  { key: 'deviceExternalId', from: (e) => e.agentId },
  { key: 'dvchost', from: (e) => e.computer },
  { key: 'suser', from: (e) => e.user },
  { key: 'dproc', from: (e) => e.payload.processPath },
  { key: 'dpid', from: (e) => e.payload.pid },
  { key: 'act', from: (e) => e.payload.elevatedBy },
  { key: 'outcome', from: (e) => e.payload.result },
  { key: 'reason', from: (e) => e.payload.reason },
  { key: 'msg', from: (e) => e.payload.message },
  { key: 'cs1', label: 'rule', from: (e) => e.payload.rule },
  { key: 'cs2', label: 'justification', from: (e) => e.payload.justification },
  { key: 'cs3', label: 'args', from: (e) => e.payload.args },
  { key: 'cs4', label: 'requestId', from: (e) => e.payload.requestId },
  { key: 'cs5', label: 'sessionId', from: (e) => e.sessionId },
  { key: 'cs6', label: 'passcodeId', from: (e) => e.passcodeId },
  { key: 'flexString1', label: 'policy', from: (e) => e.payload.policy },
  { key: 'flexString2', label: 'controls', from: (e) => (Array.isArray(e.payload.controls) ? e.payload.controls.filter((c) => typeof c === 'string').join(',') : undefined) },
  { key: 'fname', from: (e) => e.payload.passcodeTitle },
  { key: 'cn1', label: 'truncated', from: (e) => (e.payload.truncated === true ? 1 : undefined) },
];

export function cefMessage(e: StoredEvent, version: string): string {
  const info = eventInfoOf(e.type);
  const ext: string[] = [];
  for (const f of CEF_FIELDS) {
    const v = text(f.from(e));
    if (v === undefined) continue;
    ext.push(`${f.key}=${cefValue(v)}`);
    if (f.label !== undefined) ext.push(`${f.key}Label=${f.label}`);
  }
  ext.push(`cat=${cefValue(e.type)}`);
  const header = ['CEF:0', 'Ascend', 'Ascend Privilege Manager', version, String(info.id), info.name, String(info.severity)].map((h, i) => (i === 0 ? h : cefHeader(h)));
  return `${header.join('|')}|${ext.join(' ')}`;
}

/** The JSON message: the stored event's fields, the numeric id first, times as ISO text. */
export function jsonMessage(e: StoredEvent): string {
  const info = eventInfoOf(e.type);
  const { payload } = e;
  const known = new Set(['id', 'type', 'time', 'computer', 'user', 'passcodeId', 'sessionId']);
  const rest = Object.fromEntries(Object.entries(payload).filter(([k]) => !known.has(k)));
  return safeJson({
    eventId: info.id,
    type: e.type,
    severity: info.severity,
    agentId: e.agentId,
    id: e.id,
    time: new Date(e.time).toISOString(),
    receivedAt: new Date(e.receivedAt).toISOString(),
    computer: e.computer,
    user: e.user,
    passcodeId: e.passcodeId,
    sessionId: e.sessionId,
    ...rest,
  });
}

/** rsyslog's default maxMessageSize: a longer message would be cut there, and cut JSON or CEF no longer parses. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8192;
/** RFC 5424 6.1: every receiver SHOULD take 2048 octets. */
export const MIN_MAX_MESSAGE_BYTES = 2048;

function render(e: StoredEvent, format: SiemFormat, version: string): string {
  const info = eventInfoOf(e.type);
  const pri = SYSLOG_FACILITY * 8 + syslogSeverity(info.severity);
  const time = Number.isFinite(e.time) && e.time >= 0 ? new Date(e.time).toISOString() : '-';
  const host = headerField(e.computer, 255);
  const msgid = headerField(e.type, 32);
  const msg = format === 'cef' ? cefMessage(e, version) : jsonMessage(e);
  return `<${pri}>1 ${time} ${host} ${APP_NAME} - ${msgid} - ${msg}`;
}

/** The event with every text field cut to `chars` characters and the open-ended fields (data, processIds) left out. */
function shortened(e: StoredEvent, chars: number): StoredEvent {
  const cut = (v: string) => (v.length > chars ? `${v.slice(0, chars)}…` : v);
  const payload: Record<string, unknown> = { truncated: true };
  for (const [k, v] of Object.entries(e.payload)) {
    if (k === 'data' || k === 'processIds') continue;
    if (typeof v === 'string') payload[k] = cut(v);
    else if (typeof v === 'number' || typeof v === 'boolean') payload[k] = v;
    else if (k === 'controls' && Array.isArray(v)) payload[k] = v.filter((c) => typeof c === 'string').map(cut);
  }
  return { ...e, computer: cut(e.computer), user: e.user === null ? null : cut(e.user), passcodeId: e.passcodeId === null ? null : cut(e.passcodeId), sessionId: e.sessionId === null ? null : cut(e.sessionId), payload };
}

/**
 * The whole RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`, at most
 * maxBytes of UTF-8: a longer event is sent with its text fields shortened (and `truncated`
 * set) rather than cut by the receiver into something that no longer parses. The identity
 * (agentId, id, type, time) is never shortened.
 */
export function syslogMessage(e: StoredEvent, format: SiemFormat, opts: { version: string; maxBytes?: number }): string {
  const max = opts.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const full = render(e, format, opts.version);
  if (Buffer.byteLength(full, 'utf8') <= max) return full;
  let out = full;
  for (let chars = 2048; chars >= 0; chars = chars === 0 ? -1 : Math.floor(chars / 2)) {
    out = render(shortened(e, chars), format, opts.version);
    if (Buffer.byteLength(out, 'utf8') <= max) break;
  }
  return out;
}

/** Octet-counting framing (RFC 6587 3.4.1): the byte length of the UTF-8 message, a space, the message. */
export function frame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
