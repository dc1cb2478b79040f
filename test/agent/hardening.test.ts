/**
 * Issue 12, finding 9 (the parts on logs, policy files and the parent process): control
 * characters never reach the agent's log raw, the agent refuses a --policy file (or a folder
 * above it, or its state folder's) that a user could write — at start, and at `agent refresh`,
 * where it keeps the policy it has and `agent status` shows why — and the parent process is
 * read so that a client that has exited (a zombie) is still known, and a reaped or foreign pid
 * is "unknown", never "no parent". Real agent (built CLI) as root, real users (h6t...).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { requireComponent } from '../support/components.js';
import { ascend, cliEnv, requireBuiltCli } from '../passcode-cli/support.js';
import { escapeControlChars, formatLogFields, formatLogLine } from '../../src/log-line.js';
import { openRootOnlyFile, rootOnlyFault, type ComponentStat } from '../../agent/policy/root-only.js';
import { parseProcStat, readPeerParent } from '../../agent/ipc/peer.js';
import { IpcServer } from '../../agent/ipc/server.js';
import { LocalPolicyFiles, PolicyCache, PolicyRefresher } from '../../agent/policy/index.js';
import type { AscendError } from '../../src/errors.js';
import { addUser, AgentProcess, asUser, cleanupDir, removeUsersWithPrefix, rule, tempDir, until, writePolicy } from './h6-support.js';

const USER = 'h6tc';
const DIR = 0o040000;
const FILE = 0o100000;

describe('log lines: control characters escaped in one place', () => {
  it('escapes C0, DEL, C1, line and paragraph separators, bidi controls and lone surrogates; keeps other text', () => {
    const raw = 'a\x1b[31mred\r\nfake\tline\x00\x7f\u0085\u009b2J\u2028\u2029\u202e\u2066\u200f\u061c\ud800z';
    const out = escapeControlChars(raw);
    expect(out).to.equal('a\\u001b[31mred\\r\\nfake\\tline\\u0000\\u007f\\u0085\\u009b2J\\u2028\\u2029\\u202e\\u2066\\u200f\\u061c\\ud800z');
    expect(escapeControlChars('C:\\Windows héllo 日本 😀 ok')).to.equal('C:\\Windows héllo 日本 😀 ok');
  });

  it('escapes the message and every field, nested values and keys included, and the fields still parse back', () => {
    const fields = { op: 'x\u2028y\u009b', nested: { list: ['\x1b]0;t\x07', { 'k\u202e': 'v\r\n' }] }, n: 10n };
    const line = formatLogLine(new Date(0), 'warn', 'bad\nframe \x1b[2J', fields);
    expect(line.endsWith('\n')).to.equal(true);
    const body = line.slice(0, -1);
    expect(body, JSON.stringify(body)).to.match(/^[\x20-\x7e]*$/);
    expect(body).to.include('bad\\nframe \\u001b[2J');
    const json = body.slice(body.indexOf('{'));
    expect(JSON.parse(json)).to.deep.equal({ op: 'x\u2028y\u009b', nested: { list: ['\x1b]0;t\x07', { 'k\u202e': 'v\r\n' }] }, n: '10' });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(formatLogFields(cyclic)).to.equal('{"a":1,"self":"[repeated]"}');
  });
});

describe('policy and state folders: only root may change them (pure judgement)', () => {
  const root = new Set([0]);
  const c = (p: string, uid: number, mode: number): ComponentStat => ({ path: p, uid, mode, fuse: false });

  it('refuses a file or folder not owned by root, or writable by group or others, naming it', () => {
    expect(rootOnlyFault([c('/etc/a.pol', 0, FILE | 0o644), c('/etc', 0, DIR | 0o755), c('/', 0, DIR | 0o755)], root)).to.equal(null);
    expect(rootOnlyFault([c('/etc/a.pol', 1000, FILE | 0o444), c('/etc', 0, DIR | 0o755)], root)).to.equal('/etc/a.pol is owned by uid 1000, not root');
    expect(rootOnlyFault([c('/etc/a.pol', 0, FILE | 0o664), c('/etc', 0, DIR | 0o755)], root)).to.equal('/etc/a.pol is writable by its group (mode 0664)');
    expect(rootOnlyFault([c('/x/a.pol', 0, FILE | 0o644), c('/x', 0, DIR | 0o777), c('/', 0, DIR | 0o755)], root)).to.equal('/x is writable by its group and others (mode 0777)');
    expect(rootOnlyFault([c('/h/a.pol', 0, FILE | 0o644), c('/h', 1000, DIR | 0o755)], root)).to.equal('/h is owned by uid 1000, not root');
    expect(rootOnlyFault([c('/m/a.pol', 0, FILE | 0o644), { ...c('/m', 0, DIR | 0o755), fuse: true }], root)).to.match(/FUSE/);
  });

  it('accepts a root-owned sticky folder (as /tmp) above a root-owned entry only', () => {
    expect(rootOnlyFault([c('/tmp/d/a.pol', 0, FILE | 0o644), c('/tmp/d', 0, DIR | 0o755), c('/tmp', 0, DIR | 0o1777), c('/', 0, DIR | 0o755)], root)).to.equal(null);
    expect(rootOnlyFault([c('/tmp/d/a.pol', 0, FILE | 0o644), c('/tmp/d', 1000, DIR | 0o755), c('/tmp', 0, DIR | 0o1777)], root)).to.equal('/tmp/d is owned by uid 1000, not root');
    // A sticky folder owned by a user (a sticky home) proves nothing: its owner renames anything in it.
    expect(rootOnlyFault([c('/home/u/a.pol', 0, FILE | 0o644), c('/home/u', 1000, DIR | 0o1777)], root)).to.equal('/home/u is owned by uid 1000, not root');
    expect(rootOnlyFault([c('/e\x1b[2J/a.pol', 1000, FILE | 0o644)], root)).to.equal('/e\\u001b[2J/a.pol is owned by uid 1000, not root');
  });
});

describe('policy files on disk: the whole resolution is checked, links included (root)', () => {
  let dir: string | undefined;
  after(() => cleanupDir(dir));

  it('reads a root-only file through a root-owned link; refuses a link a user owns, or one leading through a folder a user owns', async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the test chowns files)', 'run the tests as root');
    dir = tempDir('links');
    const pol = path.join(dir, 'real.pol');
    writeFileSync(pol, 'PReg', { mode: 0o644 });
    const good = path.join(dir, 'good-link');
    symlinkSync(pol, good);
    const h = await openRootOnlyFile(good, 'policy file');
    expect((await h.readFile()).toString()).to.equal('PReg');
    await h.close();

    const owned = path.join(dir, 'user-link');
    symlinkSync(pol, owned);
    lchownSync(owned, 65534, 65534);
    const e1 = await openRootOnlyFile(owned, 'policy file').then(() => undefined, (e: Error) => e);
    expect(e1?.message).to.match(/symbolic link .*user-link is owned by uid 65534, not root/);

    // A root-owned link whose target passes through a folder a user owns (and could swap).
    const userDir = path.join(dir, 'users');
    mkdirSync(userDir);
    writeFileSync(path.join(userDir, 'x.pol'), 'PReg', { mode: 0o644 });
    chownSync(userDir, 65534, 65534);
    const through = path.join(dir, 'through-link');
    symlinkSync(path.join(userDir, 'x.pol'), through);
    const e2 = await openRootOnlyFile(through, 'policy file').then(() => undefined, (e: Error) => e);
    expect(e2?.message).to.match(/users is owned by uid 65534, not root/);
    // A root-owned relative link with .. that stays among root's folders is fine.
    mkdirSync(path.join(dir, 'sub'), { mode: 0o755 });
    symlinkSync('../real.pol', path.join(dir, 'sub', 'up-link'));
    const h2 = await openRootOnlyFile(path.join(dir, 'sub', 'up-link'), 'policy file');
    await h2.close();
  });
});

describe('the socket folder: its parents only root can change too', () => {
  let dir: string | undefined;
  after(() => cleanupDir(dir));

  it('refuses a socket folder below a folder a user owns', async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the test chowns folders)', 'run the tests as root');
    dir = tempDir('sock');
    const userDir = path.join(dir, 'users');
    mkdirSync(path.join(userDir, 'run'), { recursive: true, mode: 0o755 });
    chownSync(userDir, 65534, 65534);
    const server = new IpcServer({ path: path.join(userDir, 'run', 'agent.sock'), handler: async () => null });
    const e = await server.listen().then(() => undefined, (x: unknown) => x as AscendError);
    await server.close();
    expect(e?.code).to.equal('ASC_AGENT_CONFIG');
    expect(e?.message).to.match(/socket folder .* is refused: .*users is owned by uid 65534, not root/);
  });
});

describe('a refused policy file is not replaced by the cached policy at start', () => {
  let dir: string | undefined;
  after(() => cleanupDir(dir));

  it('start fails with the refusal although a cached policy exists; an outage still falls back to the cache', async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (policy files must be root\'s)', 'run the tests as root');
    dir = tempDir('cache');
    const file = path.join(dir, 'Registry.pol');
    writePolicy(file, [rule('sleep', { action: 'allow', match: { path: '/usr/bin/sleep' } })], [], 'h6tz_');
    const cache = new PolicyCache(dir);
    await cache.save(await new LocalPolicyFiles([file]).load());
    chownSync(file, 65534, 65534);
    const refused = new PolicyRefresher({ source: new LocalPolicyFiles([file]), cache, onChange: () => undefined });
    const e = await refused.start().then(() => undefined, (x: unknown) => x as AscendError);
    refused.stop();
    expect(e?.code).to.equal('ASC_AGENT_CONFIG');
    expect(e?.message).to.match(/Registry\.pol is owned by uid 65534, not root/);
    // A file that is merely missing is an outage: the cache stands in.
    const missing = new PolicyRefresher({ source: new LocalPolicyFiles([path.join(dir, 'gone.pol')]), cache, onChange: () => undefined });
    expect((await missing.start()).fromCache).to.equal(true);
    missing.stop();
  });
});

describe('the parent of a socket peer (read at accept)', function () {
  this.timeout(20_000);

  it('parses /proc/PID/stat whatever the command name holds', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i));
    fields[1] = '4242'; // ppid
    fields[19] = '987654'; // starttime
    expect(parseProcStat(`123 (a) b ) (c) ${fields.join(' ')}`)).to.deep.equal({ ppid: 4242, startTime: 987654 });
    expect(parseProcStat('garbage')).to.equal(undefined);
  });

  it('knows the parent of a process that exited but is not reaped yet; a reaped or foreign pid is unknown', async function () {
    requireComponent(this, process.platform === 'linux', 'Linux /proc', 'run on Linux');
    // python forks a child that exits at once and is not waited for: a zombie naming its parent.
    const py = spawn('/usr/bin/python3', ['-c', 'import os,sys,time\npid=os.fork()\nif pid==0: os._exit(0)\nprint(pid, flush=True)\nsys.stdin.read()\nos.waitpid(pid,0)\nprint("reaped", flush=True)\ntime.sleep(30)'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      let out = '';
      py.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await until(() => /^\d+\n/.test(out), 'the zombie pid');
      const zombie = Number(out.split('\n')[0]);
      const me = process.getuid?.() ?? 0;
      const known = readPeerParent(zombie, me);
      expect(known, JSON.stringify(known)).to.deep.include({ known: true, pid: py.pid });
      expect((known as { path: string }).path).to.match(/python3/);
      // Another uid than the kernel gave for the peer: not this peer (its pid was reused).
      expect(readPeerParent(zombie, me + 1).known).to.equal(false);
      py.stdin.end();
      await until(() => out.includes('reaped'), 'the zombie to be reaped');
      const gone = readPeerParent(zombie, me);
      expect(gone.known).to.equal(false);
      expect(readPeerParent(0, me).known).to.equal(false);
    } finally {
      py.kill('SIGKILL');
    }
  });
});

describe('IPC connection limits: per uid, and a reserve only root may use (real users)', function () {
  this.timeout(60_000);
  const held: ChildProcess[] = [];
  let dir: string | undefined;
  let server: IpcServer | undefined;

  after(async () => {
    for (const c of held.splice(0)) c.kill('SIGKILL');
    await server?.close();
    cleanupDir(dir);
    spawnSync('userdel', ['-r', 'h6td'], { stdio: 'ignore' });
  });

  it('serves root when users hold every slot but the reserve; a user over its own cap is refused with the limit named', async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the test runs clients as other users)', 'run the tests as root');
    dir = tempDir('ipc');
    addUser('h6td');
    const sock = path.join(dir, 'agent.sock');
    const logs: string[] = [];
    // Handlers never answer: every served connection stays open.
    server = new IpcServer({ path: sock, handler: () => new Promise(() => undefined), log: (_l, m) => logs.push(m), maxConnections: 4, rootReserve: 1, maxConnectionsPerUser: 2 });
    await server.listen();
    const script = path.join(dir, 'hold.mjs');
    writeFileSync(
      script,
      `import net from 'node:net';
const [sock, n] = process.argv.slice(2);
for (let i = 0; i < Number(n); i++) {
  const s = net.createConnection(sock, () => s.write('{"op":"hold"}\\n'));
  let buf = '';
  s.on('data', (d) => { buf += d; if (buf.includes('\\n')) process.stdout.write(JSON.stringify(JSON.parse(buf.split('\\n')[0]).error.message) + '\\n'); });
  s.on('error', () => {});
}
`,
    );
    const hold = (user: string, n: number): { out: () => string[] } => {
      const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim();
      const c = spawn('setpriv', ['--reuid', user, '--regid', gid, '--clear-groups', '--', process.execPath, script, sock, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
      held.push(c);
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      return { out: () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as string) };
    };
    // nobody asks for 3: 2 served, 1 refused by the per-user cap.
    const nobody = hold('nobody', 3);
    await until(() => nobody.out().length === 1 && server?.connectionCount === 2, 'nobody to hold 2 connections');
    expect(nobody.out()[0]).to.match(/too many connections to the agent from uid 65534 \(2 open; the limit is 2 per user\)/);
    // h6td takes the last slot users may have; its second is refused: the rest is root's.
    const other = hold('h6td', 2);
    await until(() => other.out().length === 1 && server?.connectionCount === 3, 'h6td to hold 1 connection').catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(other.out())}, ${server?.connectionCount} open; ${logs.join('; ')}`);
    });
    expect(other.out()[0]).to.match(/serving too many connections \(3 for users; the other 1 are kept for root\)/);
    // Root is served (its request reaches the handler: it holds the 4th slot), then nobody is.
    const rootConn = net.createConnection(sock);
    await new Promise<void>((r) => rootConn.once('connect', () => r()));
    rootConn.write('{"op":"hold"}\n');
    await until(() => server?.connectionCount === 4, 'root to be served');
    const full = await new Promise<string>((resolve) => {
      const c = net.createConnection(sock);
      let buf = '';
      c.on('data', (d: Buffer) => (buf += d.toString()));
      c.on('error', () => undefined);
      c.on('close', () => resolve(buf));
    });
    expect(full).to.match(/serving too many connections \(4, its limit\)/);
    rootConn.destroy();
  });
});

describe('agent hardening: escaped log lines, policy files only root can change (root, real agent and user)', function () {
  this.timeout(120_000);
  const prefix = `h6te${randomBytes(2).toString('hex')}_`;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let uid = -1;

  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent creates accounts)', 'run the tests as root');
    requireBuiltCli();
    tmp = tempDir('hard');
    env = cliEnv(tmp);
    uid = addUser(USER);
  });

  after(() => {
    removeUsersWithPrefix(prefix);
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    cleanupDir(tmp);
  });

  /** A fresh folder (root 0755) with a policy allowing sleep, and an agent for it. */
  function setup(name: string): { dir: string; agent: AgentProcess } {
    const dir = path.join(tmp, name);
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const file = path.join(dir, 'Registry.pol');
    writePolicy(file, [rule('sleep for everyone', { action: 'allow', match: { path: '/usr/bin/sleep' } })], [], prefix);
    return { dir, agent: new AgentProcess(path.join(dir, 'agent.sock'), path.join(dir, 'state'), file, env) };
  }

  it('writes a bad frame and a request with control characters into its log escaped, one line each', async () => {
    const { agent } = setup('log');
    await agent.start();
    try {
      const before = agent.log.text.length;
      const sock = net.createConnection(agent.socket);
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.on('error', () => undefined);
      // Invalid JSON (the parser quotes its first characters), then on another connection a
      // request whose op holds what JSON.stringify leaves raw, followed by a bad frame.
      sock.write(Buffer.from('\x1b[31mFAKE\r\x1b]0;t\x07\u009b2J\u2028\u202e\n', 'utf8'));
      const sock2 = net.createConnection(agent.socket);
      await new Promise<void>((r) => sock2.once('connect', () => r()));
      sock2.on('error', () => undefined);
      sock2.write(Buffer.from('{"op":"st\u2028at\u009bus\u202e"}\n\x1b[2Jgarbage\n', 'utf8'));
      await until(() => (agent.log.text.slice(before).match(/not valid JSON/g) ?? []).length >= 2, `both frames to be logged:\n${agent.log.text}`);
      sock.destroy();
      sock2.destroy();
      const logged = agent.log.text.slice(before);
      // The log was read as latin1: any byte outside printable ASCII (a raw control, or UTF-8 of one) shows here.
      for (const line of logged.split('\n').filter((l) => l !== '')) {
        expect(line, JSON.stringify(line)).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z (info|warn|error) [\x20-\x7e]*$/);
      }
      // The parser quotes the frame's first 10 characters.
      expect(logged).to.include('"\\u001b[31mFAKE\\r"');
      expect(logged).to.include('"\\u001b[2Jgarbage"');
      expect(logged).to.include('"op":"st\\u2028at\\u009bus\\u202e"');
    } finally {
      await agent.stop();
    }
  });

  it('refuses to start on a policy file a user could change: owned by a user, group- or other-writable, or in a folder a user could change', async () => {
    const cases: { name: string; prepare: (dir: string, file: string) => void; fault: RegExp }[] = [
      { name: 'owner', prepare: (_d, f) => chownSync(f, uid, 0), fault: new RegExp(`Registry\\.pol is owned by uid ${uid}, not root`) },
      { name: 'group', prepare: (_d, f) => chmodSync(f, 0o664), fault: /Registry\.pol is writable by its group \(mode 0664\)/ },
      { name: 'folder-owner', prepare: (d) => chownSync(d, uid, 0), fault: new RegExp(`folder-owner is owned by uid ${uid}, not root`) },
      { name: 'folder-mode', prepare: (d) => chmodSync(d, 0o777), fault: /folder-mode is writable by its group and others \(mode 0777\)/ },
    ];
    for (const c of cases) {
      const { dir, agent } = setup(c.name);
      c.prepare(dir, agent.policyFile);
      // The state folder lives elsewhere so only the policy file is at fault.
      const state = new AgentProcess(path.join(tmp, `${c.name}.sock`), path.join(tmp, `state-${c.name}`), agent.policyFile, env);
      const r = await state.runToExit();
      expect(r.status, `${c.name}: ${r.stderr}`).to.not.equal(0);
      expect(r.stderr, c.name).to.match(c.fault);
      expect(r.stderr, c.name).to.include(agent.policyFile);
      expect(r.stderr, c.name).to.not.match(/agent listening/);
    }
  });

  it('refuses a state folder below a folder a user could change', async () => {
    const { dir, agent } = setup('state-parent');
    const userDir = path.join(dir, 'users');
    mkdirSync(userDir, { mode: 0o755 });
    chownSync(userDir, uid, 0);
    const a = new AgentProcess(agent.socket, path.join(userDir, 'state'), agent.policyFile, env);
    const r = await a.runToExit();
    expect(r.status, r.stderr).to.not.equal(0);
    expect(r.stderr).to.match(new RegExp(`state folder .* is refused: .*users is owned by uid ${uid}, not root`));
  });

  it('at `agent refresh` keeps the policy it has when the file became writable by a user, and `agent status` says why', async () => {
    const { agent } = setup('refresh');
    await agent.start();
    try {
      const status = (): { policy: { digest: string; lastError?: string } } => {
        const r = ascend(['agent', 'status', '--socket', agent.socket, '--json'], env, tmp);
        expect(r.status, r.stderr).to.equal(0);
        return r.json;
      };
      const digest = status().policy.digest;
      // The file is made the user's, who adds a rule for themselves and asks for a refresh.
      chownSync(agent.policyFile, uid, 0);
      const added = path.join(tmp, 'by-user.pol');
      writePolicy(added, [rule('sleep for everyone', { action: 'allow', match: { path: '/usr/bin/sleep' } }), rule('id by the user', { action: 'allow', match: { path: '/usr/bin/id' } })], [], prefix);
      const cp = spawnSync('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', '--', 'cp', added, agent.policyFile], { encoding: 'utf8' });
      expect(cp.status, cp.stderr).to.equal(0);
      const refresh = ascend(['agent', 'refresh', '--socket', agent.socket], env, tmp);
      expect(refresh.stdout + refresh.stderr).to.match(/Not refreshed: .*is refused/);
      const after = status();
      expect(after.policy.digest).to.equal(digest);
      expect(after.policy.lastError).to.match(new RegExp(`policy file ${agent.policyFile.replace(/[.]/g, '\\.')} is refused: .*owned by uid ${uid}, not root`));
      const text = ascend(['agent', 'status', '--socket', agent.socket], env, tmp);
      expect(text.stdout).to.match(/last refresh failed: .*is refused/);
      // The rule the user added does nothing.
      const id = await asUser(USER, ['elevate', '--', '/usr/bin/id'], agent.socket, tmp);
      expect(id.status).to.not.equal(0);
      expect(id.stderr).to.match(/not elevated/);
    } finally {
      await agent.stop();
    }
  });
});
