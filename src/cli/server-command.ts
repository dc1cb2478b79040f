/**
 * What the `ascend server ...` admin commands share: the --server and --token-file flags (the
 * token file defaults to $ASCEND_TOKEN_FILE), --ca-file and --insecure-http (how the collector
 * is trusted: $ASCEND_CA_FILE, ASCEND_INSECURE_HTTP=1), the call to the collector with a next step added
 * to its errors, durations, times for people, and the files that hold secrets (a password
 * file that must be private, a session token file written mode 0600).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsc } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { AscendError, isAscendError } from '../errors.js';
import { CA_FILE_ENV, callServer, type ClientTrustOptions, INSECURE_HTTP_ENV, readTokenFile } from '../collector/server/client.js';
import { durationMs } from './duration.js';
import { readPrivateFile } from '../passcode-keys/key-file.js';

export const TOKEN_FILE_ENV = 'ASCEND_TOKEN_FILE';

/** How the collector is trusted: its CA file, or (development only) plain HTTP. */
export const trustFlags = {
  'ca-file': Flags.string({ description: `PEM file of the collector's certificate authority (DATA/tls/ca.pem on the collector); default: $${CA_FILE_ENV}, else the system's CAs` }),
  'insecure-http': Flags.boolean({ description: `allow an http:// --server: no TLS, development only (or ${INSECURE_HTTP_ENV}=1)`, default: false }),
};

/** --server URL and --token-file F, for every command that calls the collector with an API token. */
export const serverFlags = {
  server: Flags.string({ description: 'collector URL, e.g. https://collector.corp.example', required: true }),
  'token-file': Flags.string({ description: `file holding an API token or a sign-in session; default: $${TOKEN_FILE_ENV}` }),
  ...trustFlags,
};

export interface TrustFlags {
  'ca-file'?: string | undefined;
  'insecure-http'?: boolean | undefined;
}

export interface ServerFlags extends TrustFlags {
  server: string;
  'token-file'?: string | undefined;
}

/** The trust options for callServer from --ca-file and --insecure-http. */
export function trustOptions(flags: TrustFlags): ClientTrustOptions {
  return { caFile: flags['ca-file'], insecureHttp: flags['insecure-http'] };
}

/** The token file named by --token-file, else by $ASCEND_TOKEN_FILE; undefined = neither. */
export function tokenFilePath(flags: Pick<ServerFlags, 'token-file'>): string | undefined {
  if (flags['token-file'] !== undefined) return flags['token-file'];
  const env = process.env[TOKEN_FILE_ENV];
  return env !== undefined && env.trim() !== '' ? env : undefined;
}

/** The API token to send: read from --token-file or $ASCEND_TOKEN_FILE; a usage error when neither is given. */
export function serverToken(flags: Pick<ServerFlags, 'token-file'>): string {
  const file = tokenFilePath(flags);
  if (file === undefined) {
    // The one line `ascend report` has always printed (test/collector/report-cli.test.ts matches it whole).
    throw new AscendError('ASC_USAGE', `an API token is needed: give --token-file FILE or set ${TOKEN_FILE_ENV}`);
  }
  return readTokenFile(file);
}

export interface CallHints {
  /** Next step when the server has no such thing (404). */
  notFound?: string;
  /** Next step when the record was decided or exists already (409). */
  conflict?: string;
  /** Next step when the server refuses the credentials (401); default: sign in again or get a new token. */
  unauthenticated?: string;
  /** Send no Authorization header (sign-in). */
  noAuth?: boolean;
}

/** A next step for the errors every call can meet. */
function hintFor(code: string, hints: CallHints): string | undefined {
  switch (code) {
    case 'ASC_COLLECTOR_UNAUTHENTICATED':
      return hints.unauthenticated ?? 'the token is unknown, revoked or expired: sign in again with "ascend server sign-in" or ask an admin for a new token';
    case 'ASC_COLLECTOR_FORBIDDEN':
      return 'use a token of a role that allows it; "ascend server whoami" shows this one\'s';
    case 'ASC_COLLECTOR_UNREACHABLE':
      return 'check --server and that the collector runs ("ascend server start")';
    case 'ASC_COLLECTOR_RATE_LIMITED':
      return 'wait a little and try again';
    case 'ASC_COLLECTOR_NOT_FOUND':
      return hints.notFound;
    case 'ASC_COLLECTOR_CONFLICT':
      return hints.conflict;
    default:
      return undefined;
  }
}

/** callServer with the token of --token-file (or none: `noAuth`) and a next step on the errors. */
export async function callApi<T>(
  flags: ServerFlags,
  method: 'GET' | 'POST' | 'DELETE',
  apiPath: string,
  body?: unknown,
  hints: CallHints = {},
): Promise<T> {
  const token = hints.noAuth === true ? undefined : serverToken(flags);
  try {
    return await callServer<T>(flags.server, token, method, apiPath, body, trustOptions(flags));
  } catch (e) {
    if (isAscendError(e) && e.hint === undefined) {
      const hint = hintFor(e.code, hints);
      if (hint !== undefined) throw new AscendError(e.code, e.message, { hint, cause: e });
    }
    throw e;
  }
}

/** A path segment: ids and user names (CORP\alice) are sent URL-encoded. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

/** "3600s", "30m", "2h", "1d" (or bare seconds) as seconds; a usage error names the flag. */
export function parseSeconds(text: string, flag: string, max = 30 * 86400): number {
  const t = text.trim();
  const seconds = /^\d{1,9}$/.test(t) ? Number(t) : (durationMs(t) ?? NaN) / 1000;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > max) {
    throw new AscendError('ASC_USAGE', `${flag} must be a duration from 1s to ${durationShort(max * 1000)} such as 30m, 2h or 3600s: ${text}`);
  }
  return seconds;
}

/** "2d4h", "3h55m", "5m", "40s": the two largest units. */
export function durationShort(ms: number): string {
  let s = Math.max(0, Math.round(ms / 1000));
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(s / size);
    if (n > 0 || (unit === 's' && parts.length === 0)) parts.push(`${n}${unit}`);
    s -= n * size;
  }
  return parts.slice(0, 2).join('');
}

/** An ISO time for people (to the second, UTC); null → "-". */
export function when(isoTime: string | null | undefined): string {
  if (isoTime === null || isoTime === undefined) return '-';
  return isoTime.replace(/\.\d{3}Z$/, 'Z');
}

/** "5m ago" / "in 3h55m" from an ISO time. */
export function relative(isoTime: string, now = Date.now()): string {
  const t = Date.parse(isoTime);
  if (!Number.isFinite(t)) return isoTime;
  return t <= now ? `${durationShort(now - t)} ago` : `in ${durationShort(t - now)}`;
}

export { safe } from './client/output.js';

/** True where POSIX mode bits mean something (not on Windows, where ACLs decide). */
function modeBitsApply(): boolean {
  return process.platform !== 'win32';
}

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

/**
 * Reads a file holding a secret (a password), refusing one its group or others can read or
 * write, as private key files are refused (src/passcode-keys/key-file.ts): checked on the open
 * file, so a swap between check and read does not pass. One trailing line break is dropped.
 */
export async function readPrivateSecretFile(file: string, what: string): Promise<string> {
  const text = await readPrivateFile(file, {
    what,
    maxBytes: 64 * 1024,
    tooLarge: 'ASC_FILE_UNREADABLE',
    insecure: (mode) =>
      new AscendError('ASC_KEY_FILE_INSECURE', `${file}: the ${what} has mode ${mode}, open to group or others`, { hint: `run chmod 600 ${file}` }),
  });
  return text.replace(/\r?\n$/, '');
}

/**
 * Writes a secret that is renewed (a sign-in session token): mode 0600, through a new
 * temporary file renamed over the target, so nobody sees it half written or with a wider
 * mode. An existing regular file of this user is replaced; a symbolic link, anything that
 * is not a regular file, or a file of another user is refused.
 */
export async function writeRenewableSecretFile(file: string, text: string, what: string): Promise<string> {
  const abs = path.resolve(file);
  const folder = path.dirname(abs);
  const parent = await fs.stat(folder).catch(() => undefined);
  if (!parent?.isDirectory()) throw new AscendError('ASC_FILE_NOT_FOUND', `${file}: folder ${path.dirname(file)} does not exist`);
  const checkTarget = async (): Promise<void> => {
    const st = await fs.lstat(abs).catch((e: unknown) => {
      if (errno(e) === 'ENOENT') return undefined;
      throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot look at it (${errno(e)})`);
    });
    if (st === undefined) return;
    if (st.isSymbolicLink()) throw new AscendError('ASC_FILE_UNREADABLE', `${file}: is a symbolic link; a ${what} is not written through one`, { hint: 'give the real path' });
    if (!st.isFile()) throw new AscendError('ASC_FILE_UNREADABLE', `${file}: exists and is not a regular file`, { hint: 'give another --out path' });
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) throw new AscendError('ASC_FILE_UNREADABLE', `${file}: belongs to another user; not replaced`, { hint: 'give another --out path' });
  };
  await checkTarget();
  const temp = path.join(folder, `.${path.basename(abs)}.ascend-${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(temp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0), 0o600);
    // The umask may have taken bits away, never added any; set 600 exactly all the same.
    if (modeBitsApply()) await handle.chmod(0o600);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    // Again just before the rename: rename(2) replaces a link rather than following it, but refuse one all the same.
    await checkTarget();
    await fs.rename(temp, abs);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    if (isAscendError(e)) throw e;
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot write (${errno(e)})`);
  }
  return abs;
}
