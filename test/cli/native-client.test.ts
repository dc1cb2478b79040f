/**
 * The native `ascend elevate` client, build/native/ascend-elevate (native/elevate-client.c,
 * issue 16): it must answer exactly as the lean Node client (bin/run.js) does.
 * - against a real root agent, as an unprivileged user: every case of the lean client's table,
 *   output of both streams, stdin larger than one chunk (accounts: prefix `asnc`);
 * - against a fake agent the test controls: hostile, oversized, truncated, non-UTF-8 frames, no
 *   result, a result then garbage, odd result values, lenient base64, strings Node decodes with
 *   U+FFFD (argv, environment, folder): the same stdout, stderr and exit status as the lean client,
 *   also from an AddressSanitizer/UBSan build of the same source;
 * - what it hands to Node (--help, --json, --passcode ...) gets Node's answer, found from the
 *   binary's own path, never from the current folder or PATH; signals are forwarded.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { requireComponent } from '../support/components.js';
import { elevateCases, startClientAgent, type ClientAgent } from '../support/client-agent.js';
import { startFakeAgent, type FakeAgent } from '../support/fake-agent.js';
import { bin, requireBuiltCli, root } from '../passcode-cli/support.js';

const NATIVE = path.join(root, 'build', 'native', 'ascend-elevate');

interface Raw {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs argv (as root) with the given environment, folder and stdin; output as latin1 (byte-exact). */
function run(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: Buffer; onSpawn?: (pid: number) => void; closeStdout?: boolean } = {}): Promise<Raw> {
  return new Promise((resolve) => {
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd: opts.cwd ?? '/',
      env: opts.env ?? { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
      stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (opts.input) {
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(opts.input);
    }
    if (child.pid) opts.onSpawn?.(child.pid);
    // The reader goes away before the output comes.
    if (opts.closeStdout) child.stdout?.destroy();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1') });
    });
  });
}

const lean = (args: readonly string[]): string[] => [process.execPath, bin, ...args];
const native = (args: readonly string[], binary = NATIVE): string[] => [binary, ...args];

const line = (o: object): string => `${JSON.stringify(o)}\n`;
const result = (value: unknown): string => line({ kind: 'result', ok: true, value });
const ok0 = result({ elevationId: 'e', exitCode: 0, signal: null });

/** Frames a hostile or broken agent may send (latin1 strings: one char, one byte). */
function hostileAnswers(): [string, string][] {
  const MiB = 1024 * 1024;
  const prefix = '{"kind":"stdout","data":"';
  const atLimit = `${prefix}${'QUJD'.repeat(MiB)}`.slice(0, MiB - 2) + '"}';
  const cases: [string, string][] = [
    ['output, an event, exit 3', `${line({ kind: 'stdout', data: Buffer.from('hello\n').toString('base64') })}${line({ kind: 'stderr', data: Buffer.from('warn\n').toString('base64') })}${line({ kind: 'event', message: 'waiting for approval' })}${result({ exitCode: 3, signal: null })}`],
    ['not JSON', '{bad\n'],
    ['JSON errors V8 words', '{"a":1,}\n'],
    ['leading zero', '{"a":01}\n'],
    ['control character in a string', '{"a":"\x01"}\n'],
    ['bad escape', '{"a":"\\x"}\n'],
    ['short unicode escape', '{"a":"\\u12"}\n'],
    ['text after the value', '{"a":1} x\n'],
    ['minus alone', '{"a":-}\n'],
    ['fraction without digits', '{"a":1.}\n'],
    ['exponent without digits', '{"a":1e}\n'],
    ['bad literal', '{"a":tru}\n'],
    ['no colon', '{"a" 1}\n'],
    ['open object', '{\n'],
    ['an escape character quoted by V8', '\x1b[31m\n'],
    ['empty line', '\n'],
    ['invalid UTF-8', '\xff\n'],
    ['overlong UTF-8', '{"a":"\xc0\xaf"}\n'],
    ['an encoded surrogate', '{"a":"\xed\xa0\x80"}\n'],
    ['UTF-8 cut short', '{"a":"\xe2\x82"}\n'],
    ['above U+10FFFF', '{"a":"\xf4\x90\x80\x80"}\n'],
    ['a BOM before the frame', `\xef\xbb\xbf${line({ kind: 'stdout', data: 'Ym9tCg==' })}\xef\xbb\xbf${ok0}`],
    ['an array', '[1]\n'],
    ['a string', '"x"\n'],
    ['null', 'null\n'],
    ['a number', '1\n'],
    ['a frame over 1 MiB', `${prefix}${'A'.repeat(MiB)}"}\n`],
    ['1 MiB and one byte without a newline', 'x'.repeat(MiB + 1)],
    ['a frame of exactly 1 MiB, then the result', `${atLimit}\n${ok0}`],
    ['a truncated result', ok0.slice(0, -1)],
    ['output and no result', line({ kind: 'stdout', data: 'aGk=' })],
    ['nothing at all', ''],
    ['a result then garbage', `${result({ exitCode: 5 })}\xff{{{\n${'x'.repeat(2 * MiB)}`],
    ['garbage before the result', `\xff\n${ok0}`],
    ['unknown kinds are ignored', `${line({ kind: 'weird', data: 'QQ==' })}${line({ kind: 7 })}${line({ nokind: true })}${result({ exitCode: 4 })}`],
    ['deep nesting skipped', `{"kind":"x","y":${'['.repeat(100000)}${']'.repeat(100000)}}\n${ok0}`],
    ['deep nesting left open', `{"kind":"x","y":${'['.repeat(500000)}\n`],
    ['duplicate keys: the last wins', '{"kind":"stdout","data":"QQ==","kind":"result","ok":true,"value":{"exitCode":6,"exitCode":7}}\n'],
    ['escaped kind', '{"kind":"res\\u0075lt","ok":true,"value":{"exitCode":8}}\n'],
    ['__proto__ member', '{"kind":"result","ok":true,"value":{"__proto__":{"exitCode":9}}}\n'],
    ['event text with controls, lone surrogates, NUL and astral', `${line({ kind: 'event', message: 'a\u001b[2Jb\u2028c\u202ed' })}{"kind":"event","message":"x\\ud800y\\udc00z\\u0000\\ud83d\\ude00"}\n${ok0}`],
    ['an event without a message', `${line({ kind: 'event', message: 5 })}${ok0}`],
    ['exit code 256', result({ exitCode: 256 })],
    ['exit code -1', result({ exitCode: -1 })],
    ['exit code 1e2', '{"kind":"result","ok":true,"value":{"exitCode":1e2}}\n'],
    ['exit code 1.5', result({ exitCode: 1.5 })],
    ['exit code beyond safe integers', '{"kind":"result","ok":true,"value":{"exitCode":9007199254740993}}\n'],
    ['exit code as a string', result({ exitCode: '3' })],
    ['exit code as a word', result({ exitCode: 'abc' })],
    ['exit code true', result({ exitCode: true })],
    ['exit code an object', result({ exitCode: {} })],
    ['signal SIGKILL', result({ exitCode: null, signal: 'SIGKILL' })],
    ['signal SIGTERM', result({ signal: 'SIGTERM' })],
    ['signal unknown', result({ exitCode: null, signal: 'SIGUSR1' })],
    ['signal toString', result({ exitCode: null, signal: 'toString' })],
    ['signal __proto__', result({ exitCode: null, signal: '__proto__' })],
    ['signal a number', result({ exitCode: null, signal: 5 })],
    ['signal an array', result({ exitCode: null, signal: ['constructor'] })],
    ['value an array', result([])],
    ['value a string', result('s')],
    ['value null', result(null)],
    ['no value', line({ kind: 'result', ok: true })],
    ['ok not a boolean', line({ kind: 'result', ok: 'yes', value: {} })],
    ['an error without its body', line({ kind: 'result', ok: false })],
    ['an error code not a string', line({ kind: 'result', ok: false, error: { code: 1, message: 'm' } })],
    ['an unknown error code', line({ kind: 'result', ok: false, error: { code: 'ASC_NOPE', message: 'no\u001bpe', hint: 'try' } })],
    ['a known error code', line({ kind: 'result', ok: false, error: { code: 'ASC_RULE_DENIED', message: 'denied', hint: 'ask' } })],
    ['ASC_USAGE exits 2', line({ kind: 'result', ok: false, error: { code: 'ASC_USAGE', message: 'bad line' } })],
    ['an empty hint', line({ kind: 'result', ok: false, error: { code: 'ASC_AGENT_PROTOCOL', message: 'm', hint: '' } })],
    ['a hint not a string', line({ kind: 'result', ok: false, error: { code: 'ASC_AGENT_PROTOCOL', message: 'm', hint: 3 } })],
    ['an error message with NUL and a lone surrogate', '{"kind":"result","ok":false,"error":{"code":"ASC_AGENT_PROTOCOL","message":"a\\u0000b\\udfffc"}}\n'],
  ];
  // Base64 as Buffer.from reads it: lenient, '=' ends it, url-safe letters, code units by their low byte.
  for (const data of ['QQ', 'Q', 'QUJD=RUY', 'QU JD\nRQ', '-_-_', 'é', 'ŁQUJD', '😀QQ==', '====', 'QUJDRA=', 'QQ==QQ==', '!!!!QUJD', 'QUJD\u0130']) {
    cases.push([`base64 ${JSON.stringify(data)}`, `${line({ kind: 'stdout', data })}${ok0}`]);
  }
  // Seeded random frames, JSON-ish and not.
  let seed = 16;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = '{}[]":,\\u0123456789abcdefAE ntrulsf-+.e\t=/QZ\x00\x1f\x7f\x80\xc3\xa9\xff';
  for (let i = 0; i < 12; i++) {
    let s = '{"kind":"stdout","data":"';
    for (let j = rand(60); j > 0; j--) s += alphabet[rand(alphabet.length)];
    cases.push([`random ${i}`, `${s}\n${ok0}`]);
  }
  return cases;
}

describe('native elevate client: answers as the lean client does', function () {
  this.timeout(600_000);
  let tmp: string;
  let fake: FakeAgent;
  let fakeSocket: string;

  before(async function () {
    requireComponent(this, process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0, 'root with setpriv (the agent creates accounts)', 'run the tests as root; apt-get install util-linux');
    requireComponent(this, spawnSync('cc', ['--version']).status === 0, 'a C compiler (cc)', 'apt-get install gcc');
    requireBuiltCli();
    if (!existsSync(NATIVE)) throw new Error('the native client is not built: run "npm run build"');
    tmp = mkdtempSync('/tmp/asnc-');
    chmodSync(tmp, 0o755);
    fakeSocket = path.join(tmp, 'fake.sock');
    fake = await startFakeAgent(fakeSocket);
  });

  after(async () => {
    await fake?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** One client against a fake agent of its own (the socket named by the case) answering `answer`. */
  async function againstFake(key: string, answer: string, argv: (socket: string) => string[], env?: NodeJS.ProcessEnv): Promise<Raw> {
    const socket = path.join(tmp, `${createHash('sha256').update(key).digest('hex').slice(0, 12)}.sock`);
    rmSync(socket, { force: true });
    const agent = await startFakeAgent(socket);
    agent.answer(Buffer.from(answer, 'latin1'));
    try {
      return await run(argv(socket), { env });
    } finally {
      await agent.stop();
    }
  }

  const leanAnswers = new Map<string, Promise<Raw>>();
  const elevateArgs = (socket: string): string[] => ['elevate', '--socket', socket, '--', '/usr/bin/true'];

  /** Both clients against a fake agent answering `answer`; they must say the same (the lean client's answer is kept per case). */
  async function sameAgainstFake(name: string, answer: string, binary = NATIVE): Promise<Raw> {
    const key = `${name}\0${answer}`;
    if (!leanAnswers.has(key)) leanAnswers.set(key, againstFake(key, answer, (socket) => lean(elevateArgs(socket))));
    // A sanitizer build: leaks of a process that exits at once are not findings.
    const env = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', ...(binary === NATIVE ? {} : { ASAN_OPTIONS: 'detect_leaks=0', UBSAN_OPTIONS: 'print_stacktrace=1' }) };
    // One after the other: the socket path (in some messages) is the case's own.
    const l = await (leanAnswers.get(key) as Promise<Raw>);
    const n = await againstFake(key, answer, (socket) => native(elevateArgs(socket), binary), env);
    expect(n, name).to.deep.equal(l);
    return n;
  }

  describe('a hostile or broken agent', () => {
    for (const [name, answer] of hostileAnswers()) {
      it(`${name}: the same output, error line and exit status`, async () => {
        await sameAgainstFake(name, answer);
      });
    }

    it('checks what it was shown: the wording of a case follows the lean client', async () => {
      const r = await sameAgainstFake('a frame over 1 MiB', `{"kind":"stdout","data":"${'A'.repeat(1024 * 1024)}"}\n`);
      expect(r).to.include({ status: 1, stderr: 'Error: a frame is larger than the 1048576-byte limit\n' });
      const t = await sameAgainstFake('truncated', ok0.slice(0, -1));
      expect(t.stderr).to.match(/^Error: the agent on \/tmp\/asnc-\w+\/\w+\.sock closed the connection without an answer\n$/);
    });

    it('an AddressSanitizer/UBSan build of the same source answers every hostile frame the same, without a report', async function () {
      // The build sits at <fake root>/build/native so that it finds Node's parts as the real one does.
      const fakeRoot = path.join(tmp, 'asan-root');
      mkdirSync(path.join(fakeRoot, 'build', 'native'), { recursive: true });
      for (const part of ['bin', 'dist']) symlinkSync(path.join(root, part), path.join(fakeRoot, part));
      const asan = path.join(fakeRoot, 'build', 'native', 'ascend-elevate');
      const cc = spawnSync(
        'cc',
        ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', '-g', '-O1', '-std=c11', '-Wall', '-Wextra', '-Werror', `-I${path.join(root, 'build', 'native')}`, `-DASCEND_NODE=${JSON.stringify(process.execPath)}`, path.join(root, 'native', 'elevate-client.c'), '-o', asan],
        { encoding: 'utf8' },
      );
      requireComponent(this, cc.status === 0 || !/sanitizer|asan|ubsan/i.test(cc.stderr), 'AddressSanitizer (libasan, libubsan)', 'apt-get install gcc');
      expect(cc.status, cc.stderr).to.equal(0);
      const cases = hostileAnswers();
      for (let i = 0; i < cases.length; i += 4) {
        await Promise.all(
          cases.slice(i, i + 4).map(async ([name, answer]) => {
            const r = await sameAgainstFake(name, answer, asan);
            expect(r.stderr, `${name} (sanitizers)`).to.not.match(/AddressSanitizer|runtime error|UndefinedBehavior/);
          }),
        );
      }
    });
  });

  describe('the request, as Node makes it', () => {
    it('argv, folder and environment with invalid UTF-8, controls and duplicates: the same request', async () => {
      const odd = path.join(tmp, 'odd');
      mkdirSync(odd);
      // A folder whose name is not UTF-8, a relative program path, a relative PATH entry.
      const script = [
        `mkdir -p $'${odd}/d\\xfe\\xc0x' && cd $'${odd}/d\\xfe\\xc0x' && mkdir -p rel && ln -sf /usr/bin/true rel/true`,
        `export LANG=$'C.\\xffUTF-8' LC_ALL=$'x\\xed\\xa0\\x80y' LC_lower=no LCX=no TERM=xterm TZ= COLUMNS=80 SECRET=no`,
        `export PATH="rel:/usr/bin"`,
        `exec "$@" --socket ${fakeSocket} --justify $'why\\x01\\x1f"\\\\\\xf0\\x9f\\x98' --otp 123456 -- "$PROG" $'a\\xffb\\xe0\\x80c\\xed\\xa0\\x80d\\xf0\\x9f\\x98\\x80e\\xf4\\x90\\x80\\x80' '' -1 - $'\\t\\n\\x7f'`,
      ].join('\n');
      for (const prog of ['true', 'rel/../rel/./true', '../d\u00fe/x', '/usr//bin/../bin/true/']) {
        fake.answer(Buffer.from(ok0));
        const from = fake.received.length;
        const env = { PATH: '/usr/bin:/bin', PROG: prog };
        const [l, n] = await Promise.all([run(['bash', '-c', script, 'x', ...lean(['elevate'])], { env }), run(['bash', '-c', script, 'x', ...native(['elevate'])], { env })]);
        expect(n, prog).to.deep.equal(l);
        const requests = fake.received.slice(from).map((b) => JSON.parse(b.toString('utf8').split('\n')[0] as string));
        expect(requests, `${prog}: ${l.stderr}`).to.have.length(2);
        expect(requests[1], prog).to.deep.equal(requests[0]);
      }
    });

    it('stdin: every byte in base64 stdin frames, then stdin-end; the request first', async () => {
      const input = Buffer.alloc(700 * 1024 + 7);
      for (let i = 0; i < input.length; i++) input[i] = (i * 7919) % 251;
      fake.answer(Buffer.alloc(0), { close: false });
      const from = fake.received.length;
      const child = run(native(['elevate', '--socket', fakeSocket, '--', '/usr/bin/true']), { input });
      const deadline = Date.now() + 60_000;
      while (!fake.received[from]?.includes('"op":"stdin-end"')) {
        if (Date.now() > deadline) throw new Error('no stdin-end');
        await new Promise((r) => setTimeout(r, 50));
      }
      const frames = (fake.received[from] as Buffer).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { op: string; data?: string });
      expect(frames[0]?.op).to.equal('elevate');
      expect(frames.at(-1)).to.deep.equal({ op: 'stdin-end' });
      const data = Buffer.concat(frames.slice(1, -1).map((f) => (expect(f.op).to.equal('stdin'), expect(f.data).to.match(/^[A-Za-z0-9+/]*={0,2}$/), Buffer.from(f.data as string, 'base64'))));
      expect(data.equals(input)).to.equal(true);
      await fake.stop();
      fake = await startFakeAgent(fakeSocket);
      expect((await child).stderr).to.match(/closed the connection without an answer/);
    });

    it('closed standard descriptors: opened on /dev/null as Node does, so the socket never takes fd 0', async () => {
      for (const redirect of ['<&-', '<&- 2>&-']) {
        fake.answer(Buffer.from(`${line({ kind: 'stdout', data: 'b2sK' })}${result({ exitCode: 2 })}`));
        const script = `exec "$@" ${redirect}`;
        const args = ['elevate', '--socket', fakeSocket, '--', '/usr/bin/true'];
        const [l, n] = await Promise.all([run(['bash', '-c', script, 'x', ...lean(args)]), run(['bash', '-c', script, 'x', ...native(args)])]);
        expect(n, redirect).to.deep.equal(l);
        expect(n).to.include({ status: 2, stdout: 'ok\n' });
      }
    });

    it('a reader that closed its end of stdout: the output ends quietly, the exit status stays the program\'s', async () => {
      const big = line({ kind: 'stdout', data: Buffer.alloc(200_000, 0x61).toString('base64') });
      const answer = `${big}${big}${line({ kind: 'stderr', data: 'ZXJyCg==' })}${result({ exitCode: 4 })}`;
      for (const client of [lean, native]) {
        const socket = path.join(tmp, 'epipe.sock');
        rmSync(socket, { force: true });
        const agent = await startFakeAgent(socket);
        agent.answer(Buffer.from(answer));
        const r = await run(client(elevateArgs(socket)), { closeStdout: true });
        await agent.stop();
        expect(r, client === lean ? 'lean' : 'native').to.deep.include({ status: 4, signal: null, stderr: 'err\n' });
      }
    });

    it('connection errors (no such socket, refused, permission denied): the lean client\'s line, answered natively', async () => {
      const refused = path.join(tmp, 'refused.sock');
      rmSync(refused, { force: true });
      // Bound, never listening: connect() is refused.
      expect(spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', refused]).status).to.equal(0);
      const closed = path.join(tmp, 'closed');
      mkdirSync(closed, { mode: 0o700 });
      const denied = path.join(closed, 'agent.sock');
      const deniedAgent = await startFakeAgent(denied);
      // A copy with no Node and no bin/run.js three folders up: it can only answer by itself.
      const alone = path.join(tmp, 'alone', 'build', 'native', 'ascend-elevate');
      mkdirSync(path.dirname(alone), { recursive: true });
      copyFileSync(NATIVE, alone);
      chmodSync(path.join(tmp, 'alone'), 0o755);
      try {
        for (const socket of [path.join(tmp, 'none.sock'), refused, denied]) {
          const args = ['elevate', '--socket', socket, '--', '/usr/bin/true'];
          const asNobody = (argv: string[]): string[] => ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', '--', ...argv];
          const [l, n, a] = await Promise.all([run(asNobody(lean(args))), run(asNobody(native(args))), run(asNobody(native(args, alone)))]);
          expect(n, socket).to.deep.equal(l);
          expect(a, socket).to.deep.equal(l);
          expect(n.stderr, socket).to.match(/^Error: no agent answers on .* \((no such socket|connection refused|permission denied)\) \(start the agent/);
        }
      } finally {
        await deniedAgent.stop();
      }
    });

    it('SIGINT goes to the agent as a signal frame; the same signal twice ends the client by it, as the lean client does', async () => {
      for (const client of [lean, native]) {
        fake.answer(Buffer.alloc(0), { close: false });
        const from = fake.received.length;
        let pid = 0;
        const done = run(client(['elevate', '--socket', fakeSocket, '--', '/usr/bin/true']), { onSpawn: (p) => (pid = p) });
        const until = async (what: string): Promise<void> => {
          const deadline = Date.now() + 60_000;
          while (!fake.received[from]?.toString().includes(what)) {
            if (Date.now() > deadline) throw new Error(`no ${what}`);
            await new Promise((r) => setTimeout(r, 50));
          }
        };
        await until('"op":"elevate"');
        process.kill(pid, 'SIGINT');
        await until('{"op":"signal","signal":"SIGINT"}');
        process.kill(pid, 'SIGINT');
        const r = await done;
        expect(r, client === lean ? 'lean' : 'native').to.deep.include({ status: null, signal: 'SIGINT', stdout: '' });
      }
    });

    it('SIGINT still reaches the agent, and twice ends the client, while its stdout is a reader that never drains', async () => {
      // 40 stdout frames of 192 KiB: far more than a pipe holds, so the client blocks writing to fd 1.
      const frame = `${JSON.stringify({ kind: 'stdout', data: Buffer.alloc(192 * 1024, 0x61).toString('base64') })}\n`;
      fake.answer(Buffer.from(frame.repeat(40)), { close: false });
      const from = fake.received.length;
      const child = spawn(NATIVE, ['elevate', '--socket', fakeSocket, '--', '/usr/bin/true'], { stdio: ['ignore', 'pipe', 'pipe'] });
      // stdout is never read: the pipe fills and stays full.
      child.stderr.resume();
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      const poll = async (what: string, ok: () => boolean): Promise<void> => {
        const deadline = Date.now() + 60_000;
        while (!ok()) {
          if (Date.now() > deadline) throw new Error(`no ${what}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      // Blocked in write(2) on fd 1: /proc/PID/syscall starts with "1 0x1 " (x86-64) or "64 0x1 " (arm64).
      const inWrite = (): boolean => {
        try {
          return /^(1|64) 0x1 /.test(readFileSync(`/proc/${String(child.pid)}/syscall`, 'utf8'));
        } catch {
          return false;
        }
      };
      await poll('write to a full stdout', inWrite);
      process.kill(child.pid as number, 'SIGINT');
      await poll('signal frame at the agent', () => Boolean(fake.received[from]?.toString().includes('{"op":"signal","signal":"SIGINT"}')));
      process.kill(child.pid as number, 'SIGINT');
      const r = await Promise.race([exited, new Promise<'alive'>((resolve) => setTimeout(() => resolve('alive'), 60_000))]);
      if (r === 'alive') child.kill('SIGKILL');
      expect(r).to.deep.equal({ code: null, signal: 'SIGINT' });
    });
  });

  describe('what goes to Node', () => {
    it('--help, -h, --json, --passcode, bad lines, other commands: Node answers, found from the binary, not from the folder or PATH', async () => {
      // A folder and a PATH offering their own node and bin/run.js: neither may be used.
      const trap = path.join(tmp, 'trap');
      mkdirSync(path.join(trap, 'bin'), { recursive: true });
      writeFileSync(path.join(trap, 'bin', 'run.js'), 'console.log("TRAPPED")\n');
      writeFileSync(path.join(trap, 'node'), '#!/bin/sh\necho TRAPPED\n', { mode: 0o755 });
      // A symlink to the binary elsewhere: the real path counts.
      const link = path.join(trap, 'ascend-elevate');
      symlinkSync(NATIVE, link);
      const env = { PATH: `${trap}:/usr/bin:/bin`, LANG: 'C.UTF-8', NODE_PATH: trap };
      for (const args of [
        ['elevate', '--help'],
        ['elevate', '--socket', 'x', '--help', '--', 'true'],
        ['elevate', '-h', '--', '/usr/bin/true'],
        ['elevate', '--json', '--', '/usr/bin/true'],
        ['elevate', '--passcode', path.join(tmp, 'missing.ascpass'), '--', '/usr/bin/true'],
        ['elevate', '--bogus'],
        ['elevate', '--', 'no-such-program-asnc'],
        ['elevate', '--socket=', '--', '/usr/bin/true'],
        ['elevate', '--socket', path.join(tmp, 'x'.repeat(120)), '--', '/usr/bin/true'],
        ['tse', 'status', '--socket', path.join(tmp, 'none.sock')],
        ['--version'],
      ]) {
        const [l, n, viaLink] = await Promise.all([run(lean(args), { env, cwd: trap }), run(native(args), { env, cwd: trap }), run(native(args, link), { env, cwd: trap })]);
        expect(n, args.join(' ')).to.deep.equal(l);
        expect(viaLink, args.join(' ')).to.deep.equal(l);
        expect(n.stdout + n.stderr, args.join(' ')).to.not.include('TRAPPED');
      }
    });
  });

  describe('against a real agent, as an unprivileged user', () => {
    let agent: ClientAgent;

    before(async () => {
      agent = await startClientAgent({
        user: 'asncuser',
        prefix: 'asnc',
        computer: 'NATIVE-PC',
        extraRules: [{ name: 'sha256sum', value: JSON.stringify({ action: 'allow', match: { path: '/usr/bin/sha256sum' } }) }],
      });
    });

    after(async () => {
      await agent?.stop();
    });

    /** One client's run; the shadow-utils lock held by another program on this shared machine is waited out, not compared. */
    async function once(argv: string[], input?: Buffer): Promise<{ status: number | null; stdout: string; stderr: string }> {
      for (let attempt = 1; ; attempt++) {
        const r = await agent.asUser(argv, { input });
        if (attempt === 5 || !/account files are locked by another program/.test(r.stderr)) return r;
        await new Promise((res) => setTimeout(res, 1000));
      }
    }

    async function same(args: readonly string[], input?: Buffer): Promise<{ status: number | null; stdout: string; stderr: string }> {
      const l = await once(lean(args), input);
      const n = await once(native(args), input);
      expect(n, `${args.join(' ')}\n${agent.log.text.slice(-2000)}`).to.deep.equal(l);
      return n;
    }

    it("every case of the lean client's table: the same stdout, stderr and exit status", async () => {
      const cases = elevateCases(agent.tmp, agent.socket);
      for (const args of cases) await same(args);
      expect((await same(['elevate', '--', 'echo', 'a', '-x', '--y', 'a'])).stdout).to.equal('a -x --y a\n');
      expect((await same(['elevate', '--justify', 'ticket 4711: a test', '--', 'printf', '%s|', 'x', 'y'])).stdout).to.equal('x|y|');
      const refused = await same(['elevate', '--', '/usr/bin/ls', '/']);
      expect(refused.status).to.not.equal(0);
      expect(refused.stderr.trimEnd().split('\n')).to.have.length(1);
    });

    it('every byte of the program on both streams, then its exit status', async () => {
      const r = await same(['elevate', '--', path.join(agent.rootOwned, 'both.sh')]);
      expect(r.status).to.equal(3);
      expect(r.stdout.split('\n')).to.have.length(3001);
      expect(r.stderr.split('\n')[2999]).to.equal('err line 2999');
    });

    it('stdin of 1 MiB and more reaches the program intact', async () => {
      const input = Buffer.alloc(1024 * 1024 + 4099);
      for (let i = 0; i < input.length; i++) input[i] = (i * 31 + (i >> 10)) & 0xff;
      const want = `${createHash('sha256').update(input).digest('hex')}  -\n`;
      const r = await once(native(['elevate', '--', 'sha256sum']), input);
      expect(r, agent.log.text.slice(-2000)).to.deep.equal({ status: 0, stdout: want, stderr: '' });
    });
  });
});
