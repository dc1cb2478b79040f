/**
 * Review R1 of issue 12 (an unprivileged user next to the agent): holes found in the
 * "trust the program" check after the helpers' changes, each with the test that showed it.
 *
 * - The agent opened whatever path a user asked to elevate, as root, before it checked that
 *   it is a regular file: a terminal (which a session-leader agent then takes as its
 *   controlling terminal, so the user's hang-up signals the agent), a device whose open has
 *   an effect (a watchdog, a tape).
 * - A script's interpreter (`#!`) runs elevated, yet only the script was judged: a root-owned
 *   script whose interpreter a user can change was elevated by a rule.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { inspectProgram } from '../../agent/daemon/program.js';
import { ipcCall } from '../../agent/ipc/index.js';
import { IpcServer } from '../../agent/ipc/server.js';
import { fitEvent } from '../../agent/spool/fit.js';
import { Spool } from '../../agent/spool/spool.js';
import { collectorSender, Uploader } from '../../agent/spool/uploader.js';
import { buildServer } from '../../src/collector/server/index.js';
import { PostgresStore } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';
import { commandWorks, requireComponent } from '../support/components.js';

const root = path.resolve(import.meta.dirname, '..', '..');
/** A uid no account has: the owner of what "a user" could change. */
const USER_UID = 48_213;

describe('review R1: the program is checked before the agent opens it', () => {
  let tmp: string;
  before(function () {
    requireComponent(this, process.platform === 'linux', 'Linux (terminals under /dev/pts)', 'run the tests on Linux');
    requireComponent(this, commandWorks('python3', ['--version']), 'python3 (to make a pseudo-terminal)', 'apt-get install python3');
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-r1-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('never opens a terminal a user names as the program: an agent that leads its session does not take it as its controlling terminal', function () {
    this.timeout(60_000);
    // The agent's side, as a session leader without a terminal (a daemon): inspectProgram on the
    // user's terminal, then which terminal the process has (field 7 of /proc/self/stat).
    const child = path.join(tmp, 'inspect.mts');
    writeFileSync(
      child,
      `import { readFileSync } from 'node:fs';
import { inspectProgram } from ${JSON.stringify(pathToFileURL(path.join(root, 'agent', 'daemon', 'program.ts')).href)};
let error = '';
try {
  const p = await inspectProgram(process.argv[2], { hash: false, trustedOwners: new Set() });
  await p.handle.close();
} catch (e) { error = e.message; }
const stat = readFileSync('/proc/self/stat', 'utf8');
const tty = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[4]);
console.log(JSON.stringify({ error, tty }));
`,
    );
    // The user's side: a fresh pseudo-terminal that is nobody's controlling terminal yet.
    const py = `
import os, subprocess, sys
m, s = os.openpty()
name = os.ttyname(s)
r = subprocess.run([sys.argv[1], '--import', 'tsx', sys.argv[2], name], cwd=sys.argv[3], start_new_session=True, stdin=subprocess.DEVNULL, capture_output=True, text=True)
sys.stdout.write(r.stdout)
sys.stderr.write(r.stderr)
sys.exit(r.returncode)
`;
    const r = spawnSync('python3', ['-c', py, process.execPath, child, root], { encoding: 'utf8', timeout: 50_000 });
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { error: string; tty: number };
    expect(out.error).to.match(/is not a regular file/);
    expect(out.tty, 'the terminal became the controlling terminal of the process that checked it').to.equal(0);
  });
});

describe('review R1: a script is trusted only with an interpreter nobody else can change', () => {
  let tree: string;
  const file = (rel: string, text: string, mode = 0o755, uid = 0): string => {
    const p = path.join(tree, rel);
    writeFileSync(p, text);
    chmodSync(p, mode);
    chownSync(p, uid, 0);
    return p;
  };
  const verdict = async (p: string) => {
    const info = await inspectProgram(p, { hash: false, trustedOwners: new Set() });
    await info.handle.close();
    return info.trust;
  };

  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the tests chown files)', 'run the tests as root');
    // A root-owned 0755 tree outside /tmp (the walk goes up to /, and /tmp is writable by all).
    tree = mkdtempSync('/var/lib/ascend-test-r1-');
    chmodSync(tree, 0o755);
    mkdirSync(path.join(tree, 'ok'), { mode: 0o755 });
    mkdirSync(path.join(tree, 'user'), { mode: 0o755 });
    chownSync(path.join(tree, 'user'), USER_UID, USER_UID);
    file('user/interp', '#!/bin/sh\nexec /bin/sh "$@"\n', 0o755, USER_UID);
    file('ok/wrapper', `#!${path.join(tree, 'user', 'interp')}\n`);
  });
  after(() => {
    if (tree) rmSync(tree, { recursive: true, force: true });
  });

  it('trusts a root-owned script run by a root-owned interpreter (#!/bin/sh, #!/usr/bin/env sh)', async () => {
    expect(await verdict(file('ok/plain', '#!/bin/sh\necho hi\n'))).to.deep.equal({ trusted: true });
    expect(await verdict(file('ok/env', '#! /usr/bin/env sh\necho hi\n'))).to.deep.equal({ trusted: true });
    expect(await verdict(file('ok/binary-like', 'not a script\n'))).to.deep.equal({ trusted: true });
  });

  it('refuses a root-owned script whose interpreter a user owns, naming the interpreter and its owner', async () => {
    const t = await verdict(file('ok/tool', `#!${path.join(tree, 'user', 'interp')} -e\necho hi\n`));
    expect(t.trusted).to.equal(false);
    expect((t as { reason: string }).reason).to.include(`interpreter ${path.join(tree, 'user', 'interp')}`).and.to.include(`uid ${USER_UID}`);
  });

  it('follows an interpreter that is itself a script (the kernel does, a few levels deep)', async () => {
    const t = await verdict(file('ok/nested', `#!${path.join(tree, 'ok', 'wrapper')}\n`));
    expect(t.trusted).to.equal(false);
    expect((t as { reason: string }).reason).to.include(path.join(tree, 'user'));
  });

  it('refuses a relative interpreter (the kernel finds it from the working folder, which the user chooses)', async () => {
    const t = await verdict(file('ok/relative', '#!interp\n'));
    expect(t.trusted).to.equal(false);
    expect((t as { reason: string }).reason).to.match(/relative/);
  });

  it('refuses a root-owned program reached through a hard link in a folder a user owns (the user could swap the link)', async () => {
    const target = file('ok/linked-tool', '#!/bin/sh\necho hi\n');
    const link = path.join(tree, 'user', 'linked-tool');
    spawnSync('ln', [target, link]);
    const t = await verdict(link);
    expect(t.trusted).to.equal(false);
    expect((t as { reason: string }).reason).to.include(`${path.join(tree, 'user')} is owned by uid ${USER_UID}`);
  });

  it('checks an ELF binary\'s dynamic loader (PT_INTERP) the same way: the system one passes, one a user owns is refused', async function () {
    requireComponent(this, commandWorks('cc', ['--version']), 'a C compiler (to link a binary with another loader)', 'apt-get install gcc');
    expect(await verdict('/usr/bin/true')).to.deep.equal({ trusted: true });
    const loader = path.join(tree, 'user', 'ld.so');
    const system = spawnSync('cc', ['-print-file-name=ld-linux-x86-64.so.2'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(loader, readFileSync(system.startsWith('/') ? system : '/lib64/ld-linux-x86-64.so.2'));
    chmodSync(loader, 0o755);
    chownSync(loader, USER_UID, USER_UID);
    const src = path.join(tree, 'ok', 'main.c');
    writeFileSync(src, 'int main(void) { return 0; }\n');
    const bin = path.join(tree, 'ok', 'odd-loader');
    const cc = spawnSync('cc', ['-o', bin, src, `-Wl,--dynamic-linker=${loader}`], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).to.equal(0);
    const t = await verdict(bin);
    expect(t.trusted).to.equal(false);
    expect((t as { reason: string }).reason).to.include(`interpreter ${loader}`).and.to.include(`uid ${USER_UID}`);
  });

  it('refuses an interpreter line the agent cannot read to its end', async () => {
    const t = await verdict(file('ok/long', `#!/${'x'.repeat(400)}\n`));
    expect(t.trusted).to.equal(false);
  });
});

describe('review R1: an event a user wrote a NUL or a lone surrogate into does not stop the upload (PostgreSQL collector)', () => {
  let dir: string;
  let app: FastifyInstance | undefined;
  let spool: Spool | undefined;

  after(async () => {
    await spool?.close();
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the collector stores the denial (cleaned) and the elevation spooled after it; nothing waits behind them', async function () {
    this.timeout(120_000);
    const pg = await getTestPostgres(this);
    const store = await PostgresStore.open(await pg.createDatabase('r1nul'));
    app = buildServer({ store, rateLimit: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as { port: number };
    const enrolled = await store.enrollAgent((await store.createEnrollmentToken({ uses: 1 })).token, 'R1-PC');
    dir = mkdtempSync(path.join(tmpdir(), 'ascend-r1-spool-'));
    spool = await Spool.open(dir);
    // What AuditTrail spools: fitted events. The denial's args came from a user's raw frame.
    const time = new Date().toISOString();
    const denial = fitEvent({ id: 'r1-denied', type: 'elevation-denied', time, computer: 'R1-PC', user: 'r1user', processPath: '/usr/bin/true', args: 'a\u0000b \ud800 c', justification: 'x\u0000', message: 'denied', data: { note: 'n\u0000\udc00' } });
    const elevated = fitEvent({ id: 'r1-elevated', type: 'process-elevated', time, computer: 'R1-PC', user: 'r1other', processPath: '/usr/bin/id', args: '', pid: 42 });
    await spool.append([denial, elevated]);
    const uploader = new Uploader(spool, collectorSender(`http://127.0.0.1:${address.port}`, enrolled.credential, { kind: 'insecure' }));
    const outcome = await uploader.sendOnce();
    expect(outcome, String(uploader.status.lastError)).to.be.oneOf(['sent', 'rejected']);
    const stored = await store.listEvents(enrolled.agent.id);
    const ids = stored.map((e) => (e as { id?: string; eventId?: string }).eventId ?? (e as { id: string }).id);
    expect(ids).to.include('r1-elevated');
    expect(ids).to.include('r1-denied');
  });
});

describe('review R1: fitEvent makes every string storable', () => {
  it('replaces NUL and lone surrogates in fields, nested data and keys; keeps pairs, and a second fit changes nothing', () => {
    const e = fitEvent({ id: 'x', type: 'elevation-denied', time: 't', args: 'a\u0000\ud83d\ude00\ud800', data: { ['k\u0000']: ['\udc00'] } });
    expect(e.args).to.equal('a\ufffd\ud83d\ude00\ufffd');
    expect(e.data).to.deep.equal({ 'k\ufffd': ['\ufffd'] });
    expect(fitEvent(e)).to.deep.equal(e);
  });
});

describe('review R1: one user flooding the agent socket with refused connections cannot shut root out', () => {
  let dir: string;
  let server: IpcServer | undefined;
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('past a few refused connections of one uid left open after their answer, the oldest are closed; root is still served', async function () {
    this.timeout(60_000);
    requireComponent(this, process.getuid?.() === 0, 'root (the flooding client runs as another uid)', 'run the tests as root');
    dir = mkdtempSync(path.join(tmpdir(), 'ascend-r1-ipc-'));
    chmodSync(dir, 0o755);
    const socketPath = path.join(dir, 'agent.sock');
    // Two connections, one of them root's; the server's hard limit of open sockets is then 2 * 4 + 1024.
    server = new IpcServer({ path: socketPath, handler: async (req) => (req.op === 'ping' ? 'pong' : null), maxConnections: 2, rootReserve: 1, maxConnectionsPerUser: 1 });
    await server.listen();
    const flood = `
const net = require('node:net');
const n = 1100; let settled = 0; const socks = [];
const done = () => { if (++settled === n) process.stdout.write('ready\\n'); };
for (let i = 0; i < n; i++) {
  const s = net.createConnection(${JSON.stringify(socketPath)});
  let counted = false;
  const once = () => { if (!counted) { counted = true; done(); } };
  s.on('connect', once); s.on('close', once); s.on('error', once);
  socks.push(s);
}
process.stdin.on('data', () => {}); process.stdin.on('end', () => process.exit(0));
`;
    const child = spawn(process.execPath, ['-e', flood], { uid: USER_UID, gid: USER_UID, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`the flooding client exited (${code})`)));
      });
      // The client closes none of them: the agent holds open its one served connection and no
      // more than a few refused ones of this uid, far below the hard limit of open sockets.
      const net = (server as unknown as { server: { getConnections(cb: (e: Error | null, n: number) => void): void } }).server;
      const open = await new Promise<number>((resolve, reject) => net.getConnections((e, n) => (e ? reject(e) : resolve(n))));
      expect(open).to.be.at.most(1 + 16);
      expect(await ipcCall(socketPath, { op: 'ping' }, { timeoutMs: 10_000 })).to.equal('pong');
    } finally {
      child.stdin.end();
      child.kill();
    }
  });
});
