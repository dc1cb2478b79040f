/**
 * What `ascend server start` writes, in one format: human lines when its log (stderr) is a
 * terminal, JSON lines otherwise and under systemd (JOURNAL_STREAM names stderr), or as
 * --log-format says. In JSON mode the start-up summary (stdout) and warnings are records of
 * the same shape as pino's request log (stderr); in human mode pino's records are turned into
 * lines, their control characters escaped, since request fields come from the network. A
 * failure that stops the command stays the one "Error:" line every ascend command prints.
 */
import { fstatSync } from 'node:fs';
import os from 'node:os';
import { cellText } from './table.js';

export const LOG_FORMATS = ['human', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogFacts {
  /** Whether stderr is a terminal. */
  stderrIsTty: boolean;
  /** $JOURNAL_STREAM: "DEV:INODE" of the stream systemd connected to the journal. */
  journalStream?: string | undefined;
  /** "DEV:INODE" of stderr, to compare with journalStream. */
  stderrDevIno?: string | undefined;
}

/** The format: the flag when given; JSON when stderr is the journal's stream; else human on a terminal and JSON otherwise. */
export function chooseLogFormat(flag: string | undefined, facts: LogFacts): LogFormat {
  if (flag === 'human' || flag === 'json') return flag;
  // systemd sets JOURNAL_STREAM for its service; a program it started that writes elsewhere (a terminal) inherits it, hence the comparison.
  if (facts.journalStream !== undefined && facts.journalStream !== '' && facts.journalStream === facts.stderrDevIno) return 'json';
  return facts.stderrIsTty ? 'human' : 'json';
}

/** The facts of this process's stderr. */
export function processLogFacts(env: NodeJS.ProcessEnv = process.env): LogFacts {
  let stderrDevIno: string | undefined;
  try {
    const st = fstatSync(2);
    stderrDevIno = `${st.dev}:${st.ino}`;
  } catch {
    stderrDevIno = undefined;
  }
  return { stderrIsTty: process.stderr.isTTY === true, journalStream: env.JOURNAL_STREAM, stderrDevIno };
}

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);

function fieldText(key: string, value: unknown): string {
  if (key === 'req' && value !== null && typeof value === 'object') {
    const r = value as { method?: unknown; url?: unknown; remoteAddress?: unknown };
    return `${String(r.method ?? '')} ${String(r.url ?? '')}${r.remoteAddress !== undefined ? ` from ${String(r.remoteAddress)}` : ''}`;
  }
  if (key === 'res' && value !== null && typeof value === 'object') return `status ${String((value as { statusCode?: unknown }).statusCode ?? '?')}`;
  if (key === 'err' && value !== null && typeof value === 'object') {
    const e = value as { type?: unknown; message?: unknown; code?: unknown };
    return `error ${String(e.type ?? 'Error')}${e.code !== undefined ? ` ${String(e.code)}` : ''}: ${String(e.message ?? '')}`;
  }
  if (key === 'responseTime' && typeof value === 'number') return `${value.toFixed(1)} ms`;
  return `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
}

/** One human line for one pino record (a JSON line); a line that is not a record is shown as it came, escaped. */
export function humanLine(record: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record);
  } catch {
    return cellText(record.replace(/\n$/, ''));
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return cellText(record.replace(/\n$/, ''));
  const r = parsed as Record<string, unknown>;
  const time = typeof r.time === 'number' ? new Date(r.time).toISOString() : typeof r.time === 'string' ? r.time : '';
  const level = typeof r.level === 'number' ? (LEVELS[r.level] ?? String(r.level)) : String(r.level ?? '');
  const fields = Object.entries(r)
    .filter(([k, v]) => !OMITTED.has(k) && v !== undefined)
    .map(([k, v]) => fieldText(k, v));
  return [time, level.padEnd(5), typeof r.msg === 'string' ? r.msg : '', ...fields.map((f) => `(${f})`)]
    .filter((p) => p !== '')
    .map((p) => cellText(p))
    .join(' ');
}

/** A pino destination that writes each record as a human line. */
export function humanLogStream(out: NodeJS.WritableStream): { write(record: string): void } {
  return {
    write(record: string): void {
      for (const line of record.split('\n')) if (line.trim() !== '') out.write(`${humanLine(line)}\n`);
    },
  };
}

/** A record of the shape pino writes: level, time, pid, hostname, msg, then the fields. */
export function jsonRecord(level: number, msg: string, fields: Readonly<Record<string, unknown>> = {}, now: number = Date.now()): string {
  const base = { level, time: now, pid: process.pid, hostname: os.hostname() };
  // pino's order (level, time, pid, hostname, fields, msg); a field never replaces one of these.
  const extra = Object.entries(fields).filter(([k]) => !(k in base) && k !== 'msg');
  return `${JSON.stringify({ ...base, ...Object.fromEntries(extra), msg })}\n`;
}

/** Where `server start` writes its summary lines and warnings, in the chosen format. */
export interface ServerOutput {
  format: LogFormat;
  /** The destination for the request log (pino). */
  logStream: NodeJS.WritableStream | { write(record: string): void };
  /** A line of the start-up summary (stdout): text for people, or an info record with fields. */
  say(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  /** A warning (stderr). */
  warn(msg: string): void;
}

export function serverOutput(format: LogFormat, streams: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }, quiet = false): ServerOutput {
  const { stdout, stderr } = streams;
  if (format === 'json') {
    return {
      format,
      logStream: stderr,
      say: (msg, fields = {}) => {
        if (!quiet) stdout.write(jsonRecord(30, msg, fields));
      },
      warn: (msg) => stderr.write(jsonRecord(40, msg)),
    };
  }
  return {
    format,
    logStream: humanLogStream(stderr),
    say: (msg) => {
      if (!quiet) stdout.write(`${msg}\n`);
    },
    warn: (msg) => stderr.write(`Warning: ${msg}\n`),
  };
}
