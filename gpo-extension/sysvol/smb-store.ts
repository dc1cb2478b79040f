/**
 * SYSVOL over SMB for Linux admin hosts, through Debian's smbclient (package smbclient).
 *
 * - SMB2/SMB3 only, signing required (--client-protection=sign plus "client signing =
 *   required"), as a DC's SYSVOL demands.
 * - The password reaches smbclient only through its PASSWD environment variable: never on
 *   the command line (which `ps` shows to every user) and never in a message.
 * - Commands go to smbclient's standard input, one per line, each argument in double quotes;
 *   that mode does not split on ";" the way -c does, and checkSegment keeps quotes and
 *   line breaks out of names.
 * - smbclient reports failures as NT_STATUS_* text (and its exit code only for connection
 *   failures), so every operation reads the output and maps it: missing names to
 *   undefined/false where the contract says so, logon failures to ASC_SYSVOL_AUTH,
 *   anything else to ASC_SYSVOL_IO with smbclient's text.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AscendError } from '../../src/errors.js';
import { checkPath, tempName, type SysvolStore } from './store.js';

export interface SmbSysvolOptions {
  /** Server name or IPv4 address. */
  host: string;
  /** Share name, normally "sysvol". */
  share: string;
  /** Account name: "Administrator", "CORP\\admin" or "admin@corp.example.test". */
  user: string;
  /** NetBIOS domain of the account, when `user` does not carry one. */
  domain?: string;
  password: string;
  /** TCP port; smbclient's default (445) when absent. */
  port?: number;
  /** How long one smbclient run may take before it is ended; default 60 s. */
  timeoutMs?: number;
  /** The smbclient executable; default "smbclient" from PATH. */
  smbclient?: string;
}

/** Exactly what is handed to spawn: the argv (no secrets), the environment (PASSWD), the commands on stdin. */
export interface SmbclientInvocation {
  command: string;
  args: string[];
  env: Record<string, string>;
  input: string;
}

/** Environment variables through which smbclient would pick up other credentials. */
const CREDENTIAL_ENV = ['USER', 'LOGNAME', 'PASSWD', 'PASSWD_FD', 'PASSWD_FILE', 'KRB5CCNAME'];

const AUTH_STATUSES = new Set([
  'NT_STATUS_LOGON_FAILURE',
  'NT_STATUS_WRONG_PASSWORD',
  'NT_STATUS_NO_SUCH_USER',
  'NT_STATUS_ACCOUNT_DISABLED',
  'NT_STATUS_ACCOUNT_LOCKED_OUT',
  'NT_STATUS_ACCOUNT_EXPIRED',
  'NT_STATUS_ACCOUNT_RESTRICTION',
  'NT_STATUS_PASSWORD_EXPIRED',
  'NT_STATUS_PASSWORD_MUST_CHANGE',
  'NT_STATUS_INVALID_LOGON_HOURS',
  'NT_STATUS_INVALID_WORKSTATION',
]);

/** What smbclient says when a name, or a folder on the way to it, is not there. */
const MISSING_STATUSES = new Set([
  'NT_STATUS_OBJECT_NAME_NOT_FOUND',
  'NT_STATUS_OBJECT_PATH_NOT_FOUND',
  'NT_STATUS_NO_SUCH_FILE',
  'NT_STATUS_NOT_FOUND',
]);

const SHARING_VIOLATION = 'NT_STATUS_SHARING_VIOLATION';
/** Retries, with pause(), of an open or rename that met another client's open handle: about 3 s in all. */
const SHARING_RETRIES = 10;

function pause(attempt: number): Promise<void> {
  const ms = Math.min(400, 25 * 2 ** attempt) * (0.5 + Math.random() / 2);
  return new Promise((r) => setTimeout(r, ms));
}

/** Lines smbclient prints when it could not connect; nothing after them ran. */
const CONNECT_FAILURE = /session setup failed|tree connect failed|do_connect:|protocol negotiation failed|Connection to .* failed|failed to connect/i;

/** One entry of smbclient's `ls`: "  NAME<pad>ATTRS SIZE  Www Mmm dd hh:mm:ss yyyy". */
const LS_ENTRY = /^ {2}(.+?)\s*([A-Z]{1,7})\s+(\d+)\s{2}\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;

function configError(message: string): AscendError {
  return new AscendError('ASC_CONFIG', message);
}

function validate(opts: SmbSysvolOptions): void {
  if (opts === null || typeof opts !== 'object') throw configError('SMB SYSVOL options are missing');
  const { host, share, user, domain, password, port } = opts;
  if (typeof host !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(host)) {
    throw configError(`SMB host ${JSON.stringify(String(host))} is not a host name or IPv4 address`);
  }
  // eslint-disable-next-line no-control-regex
  if (typeof share !== 'string' || share === '' || /[\u0000-\u001f/\\:*?"<>|%]/.test(share)) {
    throw configError(`SMB share ${JSON.stringify(String(share))} is not a share name`);
  }
  // smbclient reads "user%password" from -U, so a "%" in the name would be taken as a password.
  // eslint-disable-next-line no-control-regex
  if (typeof user !== 'string' || user === '' || /[\u0000-\u001f%]/.test(user)) {
    throw configError('the SMB user name is empty or holds "%" or control characters');
  }
  // eslint-disable-next-line no-control-regex
  if (domain !== undefined && (typeof domain !== 'string' || domain === '' || /[\u0000-\u001f%/\\@]/.test(domain))) {
    throw configError('the SMB domain is empty or holds "%", "/", "\\", "@" or control characters');
  }
  if (typeof password !== 'string' || password === '') throw configError('the SMB password is empty');
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw configError(`SMB port ${String(port)} is not a TCP port`);
  }
}

/** An smbclient command argument in double quotes (names never hold quotes: checkSegment). */
function q(s: string): string {
  if (/["\r\n]/.test(s)) throw new AscendError('ASC_SYSVOL_UNSAFE_PATH', `cannot pass ${JSON.stringify(s)} to smbclient`);
  return `"${s}"`;
}

/**
 * The argv, environment and standard input for one smbclient run. Exported so tests can
 * check that the password is in the environment only.
 */
export function buildSmbclientInvocation(opts: SmbSysvolOptions, commands: readonly string[]): SmbclientInvocation {
  validate(opts);
  const user = opts.domain !== undefined ? `${opts.domain}/${opts.user}` : opts.user;
  const args = [
    `//${opts.host}/${opts.share}`,
    `--user=${user}`,
    '--client-protection=sign',
    '--option=client signing = required',
    '--option=client min protocol = SMB2_02',
    '--max-protocol=SMB3',
    '--timeout=30',
  ];
  if (opts.port !== undefined) args.push(`--port=${opts.port}`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !CREDENTIAL_ENV.includes(k)) env[k] = v;
  }
  env.PASSWD = opts.password;
  return { command: opts.smbclient ?? 'smbclient', args, env, input: commands.map((c) => `${c}\n`).join('') };
}

interface RunResult {
  lines: string[];
  exitCode: number | null;
}

interface StatusLine {
  status: string;
  line: string;
}

export class SmbSysvolStore implements SysvolStore {
  readonly description: string;
  private readonly opts: SmbSysvolOptions;

  constructor(opts: SmbSysvolOptions) {
    validate(opts);
    this.opts = { ...opts };
    this.description = `smb://${opts.host}${opts.port !== undefined ? `:${opts.port}` : ''}/${opts.share}`;
  }

  private where(segs: readonly string[]): string {
    return segs.length === 0 ? this.description : `${this.description}/${segs.join('/')}`;
  }

  /** Removes the password from text headed for a message (smbclient never prints it; this is a second lock). */
  private scrub(text: string): string {
    const pw = this.opts.password;
    return pw.length >= 4 ? text.split(pw).join('***') : text;
  }

  private async run(commands: readonly string[]): Promise<RunResult> {
    const inv = buildSmbclientInvocation(this.opts, commands);
    const timeoutMs = this.opts.timeoutMs ?? 60_000;
    return new Promise<RunResult>((resolvePromise, reject) => {
      let out = '';
      let err = '';
      let settled = false;
      const child = spawn(inv.command, inv.args, { env: inv.env, stdio: ['pipe', 'pipe', 'pipe'] });
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        child.kill('SIGKILL');
        reject(new AscendError('ASC_SYSVOL_IO', `SMB ${this.description}: smbclient did not finish within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (d: string) => (out += d));
      child.stderr.on('data', (d: string) => (err += d));
      child.stdin.on('error', () => undefined); // smbclient exits without reading when it cannot connect
      child.on('error', (e: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const msg = e.code === 'ENOENT' ? `${inv.command} is not installed (Debian package smbclient)` : `cannot run ${inv.command}: ${e.message}`;
        reject(new AscendError('ASC_SYSVOL_IO', `SMB ${this.description}: ${msg}`));
      });
      child.on('close', (code) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // Lines of each stream stay whole; which stream came first does not matter to the parsing.
        resolvePromise({ lines: [...out.split(/\r?\n/), ...err.split(/\r?\n/)], exitCode: code });
      });
      child.stdin.end(inv.input);
    });
  }

  private statuses(r: RunResult): StatusLine[] {
    const found: StatusLine[] = [];
    for (const line of r.lines) {
      const m = /NT_STATUS_[A-Z0-9_]+/.exec(line);
      if (m) found.push({ status: m[0], line: line.trim() });
    }
    return found;
  }

  /** Throws when smbclient could not connect (address, logon, share); such runs did nothing. */
  private checkConnected(r: RunResult, what: string): void {
    const failure = r.lines.find((l) => CONNECT_FAILURE.test(l));
    if (failure === undefined) {
      // Reading commands from stdin, smbclient exits 0 even when a command fails; those
      // failures are the NT_STATUS lines each operation reads. Another exit is fatal.
      if (r.exitCode === 0 || r.lines.some((l) => /NT_STATUS_/.test(l))) return;
    }
    const line = (failure ?? r.lines.filter((l) => l.trim() !== '').pop() ?? `smbclient exited with ${String(r.exitCode)}`).trim();
    const status = /NT_STATUS_[A-Z0-9_]+/.exec(line)?.[0];
    if (status !== undefined && AUTH_STATUSES.has(status)) {
      throw new AscendError('ASC_SYSVOL_AUTH', `${what} ${this.description}: the server refused the user name or password (${status})`, {
        hint: 'Check the SMB user, domain and password.',
      });
    }
    throw new AscendError('ASC_SYSVOL_IO', `${what} ${this.description}: ${this.scrub(line)}`);
  }

  private ioError(what: string, segs: readonly string[], detail: string): AscendError {
    return new AscendError('ASC_SYSVOL_IO', `${what} ${this.where(segs)} failed: ${this.scrub(detail)}`);
  }

  private async withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'ascend-smb-'));
    try {
      return await fn(dir);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  async read(path: readonly string[]): Promise<Uint8Array | undefined> {
    const segs = checkPath(path, 1);
    return this.withTempDir(async (dir) => {
      let r: RunResult;
      let first: StatusLine | undefined;
      // A file being renamed over (another writer) is briefly locked: retry a sharing violation.
      for (let attempt = 0; ; attempt++) {
        r = await this.run([`lcd ${q(dir)}`, `get ${q(segs.join('/'))} "data"`]);
        this.checkConnected(r, 'reading');
        first = this.statuses(r)[0];
        if (first?.status !== SHARING_VIOLATION || attempt >= SHARING_RETRIES) break;
        await pause(attempt);
      }
      if (first !== undefined) {
        if (MISSING_STATUSES.has(first.status)) return undefined;
        throw this.ioError('reading', segs, first.line);
      }
      try {
        const buf = await fsp.readFile(join(dir, 'data'));
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch {
        const said = r.lines.filter((l) => /error|fail/i.test(l)).join('; ');
        throw this.ioError('reading', segs, said || 'smbclient saved no file');
      }
    });
  }

  async write(path: readonly string[], data: Uint8Array): Promise<void> {
    const segs = checkPath(path, 1);
    const name = segs[segs.length - 1] as string;
    const remote = segs.join('/');
    const remoteTemp = [...segs.slice(0, -1), tempName(name, randomBytes(6).toString('hex'))].join('/');
    await this.withTempDir(async (dir) => {
      await fsp.writeFile(join(dir, 'data'), data, { mode: 0o600 });
      const rename = `rename ${q(remoteTemp)} ${q(remote)} -f`;
      const r = await this.run([`lcd ${q(dir)}`, `put "data" ${q(remoteTemp)}`, rename]);
      this.checkConnected(r, 'writing');
      let st = this.statuses(r);
      const localFailure = r.lines.find((l) => /^Error |does not exist$/.test(l.trim()));
      // The temporary file is complete; only the rename met a reader holding the target open.
      for (let attempt = 0; localFailure === undefined && st.length === 1 && st[0]?.status === SHARING_VIOLATION && /renaming files/.test(st[0].line) && attempt < SHARING_RETRIES; attempt++) {
        await pause(attempt);
        const again = await this.run([rename]);
        this.checkConnected(again, 'writing');
        st = this.statuses(again);
      }
      if (st.length === 0 && localFailure === undefined) return;
      // Leave nothing behind: the temporary file may exist when only the rename failed.
      await this.run([`del ${q(remoteTemp)}`]).catch(() => undefined);
      const first = st[0];
      const detail = first !== undefined ? first.line : (localFailure as string).trim();
      throw this.ioError('writing', segs, first !== undefined && first.status === 'NT_STATUS_OBJECT_PATH_NOT_FOUND' ? `the folder does not exist (${detail})` : detail);
    });
  }

  async mkdir(path: readonly string[]): Promise<void> {
    const segs = checkPath(path);
    const commands: string[] = [];
    for (let i = 1; i <= segs.length; i++) commands.push(`mkdir ${q(segs.slice(0, i).join('/'))}`);
    // cd checks that the result is a folder (mkdir of a name a file holds only says "collision").
    commands.push(segs.length === 0 ? 'cd "/"' : `cd ${q(segs.join('/'))}`);
    const r = await this.run(commands);
    this.checkConnected(r, 'creating a folder in');
    const bad = this.statuses(r).find((s) => !(s.status === 'NT_STATUS_OBJECT_NAME_COLLISION' && /making remote directory/.test(s.line)));
    if (bad !== undefined) {
      const detail = bad.status === 'NT_STATUS_NOT_A_DIRECTORY' ? `a file is in the way (${bad.line})` : bad.line;
      throw this.ioError('creating the folder', segs, detail);
    }
  }

  async exists(path: readonly string[]): Promise<boolean> {
    const segs = checkPath(path);
    if (segs.length === 0) {
      const r = await this.run(['cd "/"']);
      this.checkConnected(r, 'looking up');
      return true;
    }
    const r = await this.run([`ls ${q(segs.join('/'))}`]);
    this.checkConnected(r, 'looking up');
    const first = this.statuses(r)[0];
    if (first !== undefined) {
      if (MISSING_STATUSES.has(first.status) || first.status === 'NT_STATUS_NOT_A_DIRECTORY') return false;
      throw this.ioError('looking up', segs, first.line);
    }
    return r.lines.some((l) => LS_ENTRY.test(l));
  }

  async removeTree(path: readonly string[]): Promise<void> {
    const segs = checkPath(path, 1);
    const remote = q(segs.join('/'));
    // deltree removes a file or a folder with its contents; the ls after it must find nothing.
    const r = await this.run([`deltree ${remote}`, `ls ${remote}`]);
    this.checkConnected(r, 'removing');
    const bad = this.statuses(r).find((s) => !MISSING_STATUSES.has(s.status) && s.status !== 'NT_STATUS_NOT_A_DIRECTORY');
    if (bad !== undefined) throw this.ioError('removing', segs, bad.line);
    if (r.lines.some((l) => LS_ENTRY.test(l))) throw this.ioError('removing', segs, 'it is still there after deltree');
  }

  async list(path: readonly string[]): Promise<string[]> {
    const segs = checkPath(path);
    const mask = segs.length === 0 ? '*' : `${segs.join('/')}/*`;
    const r = await this.run([`ls ${q(mask)}`]);
    this.checkConnected(r, 'listing');
    const first = this.statuses(r)[0];
    if (first !== undefined) {
      if (MISSING_STATUSES.has(first.status)) throw this.ioError('listing', segs, `it does not exist (${first.line})`);
      if (first.status === 'NT_STATUS_NOT_A_DIRECTORY') throw this.ioError('listing', segs, `it is not a folder (${first.line})`);
      throw this.ioError('listing', segs, first.line);
    }
    const names: string[] = [];
    for (const line of r.lines) {
      const m = LS_ENTRY.exec(line);
      const n = m?.[1];
      if (n !== undefined && n !== '.' && n !== '..') names.push(n);
    }
    return names.sort();
  }
}
