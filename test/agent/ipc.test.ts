/**
 * The agent socket: frames, the SO_PEERCRED addon, IpcServer and ipcCall — over real Unix
 * sockets in temporary folders, with real processes (one run as nobody through setpriv, one
 * interrupted with a real SIGINT).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import {
  addonPath,
  encodeFrame,
  FrameDecoder,
  type IpcContext,
  type IpcHandler,
  ipcCall,
  IpcServer,
  type IpcServerOptions,
  MAX_FRAME_BYTES,
  peerCredentials,
  peerCredentialsAvailable,
  peerCredentialsOfFd,
} from '../../agent/ipc/index.js';
import { AscendError } from '../../src/errors.js';
import { requireComponent } from '../support/components.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const NOBODY = 65534;

const dirs: string[] = [];
const servers: IpcServer[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
after(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A folder every user may traverse (mkdtemp makes 0700), only root may write. */
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ascend-ipc-'));
  chmodSync(d, 0o755);
  dirs.push(d);
  return d;
}

async function serve(handler: IpcHandler, extra: Partial<IpcServerOptions> = {}): Promise<{ server: IpcServer; path: string; logs: string[] }> {
  const path = extra.path ?? join(tempDir(), 'agent.sock');
  const logs: string[] = [];
  const server = new IpcServer({ path, handler, log: (level, msg, fields) => logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`), ...extra });
  await server.listen();
  servers.push(server);
  return { server, path, logs };
}

async function waitUntil(ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rejection(p: Promise<unknown>): Promise<AscendError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(AscendError);
    return e as AscendError;
  }
  throw new Error('expected a rejection');
}

/** Writes raw bytes on a fresh connection and collects what comes back until the agent closes. */
function rawExchange(path: string, bytes: Buffer | string, opts: { end?: boolean } = {}): Promise<{ frames: Record<string, unknown>[]; text: string }> {
  return new Promise((resolveP, reject) => {
    const sock = net.createConnection({ path, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    sock.on('connect', () => {
      sock.write(bytes);
      if (opts.end) sock.end();
    });
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', () => sock.end());
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') reject(e);
    });
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const frames = text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolveP({ frames, text });
    });
  });
}

function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((res, rej) => {
    const tick = (): void => {
      if (pred()) res();
      else if (Date.now() > deadline) rej(new Error('condition not met in time'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', rej);
    child.on('close', (code) => res({ code, stdout, stderr, pid: child.pid ?? -1 }));
  });
}

const echo: IpcHandler = async (req) => ({ echoed: req });

describe('agent IPC', () => {
  describe('frames', () => {
    it('cuts lines across and within chunks, takes exactly 1 MiB, refuses 1 MiB + 1 and bad UTF-8, JSON or non-objects', () => {
      const got: unknown[] = [];
      const d = new FrameDecoder();
      d.push(Buffer.from('{"op":"a"}\n{"op'), (f) => got.push(f));
      d.push(Buffer.from('":"b","s":"é"}'), (f) => got.push(f));
      expect(d.pending).to.be.greaterThan(0);
      d.push(Buffer.from('\n{"x":1}\n'), (f) => got.push(f));
      expect(got).to.deep.equal([{ op: 'a' }, { op: 'b', s: 'é' }, { x: 1 }]);
      d.end();

      const exact = `{"p":"${'x'.repeat(MAX_FRAME_BYTES - 8)}"}`;
      expect(Buffer.byteLength(exact)).to.equal(MAX_FRAME_BYTES);
      const big = new FrameDecoder();
      let n = 0;
      big.push(Buffer.from(`${exact}\n`), () => n++);
      expect(n).to.equal(1);
      expect(() => encodeFrame({ p: 'x'.repeat(MAX_FRAME_BYTES) })).to.throw(AscendError).with.property('code', 'ASC_AGENT_PROTOCOL');

      const over = new FrameDecoder();
      over.push(Buffer.alloc(MAX_FRAME_BYTES, 0x20), () => undefined);
      expect(() => over.push(Buffer.from(' '), () => undefined))
        .to.throw(AscendError)
        .with.property('code', 'ASC_AGENT_PROTOCOL');

      for (const bad of [Buffer.from([0x7b, 0xff, 0x7d, 0x0a]), Buffer.from('{"op":\n'), Buffer.from('[1,2]\n'), Buffer.from('null\n')]) {
        const dec = new FrameDecoder();
        const before: unknown[] = [];
        expect(() => dec.push(Buffer.concat([Buffer.from('{"ok":1}\n'), bad]), (f) => before.push(f)))
          .to.throw(AscendError)
          .with.property('code', 'ASC_AGENT_PROTOCOL');
        expect(before).to.deep.equal([{ ok: 1 }]);
      }
      const cut = new FrameDecoder();
      cut.push(Buffer.from('{"op":"a"'), () => undefined);
      expect(() => cut.end()).to.throw(AscendError);
    });
  });

  describe('peer credentials (SO_PEERCRED addon)', () => {
    it('is built into build/native and found from the package root', () => {
      expect(addonPath()).to.equal(join(ROOT, 'build', 'native', 'peercred.node'));
      expect(existsSync(addonPath()), 'run npm run build:native').to.equal(true);
      expect(peerCredentialsAvailable()).to.equal(true);
    });

    it('is found the same way from the compiled dist/agent/ipc', async function () {
      const compiled = join(ROOT, 'dist', 'agent', 'ipc', 'peer.js');
      if (!existsSync(compiled)) {
        // npm run build makes it; compile just this module tree when the build has not run.
        const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
        if (!existsSync(compiled)) throw new Error(`tsc did not produce ${compiled}: ${r.stdout}${r.stderr}`);
      }
      const r = await run(process.execPath, [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(pathToFileURL(compiled).href)}); console.log(JSON.stringify({ path: m.addonPath(), ok: m.peerCredentialsAvailable() }));`,
      ]);
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout)).to.deep.equal({ path: join(ROOT, 'build', 'native', 'peercred.node'), ok: true });
    });

    it('names this process on a connection it made, and refuses what is not a connected socket', async () => {
      const path = join(tempDir(), 's.sock');
      const seen: unknown[] = [];
      const server = net.createServer((c) => {
        seen.push(peerCredentials(c));
        c.destroy();
      });
      await new Promise<void>((r) => server.listen(path, r));
      const client = net.createConnection(path);
      await waitFor(() => seen.length === 1);
      client.destroy();
      expect(seen[0]).to.deep.equal({ pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
      // The client's own side asks about the server, which is also this process.
      await new Promise<void>((r) => server.close(() => r()));

      const file = openSync(join(tempDir(), 'plain'), 'w');
      try {
        const e = (() => {
          try {
            peerCredentialsOfFd(file);
          } catch (err) {
            return err as AscendError;
          }
          throw new Error('expected a throw');
        })();
        expect(e.code).to.equal('ASC_AGENT_PEER_UNKNOWN');
        expect(e.message).to.match(/non-socket/i);
      } finally {
        closeSync(file);
      }
      expect(() => peerCredentials(client)).to.throw(AscendError).with.property('code', 'ASC_AGENT_PEER_UNKNOWN');
    });
  });

  describe('IpcServer and ipcCall', () => {
    it('counts a handler until it settles, also after its client left, and when activity was last seen (an agent on demand rests on both)', async () => {
      let release: (() => void) | undefined;
      const held = new Promise<void>((r) => (release = r));
      const { server, path } = await serve(async () => {
        await held;
        return null;
      });
      const before = server.lastActivityAt;
      expect(server.handlersInFlight).to.equal(0);
      const c = net.createConnection({ path });
      await new Promise((r) => c.once('connect', r));
      c.write(`${JSON.stringify({ op: 'status', id: 'r1' })}\n`);
      await waitUntil(() => server.handlersInFlight === 1);
      // The client goes; the handler runs on.
      c.destroy();
      await new Promise((r) => setTimeout(r, 200));
      expect(server.handlersInFlight).to.equal(1);
      const duringHandler = server.lastActivityAt;
      expect(duringHandler).to.be.above(before);
      release?.();
      await waitUntil(() => server.handlersInFlight === 0 && server.connectionCount === 0);
      expect(server.lastActivityAt).to.be.at.least(duringHandler);
    });

    it('round trip: the request with its params, the value back; missing folder made 0755, socket 0666', async () => {
      const path = join(tempDir(), 'run', 'ascend', 'agent.sock');
      let peer: IpcContext['peer'] | undefined;
      await serve(
        async (req, ctx) => {
          peer = ctx.peer;
          return { op: req.op, id: req.id, n: req.n, list: req.list };
        },
        { path },
      );
      expect(statSync(dirname(path)).mode & 0o7777).to.equal(0o755);
      const st = statSync(path);
      expect(st.isSocket()).to.equal(true);
      expect(st.mode & 0o777).to.equal(0o666);
      const value = await ipcCall(path, { op: 'status', id: 'r1', n: 3, list: ['é', null] });
      expect(value).to.deep.equal({ op: 'status', id: 'r1', n: 3, list: ['é', null] });
      expect(peer).to.deep.equal({ pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
      // A handler that returns nothing answers null.
      const { path: p2 } = await serve(async () => undefined);
      expect(await ipcCall(p2, { op: 'refresh' })).to.equal(null);
    });

    it('takes the uid from the kernel: a client run as nobody that claims uid 0 is seen as 65534', async function () {
      requireComponent(this, process.getuid?.() === 0, 'root (setpriv runs the client as nobody)', 'run the tests as root');
      const { path } = await serve(async (req, ctx) => ({ peer: ctx.peer, claimed: req.uid }));
      const script = `
        const net = require('node:net');
        const s = net.createConnection(process.argv[1]);
        let out = '';
        s.on('connect', () => s.write(JSON.stringify({ op: 'whoami', uid: 0, gid: 0, pid: 1 }) + '\\n'));
        s.on('data', (d) => (out += d));
        s.on('close', () => console.log(JSON.stringify({ me: process.getuid(), answer: JSON.parse(out) })));
      `;
      const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script, path]);
      expect(r.code, r.stderr).to.equal(0);
      const out = JSON.parse(r.stdout) as { me: number; answer: { kind: string; ok: boolean; value: { peer: IpcContext['peer']; claimed: number } } };
      expect(out.me).to.equal(NOBODY);
      expect(out.answer.kind).to.equal('result');
      expect(out.answer.ok).to.equal(true);
      expect(out.answer.value.claimed).to.equal(0);
      expect(out.answer.value.peer).to.deep.equal({ pid: r.pid, uid: NOBODY, gid: NOBODY });
    });

    it('an oversized frame is a protocol error on that connection; the server serves the next one', async () => {
      let calls = 0;
      const { path, logs } = await serve(async () => ++calls);
      // No newline at all: refused as soon as more than 1 MiB is buffered.
      const huge = await rawExchange(path, Buffer.alloc(MAX_FRAME_BYTES + 10, 0x61));
      expect(huge.frames).to.have.length(1);
      expect(huge.frames[0]).to.deep.include({ kind: 'result', ok: false });
      expect((huge.frames[0]?.error as { code: string }).code).to.equal('ASC_AGENT_PROTOCOL');
      // A complete line that is too long.
      const line = await rawExchange(path, `{"op":"x","pad":"${'b'.repeat(MAX_FRAME_BYTES)}"}\n`);
      expect((line.frames[0]?.error as { code: string }).code).to.equal('ASC_AGENT_PROTOCOL');
      // ipcCall refuses to send one.
      expect((await rejection(ipcCall(path, { op: 'x', pad: 'c'.repeat(MAX_FRAME_BYTES) }))).code).to.equal('ASC_AGENT_PROTOCOL');
      expect(calls).to.equal(0);
      expect(await ipcCall(path, { op: 'status' })).to.equal(1);
      expect(logs.some((l) => l.startsWith('warn') && /larger than/.test(l))).to.equal(true);
    });

    it('malformed JSON, a request without op and an unknown frame after it are protocol errors', async () => {
      let calls = 0;
      const { path } = await serve(async (_req, ctx) => {
        calls++;
        await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r()));
        return 'aborted';
      });
      for (const bytes of ['{"op":"status",}\n', '{"id":"x"}\n', '"status"\n', '{"op":"x"}\n{"op":"launch-missiles"}\n']) {
        const r = await rawExchange(path, bytes);
        expect(r.frames, bytes).to.have.length(1);
        expect(r.frames[0]).to.deep.include({ kind: 'result', ok: false });
        expect((r.frames[0]?.error as { code: string }).code, bytes).to.equal('ASC_AGENT_PROTOCOL');
      }
      // The last one started a handler, which was aborted by the protocol error.
      expect(calls).to.equal(1);
    });

    it("a handler's AscendError reaches the client with its code, message and hint", async () => {
      const { path } = await serve(async (req) => {
        throw new AscendError('ASC_ELEVATION_DENIED', `no rule allows ${String(req.argv)}`, { hint: 'ask for a passcode' });
      });
      const e = await rejection(ipcCall(path, { op: 'elevate', argv: ['/bin/sh'] }));
      expect(e.code).to.equal('ASC_ELEVATION_DENIED');
      expect(e.message).to.equal('no rule allows /bin/sh');
      expect(e.hint).to.equal('ask for a passcode');
    });

    it('any other error becomes ASC_INTERNAL without its message; the details go to the log', async () => {
      const { path, logs } = await serve(async () => {
        throw new TypeError('secret internal detail /etc/shadow');
      });
      const e = await rejection(ipcCall(path, { op: 'status' }));
      expect(e.code).to.equal('ASC_INTERNAL');
      expect(e.message).not.to.include('secret');
      expect(e.message).not.to.include('TypeError');
      expect(e.hint).to.equal(undefined);
      expect(logs.some((l) => l.startsWith('error') && l.includes('secret internal detail'))).to.equal(true);
      // A value that cannot be JSON is an internal error too.
      const { path: p2 } = await serve(async () => ({ n: 1n }));
      expect((await rejection(ipcCall(p2, { op: 'status' }))).code).to.equal('ASC_INTERNAL');
    });

    it('streams events and stdout/stderr to the client and stdin to the handler (stdin sent before the handler listens is kept)', async () => {
      const { path } = await serve(async (req, ctx) => {
        ctx.send({ kind: 'event', status: 'waiting-approval', message: 'waiting for approval' });
        await new Promise((r) => setTimeout(r, 100)); // stdin arrives meanwhile
        const input: Buffer[] = [];
        const ended = new Promise<void>((r) =>
          ctx.onFrame((f) => {
            if (f.op === 'stdin') input.push(Buffer.from(f.data as string, 'base64'));
            else if (f.op === 'stdin-end') r();
          }),
        );
        await ended;
        const text = Buffer.concat(input).toString();
        ctx.send({ kind: 'stdout', data: Buffer.from(text.toUpperCase()).toString('base64') });
        ctx.send({ kind: 'stderr', data: Buffer.from('warn\n').toString('base64') });
        // A large stream through forward(), with backpressure: arrives whole and in order.
        const big = Buffer.alloc(3 * 1024 * 1024 + 7);
        for (let i = 0; i < big.length; i++) big[i] = i % 251;
        await ctx.forward(Readable.from([big.subarray(0, 1000), big.subarray(1000)]), 'stdout');
        return { bytes: text.length, op: req.op };
      });
      const events: Record<string, unknown>[] = [];
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const value = await ipcCall(path, { op: 'elevate' }, {
        stdin: Readable.from([Buffer.from('hello '), Buffer.from('world')]),
        onEvent: (f) => {
          if (f.kind === 'stdout') out.push(Buffer.from(f.data as string, 'base64'));
          else if (f.kind === 'stderr') err.push(Buffer.from(f.data as string, 'base64'));
          else events.push(f);
        },
      });
      expect(value).to.deep.equal({ bytes: 11, op: 'elevate' });
      expect(events).to.deep.equal([{ kind: 'event', status: 'waiting-approval', message: 'waiting for approval' }]);
      const all = Buffer.concat(out);
      expect(all.subarray(0, 11).toString()).to.equal('HELLO WORLD');
      expect(all.length).to.equal(11 + 3 * 1024 * 1024 + 7);
      for (let i = 0; i < 3 * 1024 * 1024 + 7; i += 4099) expect(all[11 + i]).to.equal(i % 251);
      expect(Buffer.concat(err).toString()).to.equal('warn\n');
    });

    it('a peer refused at accept (an elevated process) is answered at once and holds no connection slot', async () => {
      let handled = 0;
      // Every process but this one is refused, as the agent refuses ephemeral uids.
      const { path } = await serve(
        async () => {
          handled++;
          return 'served';
        },
        { maxConnections: 2, rootReserve: 0, refusePeer: (p) => (p.pid === process.pid ? undefined : new AscendError('ASC_ELEVATION_DENIED', 'an elevated process cannot ask the agent for another')) },
      );
      // Ten clients connect and send nothing (each would hold a slot for the request timeout).
      const idle = Array.from({ length: 10 }, () =>
        spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\nprint(s.recv(4096).decode(), flush=True)\ntime.sleep(5)', path], { stdio: ['ignore', 'pipe', 'ignore'] }),
      );
      children.push(...idle);
      const answers = idle.map((c) => new Promise<string>((r) => c.stdout?.once('data', (d: Buffer) => r(d.toString()))));
      const said = await Promise.all(answers);
      for (const a of said) expect(JSON.parse(a.split('\n')[0] as string)).to.deep.include({ kind: 'result', ok: false });
      expect(said[0]).to.include('an elevated process cannot ask the agent for another');
      // The slots are free: this process is served while they still hold their sockets open.
      expect(await ipcCall(path, { op: 'status' })).to.equal('served');
      expect(handled).to.equal(1);
    });

    it('input sent before the handler listens is held to a bound however small its frames (reading pauses), and none of it is lost', async () => {
      let listen: () => void = () => undefined;
      const listening = new Promise<void>((r) => (listen = r));
      const { path } = await serve(async (_req, ctx) => {
        await listening; // an elevation waiting for its approval, say
        let frames = 0;
        await new Promise<void>((r) =>
          ctx.onFrame((f) => {
            if (f.op === 'stdin') frames++;
            else if (f.op === 'stdin-end') r();
          }),
        );
        return { frames };
      });
      const COUNT = 400_000; // empty stdin frames: 10 MB on the wire, no data
      const sock = net.createConnection({ path, allowHalfOpen: true });
      const chunks: Buffer[] = [];
      sock.on('data', (c: Buffer) => chunks.push(c));
      const closed = new Promise<void>((r) => sock.on('close', () => r()));
      await new Promise<void>((r) => sock.on('connect', () => r()));
      sock.write(`${JSON.stringify({ op: 'elevate' })}\n`);
      const batch = Buffer.from(`${JSON.stringify({ op: 'stdin', data: '' })}\n`.repeat(1000));
      let sent = 0;
      let stalled = false;
      while (sent < COUNT) {
        sent += 1000;
        if (!sock.write(batch)) {
          // The agent stopped reading: the rest waits in the client until the handler listens.
          stalled = !(await Promise.race([new Promise<boolean>((r) => sock.once('drain', () => r(true))), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]));
          if (stalled) break;
        }
      }
      expect(stalled, `the agent read all ${sent} frames before its handler listened`).to.equal(true);
      expect(sent).to.be.lessThan(COUNT);
      listen();
      for (; sent < COUNT; sent += 1000) if (!sock.write(batch)) await new Promise((r) => sock.once('drain', r));
      sock.end(`${JSON.stringify({ op: 'stdin-end' })}\n`);
      await closed;
      const result = Buffer.concat(chunks)
        .toString()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((f) => f.kind === 'result');
      expect(result?.value).to.deep.equal({ frames: COUNT });
    });

    it('a client that disconnects aborts ctx.signal and runs onClose; the server goes on', async () => {
      let ctxSeen: IpcContext | undefined;
      let closed = false;
      // What send() answered once the client was gone: asserted below, in the test (an assertion
      // inside the handler would only become a log line for a client that is not there).
      let lateSend: boolean | undefined;
      const { path, server } = await serve(async (req, ctx) => {
        if (req.op !== 'wait') return 'quick';
        ctxSeen = ctx;
        ctx.onClose(() => (closed = true));
        await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
        lateSend = ctx.send({ kind: 'event', status: 'too late' });
        return 'aborted';
      });
      const sock = net.createConnection(path);
      await new Promise<void>((r) => sock.once('connect', r));
      sock.write('{"op":"wait"}\n');
      await waitFor(() => ctxSeen !== undefined);
      expect(ctxSeen?.signal.aborted).to.equal(false);
      sock.destroy();
      await waitFor(() => ctxSeen?.signal.aborted === true && closed && lateSend !== undefined);
      expect(lateSend, 'send() after the client went away').to.equal(false);
      await waitFor(() => server.connectionCount === 0);
      expect(await ipcCall(path, { op: 'status' })).to.equal('quick');
    });

    it('forwards a real SIGINT of the client process as a signal frame', async () => {
      const { path } = await serve(async (_req, ctx) => {
        ctx.send({ kind: 'event', status: 'started' });
        const sig = await new Promise<string>((r) => ctx.onFrame((f) => f.op === 'signal' && r(f.signal as string)));
        return { interrupted: sig };
      });
      const dir = tempDir();
      const script = join(dir, 'client.mjs');
      writeFileSync(
        script,
        `const { ipcCall } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'agent/ipc/index.ts')).href)});
         const v = await ipcCall(process.argv[2], { op: 'elevate' }, { forwardSignals: true, onEvent: () => console.log('started') });
         console.log(JSON.stringify(v));`,
      );
      const child = spawn(process.execPath, ['--import', 'tsx', script, path], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      await waitFor(() => stdout.includes('started'), 20_000);
      child.kill('SIGINT');
      expect(await exited, stderr).to.equal(0);
      expect(JSON.parse(stdout.trim().split('\n').pop() as string)).to.deep.equal({ interrupted: 'SIGINT' });
    });

    it('replaces a stale socket file, and refuses a path that is another kind of file', async () => {
      const dir = tempDir();
      const path = join(dir, 'agent.sock');
      // A listener killed with SIGKILL leaves its socket file behind.
      const r = await run(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
      expect(r.code).to.equal(null);
      expect(statSync(path).isSocket()).to.equal(true);
      expect((await rejection(ipcCall(path, { op: 'status' }))).code).to.equal('ASC_AGENT_NOT_RUNNING');
      await serve(echo, { path });
      expect(await ipcCall(path, { op: 'status' })).to.deep.equal({ echoed: { op: 'status' } });

      const file = join(dir, 'not-a-socket');
      writeFileSync(file, 'keep me');
      const e = await rejection(new IpcServer({ path: file, handler: echo }).listen());
      expect(e.code).to.equal('ASC_AGENT_CONFIG');
      expect(statSync(file).isFile()).to.equal(true);
    });

    it('refuses to start on the socket of a live agent, which keeps serving', async () => {
      const { path } = await serve(echo);
      const e = await rejection(new IpcServer({ path, handler: echo }).listen());
      expect(e.code).to.equal('ASC_AGENT_CONFIG');
      expect(e.message).to.match(/another agent is running/);
      expect(await ipcCall(path, { op: 'status' })).to.deep.equal({ echoed: { op: 'status' } });
    });

    it('refuses a socket folder that group or others may write', async () => {
      for (const mode of [0o777, 0o775, 0o1777]) {
        const dir = join(tempDir(), 'sock');
        mkdirSync(dir);
        chmodSync(dir, mode);
        const e = await rejection(new IpcServer({ path: join(dir, 'agent.sock'), handler: echo }).listen());
        expect(e.code).to.equal('ASC_AGENT_CONFIG');
        expect(e.message).to.match(/written by others/);
        expect(existsSync(join(dir, 'agent.sock'))).to.equal(false);
      }
      if (process.getuid?.() === 0) {
        const dir = join(tempDir(), 'theirs');
        mkdirSync(dir, { mode: 0o755 });
        spawnSync('chown', [`${NOBODY}:${NOBODY}`, dir]);
        const e = await rejection(new IpcServer({ path: join(dir, 'agent.sock'), handler: echo }).listen());
        expect(e.code).to.equal('ASC_AGENT_CONFIG');
        expect(e.message).to.match(/belongs to uid 65534/);
      }
    });

    it('ASC_AGENT_NOT_RUNNING names the socket when no agent is there; ASC_AGENT_PROTOCOL when one closes without an answer', async () => {
      const missing = join(tempDir(), 'none.sock');
      const e = await rejection(ipcCall(missing, { op: 'status' }));
      expect(e.code).to.equal('ASC_AGENT_NOT_RUNNING');
      expect(e.message).to.include(missing);
      expect(e.hint).to.match(/ascend agent run .* --socket/);

      const path = join(tempDir(), 'rude.sock');
      const rude = net.createServer((c) => {
        c.resume();
        c.end('{"kind":"event","status":"hi"}\n');
      });
      await new Promise<void>((r) => rude.listen(path, r));
      try {
        const events: unknown[] = [];
        const p = await rejection(ipcCall(path, { op: 'status' }, { onEvent: (f) => events.push(f) }));
        expect(p.code).to.equal('ASC_AGENT_PROTOCOL');
        expect(p.message).to.match(/without an answer/);
        expect(events).to.deep.equal([{ kind: 'event', status: 'hi' }]);
      } finally {
        await new Promise<void>((r) => rude.close(() => r()));
      }
    });

    it('times out a silent agent, a client that sends no request, and connections beyond the limit', async () => {
      // The handler answers only when its client goes away.
      const { path } = await serve((_req, ctx) => new Promise((r) => ctx.signal.addEventListener('abort', () => r('gone'))), {
        requestTimeoutMs: 200,
        maxConnections: 1,
      });
      const t = await rejection(ipcCall(path, { op: 'status' }, { timeoutMs: 200 }));
      expect(t.code).to.equal('ASC_AGENT_NOT_RUNNING');
      expect(t.message).to.match(/did not answer within 200 ms/);

      await waitFor(() => servers[0]?.connectionCount === 0);
      const silent = await rawExchange(path, '');
      expect((silent.frames[0]?.error as { message: string }).message).to.match(/no request within 200 ms/);
      await waitFor(() => servers[0]?.connectionCount === 0);

      // One connection held open; the next is answered with an error.
      const held = net.createConnection(path);
      await new Promise<void>((r) => held.once('connect', r));
      held.write('{"op":"hold"}\n');
      await new Promise((r) => setTimeout(r, 50));
      const over = await rejection(ipcCall(path, { op: 'status' }));
      expect(over.code).to.equal('ASC_AGENT_PROTOCOL');
      expect(over.message).to.match(/too many connections/);
      held.destroy();
    });

    it('close() aborts requests in flight, delivers their answers, and removes the socket file', async () => {
      const { path, server } = await serve(async (_req, ctx) => {
        await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
        throw ctx.signal.reason;
      });
      const pending = rejection(ipcCall(path, { op: 'elevate' }));
      await waitFor(() => server.connectionCount === 1);
      await server.close();
      const e = await pending;
      expect(e.code).to.equal('ASC_AGENT_NOT_RUNNING');
      expect(e.message).to.match(/stopping/);
      expect(existsSync(path)).to.equal(false);
      expect((await rejection(ipcCall(path, { op: 'status' }))).code).to.equal('ASC_AGENT_NOT_RUNNING');
      // Listening again on the same path works.
      await server.listen();
      servers.push(server);
    });
  });
});
