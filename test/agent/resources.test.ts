/**
 * Issue 12, finding 8 (resource exhaustion) and the parent read at accept, against a real
 * agent (`ascend agent run`, built CLI) as root, with real unprivileged users (h6t...):
 *
 * - stdin is paced: `cat /dev/zero | ascend elevate -- sleep 30` does not grow the agent (its
 *   VmRSS stays within a bound over its baseline, and the writer is held back), and nothing
 *   stays behind once the client is killed;
 * - connection limits per uid with a reserve for root: a user holding 70 idle connections
 *   gets 8, is refused the rest with the limit named (logged once), and another user and root
 *   are still served;
 * - the parent process is read at accept: a client that exits right after sending its
 *   request is still known to be a child of dash, so a deny rule naming dash as the parent
 *   denies it (read later, the parent was gone and the rule did not apply).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { requireComponent } from '../support/components.js';
import { ascend, cliEnv, requireBuiltCli } from '../passcode-cli/support.js';
import { addUser, AgentProcess, asUser, bin, cleanupDir, removeUsersWithPrefix, rule, sleep, tempDir, until, writePolicy } from './h6-support.js';

const USER_A = 'h6ta';
const USER_B = 'h6tb';
const MiB = 1024 * 1024;

describe('agent resources: stdin pacing, per-uid connection limits, parent read at accept (root, real users)', function () {
  this.timeout(120_000);
  const prefix = `h6te${randomBytes(2).toString('hex')}_`;
  let tmp: string;
  let agent: AgentProcess;
  let env: NodeJS.ProcessEnv;
  let uidA = -1;
  const children: ChildProcess[] = [];

  const status = (): { elevationsRunning: number } => {
    const r = ascend(['agent', 'status', '--socket', agent.socket, '--json'], env, tmp);
    expect(r.status, r.stderr).to.equal(0);
    return r.json;
  };

  before(async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent creates accounts)', 'run the tests as root');
    requireBuiltCli();
    tmp = tempDir('res');
    env = cliEnv(tmp);
    uidA = addUser(USER_A);
    addUser(USER_B);
    const policy = path.join(tmp, 'Registry.pol');
    writePolicy(
      policy,
      [
        rule('sleep for everyone', { action: 'allow', match: { path: '/usr/bin/sleep' } }),
        rule('true with a reason', { action: 'allow', match: { path: '/usr/bin/true' }, controls: ['justify'] }),
      ],
      [rule('no true from dash', { action: 'deny', match: { path: '/usr/bin/true', parent: '/usr/bin/dash' } })],
      prefix,
    );
    agent = new AgentProcess(path.join(tmp, 'agent.sock'), path.join(tmp, 'state'), policy, env);
    await agent.start();
  });

  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  after(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await agent?.stop();
    removeUsersWithPrefix(prefix);
    spawnSync('userdel', ['-r', USER_A], { stdio: 'ignore' });
    spawnSync('userdel', ['-r', USER_B], { stdio: 'ignore' });
    cleanupDir(tmp);
  });

  it('paces stdin: an endless writer into a program that does not read leaves the agent within a memory bound, also after the client is killed', async () => {
    // Warm up (the first elevation loads code), then take the baseline.
    const warm = await asUser(USER_A, ['elevate', '--', '/usr/bin/sleep', '0'], agent.socket, tmp);
    expect(warm.status, warm.stderr + agent.log.text).to.equal(0);
    const baseline = agent.rss();

    const writer = spawn('cat', ['/dev/zero'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(writer);
    const client = spawn('setpriv', ['--reuid', USER_A, '--regid', USER_A, '--init-groups', '--', process.execPath, bin, 'elevate', '--', '/usr/bin/sleep', '30'], {
      cwd: tmp,
      env: { PATH: '/usr/bin:/bin', HOME: tmp, ASCEND_AGENT_SOCKET: agent.socket },
      stdio: [writer.stdout, 'ignore', 'pipe'],
    });
    children.push(client);
    let clientErr = '';
    client.stderr?.on('data', (d: Buffer) => (clientErr += d.toString()));
    const written = (): number => Number(/^wchar:\s+(\d+)/m.exec(readFileSync(`/proc/${writer.pid}/io`, 'utf8'))?.[1] ?? 0);

    await until(() => status().elevationsRunning >= 1 || client.exitCode !== null, 'the elevation to start');
    expect(client.exitCode, clientErr + agent.log.text).to.equal(null);
    // Watch until the writer has pushed 256 MiB (an agent that buffers it all) or the flow has
    // settled: over a second without 1 MiB more written, after at least two seconds of running.
    let peak = agent.rss();
    const started = Date.now();
    let lastBytes = written();
    let lastChange = Date.now();
    for (;;) {
      await sleep(100);
      peak = Math.max(peak, agent.rss());
      const bytes = written();
      if (bytes - lastBytes > MiB) {
        lastBytes = bytes;
        lastChange = Date.now();
      }
      if (bytes >= 256 * MiB) break;
      if (Date.now() - started > 2_000 && Date.now() - lastChange > 1_000) break;
    }
    const total = written();
    expect(total, `the writer was not held back: ${total} bytes written`).to.be.below(64 * MiB);
    expect(peak - baseline, `agent RSS grew from ${baseline} to ${peak}`).to.be.below(64 * MiB);

    // The client goes: the program is hung up on, its account removed, nothing held.
    client.kill('SIGKILL');
    writer.kill('SIGKILL');
    await until(() => status().elevationsRunning === 0, 'the elevation to end after its client was killed');
    expect(agent.rss() - baseline, 'agent RSS after the client left').to.be.below(64 * MiB);
  });

  it('limits connections per uid with a reserve for root: 70 idle connections of one user leave other users and root served', async () => {
    const holder = path.join(tmp, 'hold.mjs');
    // Opens N connections and sends nothing; reopens those the agent closes for idling; on a
    // line on stdin opens one more and reports what it got.
    writeFileSync(
      holder,
      `import net from 'node:net';
const [sock, n] = process.argv.slice(2);
const answers = [];
let accepted = 0;
function open(onAnswer) {
  const s = net.createConnection(sock);
  let buf = '';
  let answered = false;
  s.on('data', (d) => {
    buf += d;
    if (!answered && buf.includes('\\n')) {
      answered = true;
      const f = JSON.parse(buf.slice(0, buf.indexOf('\\n')));
      onAnswer(f);
    }
  });
  s.on('error', () => {});
  s.on('close', () => { if (answered && /no request within/.test(buf)) open(() => {}); });
  return s;
}
for (let i = 0; i < Number(n); i++) open((f) => answers.push(f.error && f.error.message));
const start = Date.now();
const wait = () => {
  if (answers.length >= Number(n) - 8 || Date.now() - start > 3000) {
    process.stdout.write(JSON.stringify({ ready: true, refused: answers.length, messages: [...new Set(answers)] }) + '\\n');
  } else setTimeout(wait, 20);
};
wait();
process.stdin.on('data', () => {
  const t = setTimeout(() => process.stdout.write(JSON.stringify({ extra: null }) + '\\n'), 1500);
  open((f) => { clearTimeout(t); process.stdout.write(JSON.stringify({ extra: f.error ? f.error.message : 'served' }) + '\\n'); });
});
`,
    );
    const hold = spawn('setpriv', ['--reuid', USER_A, '--regid', USER_A, '--init-groups', '--', process.execPath, holder, agent.socket, '70'], {
      cwd: tmp,
      env: { PATH: '/usr/bin:/bin', HOME: tmp },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(hold);
    let out = '';
    hold.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    hold.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const lines = (): Record<string, unknown>[] => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const logBefore = agent.log.text.length;

    await until(() => lines().some((l) => l.ready), `the holder to open its connections: ${out}`);
    const ready = lines().find((l) => l.ready) as { refused: number; messages: string[] };
    expect(ready.refused, JSON.stringify(ready)).to.equal(62);
    expect(ready.messages).to.have.length(1);
    expect(ready.messages[0]).to.match(new RegExp(`too many connections to the agent from uid ${uidA} \\(8 open; the limit is 8 per user\\)`));

    // The 71st is refused at once with the limit named.
    hold.stdin?.write('one more\n');
    await until(() => lines().some((l) => 'extra' in l), 'the 71st connection to be answered');
    expect((lines().find((l) => 'extra' in l) as { extra: string | null }).extra).to.match(/the limit is 8 per user/);
    // As the CLI shows it: one line naming the limit.
    const over = await asUser(USER_A, ['agent', 'status'], agent.socket, tmp);
    expect(over.status).to.not.equal(0);
    expect(over.stderr.trim().split('\n')[0]).to.match(new RegExp(`too many connections to the agent from uid ${uidA} \\(8 open; the limit is 8 per user\\)`));

    // Another user and root are served meanwhile.
    const b = await asUser(USER_B, ['agent', 'status', '--json'], agent.socket, tmp);
    expect(b.status, b.stderr).to.equal(0);
    expect(JSON.parse(b.stdout).pid).to.equal(agent.pid);
    const r = ascend(['agent', 'status', '--socket', agent.socket, '--json'], env, tmp);
    expect(r.status, r.stderr).to.equal(0);

    // Logged once for the uid, not once per refused connection.
    const log = agent.log.text.slice(logBefore);
    const refusals = log.split('\n').filter((l) => l.includes(`a connection of uid ${uidA} refused`));
    expect(refusals, log).to.have.length(1);
    // Once the holder is gone, its slots are free again.
    hold.kill('SIGKILL');
    await until(async () => (await asUser(USER_A, ['agent', 'status', '--json'], agent.socket, tmp)).status === 0, 'the user to be served again');
  });

  it('reads the parent at accept: a client that exits right after its request is still known as a child of dash', async () => {
    const quick = path.join(tmp, 'quick.mjs');
    // Connects, sends the request and exits at once (before the agent looks up the account).
    writeFileSync(
      quick,
      `import net from 'node:net';
const s = net.createConnection(process.argv[2], () => {
  s.write(JSON.stringify({ op: 'elevate', argv: ['/usr/bin/true', '${prefix}quick'], cwd: '/', justification: 'a reason long enough' }) + '\\n', () => process.exit(0));
});
`,
    );
    const before = agent.events().length;
    // dash runs the client as a child (not exec: a second command follows) and reaps it.
    const r = spawnSync('setpriv', ['--reuid', USER_A, '--regid', USER_A, '--init-groups', '--', '/bin/sh', '-c', `"${process.execPath}" "${quick}" "${agent.socket}"; sleep 0.2`], {
      cwd: tmp,
      env: { PATH: '/usr/bin:/bin', HOME: tmp },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).to.equal(0);
    // Known as dash's child, the deny rule applies: "elevation-denied". Had the parent been read
    // after the client was gone and taken as none, true would have been allowed, and its
    // justification recorded (the program itself is not started for a client that left).
    const mine = (): Record<string, unknown>[] => agent.events().slice(before).filter((e) => typeof e.args === 'string' && (e.args as string).includes(`${prefix}quick`));
    await until(() => mine().some((e) => e.type === 'elevation-denied' || e.type === 'justification'), `the decision on true to be recorded:\n${agent.log.text}`);
    const decided = mine().find((e) => e.type === 'elevation-denied' || e.type === 'justification') as Record<string, unknown>;
    expect(decided.type, JSON.stringify(decided)).to.equal('elevation-denied');
    expect(String(decided.rule)).to.include('no true from dash');
  });
});
