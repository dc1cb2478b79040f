/**
 * A real rsyslog (Debian's rsyslogd) as a child process with its own configuration: imtcp on a
 * loopback port (octet-counted framing is on by default; its default 8 KiB maxMessageSize), every message written to one file
 * as "MSGID<TAB>HOSTNAME<TAB>MSG" per line. Stop and start it again on the same port to play
 * a receiver that goes down and comes back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandWorks, requireComponent } from './components.js';

export const RSYSLOGD = '/usr/sbin/rsyslogd';

export function rsyslogAvailable(): boolean {
  return existsSync(RSYSLOGD) && commandWorks(RSYSLOGD, ['-v']);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export async function pollUntil<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface SyslogLine {
  msgid: string;
  hostname: string;
  msg: string;
}

export interface TestRsyslogTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

const GTLS_MODULE = '/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so';

export class TestRsyslog {
  readonly dir = mkdtempSync(join(tmpdir(), 'h18b-rsyslog-'));
  readonly out = join(this.dir, 'out.log');
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly tls?: TestRsyslogTls,
  ) {}

  /** With `tls`, imtcp speaks TLS (gtls driver, rsyslog-gnutls) with this certificate and key. */
  static async create(ctx: Mocha.Context, tls?: TestRsyslogTls): Promise<TestRsyslog> {
    requireComponent(ctx, rsyslogAvailable(), 'rsyslog (Debian rsyslog)', 'scripts/install-system-deps.sh');
    if (tls !== undefined) requireComponent(ctx, existsSync(GTLS_MODULE), 'rsyslog TLS (Debian rsyslog-gnutls)', 'scripts/install-system-deps.sh');
    const r = new TestRsyslog(await freePort(), tls);
    await r.start();
    return r;
  }

  async start(): Promise<void> {
    const conf = join(this.dir, 'rsyslog.conf');
    const tls = this.tls;
    writeFileSync(
      conf,
      [
        `global(workDirectory="${this.dir}"${tls === undefined ? '' : ` defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="${tls.caFile}" defaultNetstreamDriverCertFile="${tls.certFile}" defaultNetstreamDriverKeyFile="${tls.keyFile}"`})`,
        tls === undefined ? 'module(load="imtcp")' : 'module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")',
        `input(type="imtcp" address="127.0.0.1" port="${this.port}")`,
        'template(name="fields" type="string" string="%msgid%\\t%hostname%\\t%msg%\\n")',
        `*.* action(type="omfile" file="${this.out}" template="fields")`,
        '',
      ].join('\n'),
    );
    const pidfile = join(this.dir, 'rsyslogd.pid');
    rmSync(pidfile, { force: true });
    const child = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', pidfile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    this.child = child;
    // Ready when the port takes a connection.
    await pollUntil(`rsyslogd on port ${this.port} (${stderr})`, async () => {
      if (child.exitCode !== null) throw new Error(`rsyslogd exited ${child.exitCode}: ${stderr}`);
      return (await canConnect(this.port)) ? true : undefined;
    });
  }

  /** SIGTERM, and wait for the process to be gone (it writes out what it received). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }

  lines(): SyslogLine[] {
    if (!existsSync(this.out)) return [];
    return readFileSync(this.out, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [msgid = '', hostname = '', ...rest] = l.split('\t');
        return { msgid, hostname, msg: rest.join('\t') };
      });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A strict CEF reader for the tests: the 7 header columns (with `\|` and `\\` escapes) and the
 * extension as key=value pairs (a key is [A-Za-z0-9_]+ after a space; `\=`, `\\`, `\n`, `\r`).
 */
export function parseCef(line: string): { header: string[]; ext: Record<string, string> } {
  const header: string[] = [];
  let i = 0;
  let cur = '';
  while (header.length < 7) {
    if (i >= line.length) throw new Error(`CEF header ends early: ${line}`);
    const c = line[i] as string;
    if (c === '\\' && (line[i + 1] === '|' || line[i + 1] === '\\')) {
      cur += line[i + 1];
      i += 2;
    } else if (c === '|') {
      header.push(cur);
      cur = '';
      i++;
    } else {
      cur += c;
      i++;
    }
  }
  const rest = line.slice(i);
  const ext: Record<string, string> = {};
  // Split at unescaped "=": each key is the last word before it.
  const parts: { key: string; start: number }[] = [];
  const keyRe = /(?:^| )([A-Za-z0-9_]+)=/g;
  for (let m = keyRe.exec(rest); m !== null; m = keyRe.exec(rest)) {
    // An escaped "=" (preceded by an odd run of backslashes) is not a key.
    let bs = 0;
    for (let j = m.index + m[0].length - 2; j >= 0 && rest[j] === '\\'; j--) bs++;
    if (bs % 2 === 1) continue;
    parts.push({ key: m[1] as string, start: m.index + m[0].length });
  }
  parts.forEach((p, n) => {
    const next = parts[n + 1];
    const end = next === undefined ? rest.length : next.start - next.key.length - 2;
    const raw = rest.slice(p.start, end);
    if (Object.hasOwn(ext, p.key)) throw new Error(`CEF key ${p.key} twice: ${line}`);
    ext[p.key] = raw.replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch));
  });
  return { header, ext };
}
