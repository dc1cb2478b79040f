/**
 * Stress tests for two races an agent test once lost on a busy machine (issue 16):
 *
 * - Output: every byte an elevated program writes reaches the client before the exit status,
 *   whatever the scheduling. Programs that write a lot right before they exit, exit at once,
 *   or leave a child holding the pipe, many at a time, under CPU load, through the real agent
 *   socket (and a few through the `ascend elevate` CLI as an unprivileged user).
 * - Events: an elevation's event is on disk before its program runs, and a kill -9 of the
 *   agent at any point of an elevation (account made, program held, running, writing, exited)
 *   loses none and duplicates none at a real collector: every elevation whose program ran has
 *   exactly one process-elevated event there, with the collector up or down at the kill.
 *
 * Real parts (root): the built CLI's agent, a real collector, real ephemeral accounts
 * (prefix asr...), CPU hogs as busy neighbours.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { requireComponent } from '../support/components.js';
import { ascend, bin, cliEnv, requireBuiltCli, root, type Run } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';
import { spooledEvents } from '../support/spool-events.js';
import { Spool, type SpoolEvent } from '../../agent/spool/spool.js';
import { Uploader } from '../../agent/spool/uploader.js';
import { ipcCall } from '../../agent/ipc/client.js';
import Database from 'better-sqlite3';
import { TseStore, type TseSession, type UnrecordedEvent } from '../../agent/tse/store.js';
import { AuditTrail } from '../../agent/daemon/audit.js';
import { Sessions } from '../../agent/daemon/sessions.js';

const USER = 'asrtuser';
const SH = '/usr/bin/dash';

function accountsWithPrefix(prefix: string): string[] {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/**
 * The accounts with `prefix` once none is left, or those left at a generous deadline: an
 * account is removed after the elevation's result goes out (agent/executor/linux.ts finish).
 */
async function accountsGone(prefix: string, deadlineMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + deadlineMs;
  while (accountsWithPrefix(prefix).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  return accountsWithPrefix(prefix);
}

/** Every event in the agent's spool folder now (id, type, args), read-only. */
function spooled(stateDir: string): { id: string; type: string; args?: string }[] {
  return spooledEvents(stateDir) as unknown as { id: string; type: string; args?: string }[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(what: string, cond: () => boolean, timeoutMs: number, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Busy loops on every core (and one more), so the agent, its children and the clients are scheduled late. */
function cpuHogs(): ChildProcess[] {
  return Array.from({ length: cpus().length + 1 }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
}

function stopAll(children: ChildProcess[]): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** The expected output of `seq 1 n`. */
function seqText(n: number): string {
  let s = '';
  for (let i = 1; i <= n; i++) s += `${i}\n`;
  return s;
}

describe('agent stress: output before the exit status, and every event once across kill -9 (root, real collector)', function () {
  this.timeout(180_000);
  const prefix = `asr${randomBytes(2).toString('hex')}_`;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let socket: string;
  let stateDir: string;
  let policyFile: string;
  let dataDir: string;
  let collector: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  const agentLog = { text: '' };
  let url = '';
  let port = '0';
  let adminToken = '';
  const hogs: ChildProcess[] = [];
  const run = (...args: string[]): Run => ascend(args, env, tmp);

  function waitForText(child: ChildProcess, seen: { text: string }, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(seen.text);
        if (!m) return;
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        child.off('exit', gone);
        resolve(m);
      };
      const gone = (): void => {
        clearTimeout(timer);
        reject(new Error(`exited while waiting for ${re}:\n${seen.text}`));
      };
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}:\n${seen.text}`)), timeoutMs);
      child.stdout?.on('data', check);
      child.stderr?.on('data', check);
      child.once('exit', gone);
      check();
    });
  }

  async function startCollector(): Promise<void> {
    const seen = { text: '' };
    collector = spawn(process.execPath, [bin, 'server', 'start', '--port', port, '--data', dataDir], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    collector.stdout?.on('data', (d: Buffer) => (seen.text += d.toString()));
    collector.stderr?.on('data', (d: Buffer) => (seen.text += d.toString()));
    const m = await waitForText(collector, seen, /listening on (https:\/\/127\.0\.0\.1:(\d+))/, 60_000);
    url = m[1] as string;
    port = m[2] as string;
  }

  async function stopCollector(): Promise<void> {
    const c = collector;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    }
  }

  async function startAgent(extra: string[] = []): Promise<void> {
    agentLog.text = '';
    agent = spawn(process.execPath, [bin, 'agent', 'run', '--state-dir', stateDir, '--socket', socket, '--policy', policyFile, '--computer', 'ASR-PC', '--collector', url, ...extra], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout?.on('data', (d: Buffer) => (agentLog.text += d.toString()));
    agent.stderr?.on('data', (d: Buffer) => (agentLog.text += d.toString()));
    await waitForText(agent, agentLog, /agent listening on/, 60_000);
  }

  async function killAgent(): Promise<void> {
    const a = agent;
    if (a && a.exitCode === null && a.signalCode === null) {
      const exited = new Promise((r) => a.once('exit', r));
      a.kill('SIGKILL');
      await exited;
    }
  }

  /** One elevation through the socket (as root: the rules are for everyone); output kept per stream, in order, with where the result came. */
  function elevate(argv: string[]): Promise<{ stdout: string; stderr: string; value?: { exitCode: number | null }; error?: Error; framesAfterResult: number }> {
    const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    return ipcCall(socket, { op: 'elevate', argv, cwd: '/' }, {
      onEvent: (frame) => {
        if ((frame.kind === 'stdout' || frame.kind === 'stderr') && typeof frame.data === 'string') out[frame.kind].push(Buffer.from(frame.data, 'base64'));
      },
    }).then(
      (value) => ({ stdout: Buffer.concat(out.stdout).toString(), stderr: Buffer.concat(out.stderr).toString(), value: value as { exitCode: number | null }, framesAfterResult: 0 }),
      (error: Error) => ({ stdout: Buffer.concat(out.stdout).toString(), stderr: Buffer.concat(out.stderr).toString(), error, framesAfterResult: 0 }),
    );
  }

  before(async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent creates accounts)', 'run the tests as root');
    requireBuiltCli();
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-asr-'));
    chmodSync(tmp, 0o755);
    socket = path.join(tmp, 'agent.sock');
    stateDir = path.join(tmp, 'state');
    dataDir = path.join(tmp, 'collector');
    env = cliEnv(tmp, { ASCEND_CA_FILE: path.join(dataDir, 'tls', 'ca.pem') });
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    const add = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', USER], { encoding: 'utf8' });
    expect(add.status, add.stderr).to.equal(0);
    policyFile = path.join(tmp, 'Registry.pol');
    const rule = (name: string, json: object) => ({ name, value: JSON.stringify(json) });
    const key = run('keys', 'init', '--key-file', 'signing.pem', '--json');
    expect(key.status, key.stderr).to.equal(0);
    writeFileSync(
      policyFile,
      writeRegistryPol([
        ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'TemporarySessionElevation'), 'enabled', {
          TrustedKeys: [{ name: key.json.key.kid, value: key.json.key.publicKey }],
        }),
        ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
          Rules: [
            rule('env', { action: 'allow', match: { path: '/usr/bin/env' } }),
            rule('seq', { action: 'allow', match: { path: '/usr/bin/seq' } }),
            rule('sh', { action: 'allow', match: { path: SH } }),
          ],
        }),
        ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: prefix, MaxLifetimeMinutes: 480, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
      ]),
    );
    await startCollector();
    adminToken = path.join(dataDir, 'bootstrap-admin-token');
    const enroll = run('server', 'enroll-token', 'create', '--server', url, '--token-file', adminToken, '--json');
    expect(enroll.status, enroll.stderr).to.equal(0);
    const tokenFile = path.join(tmp, 'enroll-token');
    writeFileSync(tokenFile, enroll.json.token, { mode: 0o600 });
    await startAgent(['--enroll-token-file', tokenFile]);
  });

  afterEach(() => {
    stopAll(hogs.splice(0));
  });

  after(async () => {
    stopAll(hogs.splice(0));
    await killAgent();
    await stopCollector();
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    for (const name of accountsWithPrefix(prefix)) spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('output: every byte reaches the client before the exit status, under CPU load, for programs that write a lot right before they exit', async () => {
    hogs.push(...cpuHogs());
    // Each: the program, what it must have written to stdout, and to stderr.
    const cases: { argv: string[]; stdout: string | RegExp; stderr?: string }[] = [
      // A fast program whose whole output is written at its exit.
      { argv: ['/usr/bin/env'], stdout: /^PATH=\/usr\/local\/sbin:/m },
      // A lot of output (several pipe buffers and socket frames), then exit.
      { argv: ['/usr/bin/seq', '1', '60000'], stdout: seqText(60000) },
      // Output on both streams right before exiting.
      { argv: [SH, '-c', 'seq 1 3000; seq 1 2000 >&2; exit 0'], stdout: seqText(3000), stderr: seqText(2000) },
      // The last write comes after a pause, then the program exits at once.
      { argv: [SH, '-c', 'sleep 0.05; seq 1 8000'], stdout: seqText(8000) },
      // A child keeps the pipe open after the program exited; the program's output still arrives.
      { argv: [SH, '-c', 'seq 1 4000; sleep 30 & exit 0'], stdout: seqText(4000) },
    ];
    const failures: string[] = [];
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      const results = await Promise.all(cases.map((c) => elevate(c.argv)));
      results.forEach((r, i) => {
        const c = cases[i] as (typeof cases)[number];
        const label = `round ${round}, ${c.argv.join(' ')}`;
        if (r.error) failures.push(`${label}: ${r.error.message}`);
        else if (r.value?.exitCode !== 0) failures.push(`${label}: exit ${String(r.value?.exitCode)}`);
        const stdoutOk = typeof c.stdout === 'string' ? r.stdout === c.stdout : c.stdout.test(r.stdout);
        if (!stdoutOk) failures.push(`${label}: stdout ${r.stdout.length} bytes, ${JSON.stringify(r.stdout.slice(0, 40))}...${JSON.stringify(r.stdout.slice(-20))}`);
        if (c.stderr !== undefined && r.stderr !== c.stderr) failures.push(`${label}: stderr ${r.stderr.length} bytes, expected ${c.stderr.length}`);
      });
    }
    // And through the CLI, as a user: the approval test's `env`, a few times under load.
    const cli = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = spawn('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', '--', process.execPath, bin, 'elevate', '--socket', socket, '--', 'env'], {
              cwd: tmp,
              env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: tmp, NO_COLOR: '1' },
              stdio: ['ignore', 'pipe', 'pipe'],
            });
            let stdout = '';
            let stderr = '';
            child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
            child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
            child.on('close', (status) => resolve({ status, stdout, stderr }));
          }),
      ),
    );
    for (const r of cli) {
      if (r.status !== 0) failures.push(`CLI env: exit ${r.status}: ${r.stderr}`);
      else if (!/^PATH=\/usr\/local\/sbin:/m.test(r.stdout)) failures.push(`CLI env: stdout ${JSON.stringify(r.stdout.slice(0, 80))}`);
    }
    expect(failures, agentLog.text.slice(-3000)).to.deep.equal([]);
    expect(await accountsGone(prefix)).to.deep.equal([]);
  });

  it('events: kill -9 of the agent at any point of an elevation, collector up or down, loses none and duplicates none at the collector', async () => {
    // The program says it runs (with its own tag), writes, and keeps running until the agent is gone.
    const program = (tag: string): string[] => [SH, '-c', `echo RUN ${tag}; seq 1 20000; sleep 60`, tag];
    type Point = 'account' | 'spooled' | 'running' | 'writing' | 'exited' | 'random';
    const points: { point: Point; collectorUp: boolean }[] = [
      { point: 'account', collectorUp: false },
      { point: 'spooled', collectorUp: false },
      { point: 'writing', collectorUp: true },
      { point: 'exited', collectorUp: false },
      { point: 'random', collectorUp: true },
    ];
    const ran = new Set<string>();
    const everSpooled = new Map<string, { id: string; type: string; args?: string }>();
    const noteSpool = (): void => {
      for (const e of spooled(stateDir)) everSpooled.set(e.id, e);
    };
    for (const [i, { point, collectorUp }] of points.entries()) {
      const tag = `t${i}x${randomBytes(3).toString('hex')}`;
      if (!collectorUp) await stopCollector();
      else if (collector?.exitCode !== null) await startCollector();
      // The earlier elevation's account is removed after its result: gone before this one is counted.
      expect(await accountsGone(prefix)).to.deep.equal([]);
      const accountsBefore = accountsWithPrefix(prefix).length;
      let sawRun = false;
      const argv = point === 'exited' ? [SH, '-c', `echo RUN ${tag}; seq 1 2000`, tag] : program(tag);
      const outcome = ipcCall(socket, { op: 'elevate', argv, cwd: '/' }, {
        onEvent: (frame) => {
          if (frame.kind === 'stdout' && typeof frame.data === 'string' && Buffer.from(frame.data, 'base64').toString().includes(`RUN ${tag}`)) sawRun = true;
        },
      }).then(
        () => 'result',
        () => 'no result',
      );
      const started = Date.now();
      switch (point) {
        case 'account':
          await until('the account', () => accountsWithPrefix(prefix).length > accountsBefore, 60_000, 2);
          break;
        case 'spooled':
          await until('the event in the spool', () => spooled(stateDir).some((e) => e.type === 'process-elevated' && (e.args ?? '').includes(tag)), 60_000, 2);
          break;
        case 'running':
          await until('the program running', () => sawRun, 60_000, 2);
          break;
        case 'writing':
          await until('the program running', () => sawRun, 60_000, 2);
          await sleep(5);
          break;
        case 'exited':
          // The program has exited; the agent may still be removing its account.
          await outcome;
          break;
        case 'random':
          await sleep(Math.floor(Math.random() * 1500));
          break;
      }
      noteSpool();
      await killAgent();
      if (sawRun) ran.add(tag);
      await outcome;
      if (sawRun) ran.add(tag);
      noteSpool();
      if (collector?.exitCode !== null) await startCollector();
      await startAgent();
      expect(accountsWithPrefix(prefix), `the orphan is removed at start (${point}, ${Date.now() - started} ms)`).to.deep.equal([]);
    }
    if (collector?.exitCode !== null) await startCollector();
    noteSpool();
    // Every program that ran (its output reached a client) has its event in the spool ...
    const elevatedTags = [...everSpooled.values()].filter((e) => e.type === 'process-elevated').map((e) => /\b(t\d+x[0-9a-f]{6})\b/.exec(e.args ?? '')?.[1]);
    for (const tag of ran) expect(elevatedTags.filter((t) => t === tag), `the event of ${tag}, which ran`).to.have.length(1);
    // ... and at the collector every spooled elevation arrives once: none lost, none twice.
    const wanted = new Set([...everSpooled.values()].filter((e) => e.type === 'process-elevated').map((e) => e.id));
    let rows: { eventId: string; args: string }[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = run('report', 'elevations', '--server', url, '--token-file', adminToken, '--computer', 'ASR-PC', '--json');
      expect(r.status, r.stderr).to.equal(0);
      rows = r.json.rows;
      if ([...wanted].every((id) => rows.some((row) => row.eventId === id)) || Date.now() > deadline) break;
      await sleep(500);
    }
    expect(new Set(rows.map((r) => r.eventId)).size, 'no event twice').to.equal(rows.length);
    expect([...wanted].filter((id) => !rows.some((row) => row.eventId === id)), 'spooled elevations missing at the collector').to.deep.equal([]);
    for (const tag of ran) expect(rows.filter((row) => row.args.includes(tag)), `the collector's row of ${tag}`).to.have.length(1);
    expect(ran.size, 'the killed elevations that had started (while writing, after exit)').to.be.at.least(2);
  });

  it('events: kill -9 of the agent right after a TSE session is saved and before its event is written: the event arrives once', async function () {
    requireComponent(this, spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0, 'strace (injects the delay that exposes the window)', 'apt-get install strace');
    if (collector?.exitCode !== null) await startCollector();
    const issued = run('passcode', 'new', '--title', 'asr kill', '--max-uses', '1', '--duration', '10m', '--out', 'asr.ascpass', '--json');
    expect(issued.status, issued.stderr).to.equal(0);
    chmodSync(path.join(tmp, 'asr.ascpass'), 0o644);
    expect(run('server', 'passcode', 'register', 'asr.ascpass', '--server', url, '--token-file', adminToken).status).to.equal(0);
    const tseFile = path.join(stateDir, 'tse-state.json');
    const sessions = (): { sessionId: string; passcodeTitle: string }[] => (existsSync(tseFile) ? (JSON.parse(readFileSync(tseFile, 'utf8')) as { sessions: { sessionId: string; passcodeTitle: string }[] }).sessions : []);
    // Every rename(2) of the agent (how a state file is replaced) returns 5 s late: the kill
    // lands after the session is on disk and before the agent's next step.
    const pid = agent?.pid as number;
    const tracer = spawn('strace', ['-f', '-qq', '-o', '/dev/null', '-p', String(pid), '-e', 'trace=rename,renameat,renameat2', '-e', 'inject=rename,renameat,renameat2:delay_exit=5000000'], { stdio: 'ignore' });
    try {
      await until('strace attached', () => /TracerPid:\s+[1-9]/.test(readFileSync(`/proc/${pid}/status`, 'utf8')), 30_000);
      await sleep(300);
      const redeem = new Promise<void>((resolve) => {
        const child = spawn('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', '--', process.execPath, bin, 'tse', 'redeem', '--socket', socket, 'asr.ascpass'], {
          cwd: tmp,
          env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: tmp, NO_COLOR: '1' },
          stdio: 'ignore',
        });
        child.on('close', () => resolve());
      });
      await until('the session on disk', () => sessions().some((x) => x.passcodeTitle === 'asr kill'), 60_000, 5);
      await killAgent();
      await redeem;
    } finally {
      tracer.kill('SIGKILL');
    }
    const session = sessions().find((x) => x.passcodeTitle === 'asr kill');
    expect(session, 'the session was saved').to.not.equal(undefined);
    await startAgent();
    const sessionId = (session as { sessionId: string }).sessionId;
    const spooledHere = (): number => spooled(stateDir).filter((e) => e.type === 'passcode-redeemed' && (e as { sessionId?: string }).sessionId === sessionId).length;
    // At the collector: once (its events table, read-only).
    const db = new Database(path.join(dataDir, 'collector.db'), { readonly: true, fileMustExist: true });
    let atCollector = 0;
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        atCollector = (db.prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'passcode-redeemed' AND session_id = ?").get(sessionId) as { n: number }).n;
        if (atCollector > 0 || Date.now() > deadline) break;
        await sleep(500);
      }
    } finally {
      db.close();
    }
    expect(atCollector + spooledHere(), `the passcode-redeemed event of session ${sessionId}\n${agentLog.text.slice(-2000)}`).to.be.greaterThan(0);
    expect(atCollector, 'stored once at the collector').to.equal(1);
  });
});

describe('spool on a full disk: an append it acknowledged is never lost, nor one after a failed append (root: a small tmpfs)', function () {
  this.timeout(60_000);
  let mnt = '';

  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (mounts a small tmpfs)', 'run the tests as root');
    mnt = mkdtempSync(path.join(tmpdir(), 'ascend-asr-fs-'));
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'asr-spool', mnt], { encoding: 'utf8' });
    expect(m.status, m.stderr).to.equal(0);
  });

  after(() => {
    if (!mnt) return;
    spawnSync('umount', [mnt], { stdio: 'ignore' });
    rmSync(mnt, { recursive: true, force: true });
  });

  it('keeps every event an append returned as stored, across a full disk and a restart', async () => {
    const dir = path.join(mnt, 'spool');
    const ev = (id: string, bytes = 10): SpoolEvent => ({ id, type: 'process-elevated', time: 1_700_000_000_000, message: 'x'.repeat(bytes) });
    let spool = await Spool.open(dir, { maxBytes: 1024 * 1024 });
    const stored: string[] = [];
    const tryAppend = async (e: SpoolEvent): Promise<void> => {
      const r = await spool.append([e]).catch(() => ({ stored: 0 }));
      if (r.stored === 1) stored.push(e.id);
    };
    await tryAppend(ev('before-full'));
    // Fill the file system: what is left is the unused tail of the segment's last page.
    const filler = path.join(mnt, 'filler');
    const chunk = Buffer.alloc(4096);
    try {
      for (;;) appendFileSync(filler, chunk);
    } catch {
      // full
    }
    // Larger than that tail: the kernel writes part of it (a short write) or refuses it.
    await tryAppend(ev('while-full', 9000));
    await tryAppend(ev('while-full-small', 100));
    rmSync(filler);
    await tryAppend(ev('after-full'));
    await spool.close();
    // The agent starts again on the same folder.
    spool = await Spool.open(dir, { maxBytes: 1024 * 1024 });
    const batch = await spool.read();
    await spool.close();
    const read = batch.events.map((e) => e.id);
    expect(stored, 'appends before and after the full disk succeed').to.include.members(['before-full', 'after-full']);
    expect(read, `stored ${JSON.stringify(stored)}`).to.deep.equal(stored);
  });
});

describe('TSE session events across a kill between the session change and its event (state files, no agent)', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ascend-asr-tse-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const session = (id: string, now: number, unrecorded?: UnrecordedEvent[]): Omit<TseSession, 'ended'> => ({
    sessionId: id,
    passcodeId: 'p-1',
    passcodeTitle: 'Helpdesk',
    uid: 1000,
    user: 'alice',
    startedAt: now - 120_000,
    endsAt: now - 60_000,
    endProcesses: false,
    groups: ['S-1-5-32-544'],
    privileges: [],
    integrity: 'High',
    ...(unrecorded ? { unrecorded } : {}),
  });

  it('spools at the next start the redeemed and ended events a killed agent saved but had not spooled, under their ids, once', async () => {
    const now = Date.now();
    // The first agent: a session saved with its redeemed event, then ended with its expiry event; killed before either was spooled.
    const first = await TseStore.open(dir);
    const redeemed: UnrecordedEvent = { eventId: 'ev-redeemed-1', type: 'passcode-redeemed', fields: { user: 'alice', passcodeId: 'p-1', sessionId: 's-1' } };
    expect(await first.startSession(session('s-1', now, [redeemed]), 0)).to.equal(true);
    await first.endSession('s-1', 'expired', { eventId: 'ev-expired-1', type: 'session-expired', fields: { user: 'alice', passcodeId: 'p-1', sessionId: 's-1' } });
    // The next start: its sessions catch up with their events.
    const start = async (): Promise<Spool> => {
      const tse = await TseStore.open(dir);
      const spool = await Spool.open(path.join(dir, 'spool'));
      const audit = new AuditTrail({ spool, computer: 'PC', now: Date.now, collects: () => true });
      await new Sessions(tse, { passcodePolicy: undefined } as never, audit, new Map(), () => undefined).catchUp();
      return spool;
    };
    let spool = await start();
    const events = (await spool.read()).events.map((e) => `${e.type}:${e.id}:${(e as { sessionId?: string }).sessionId}`);
    await spool.close();
    expect(events).to.deep.equal(['passcode-redeemed:ev-redeemed-1:s-1', 'session-expired:ev-expired-1:s-1']);
    // Spooled once: a further start writes them not again.
    spool = await start();
    expect((await spool.read()).events).to.have.length(2);
    await spool.close();
    expect((await TseStore.open(dir)).unrecordedEvents()).to.deep.equal([]);
  });
});

describe('uploader: an event spooled while a batch is being read is sent at once, not after the idle interval', () => {
  it('keeps a nudge that comes during a read of an empty spool', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ascend-asr-up-'));
    const spool = await Spool.open(dir);
    const sent: string[] = [];
    const uploader = new Uploader(spool, async (events) => {
      sent.push(...events.map((e) => e.id));
      return { kind: 'stored' };
    }, { idleMs: 600_000 });
    const stop = new AbortController();
    const running = uploader.run(stop.signal);
    try {
      // The uploader's first read of the (empty) spool is queued; this append comes after it, and the nudge while it runs.
      const appended = spool.append([{ id: 'late-1', type: 'policy-applied', time: 1_700_000_000_000 }]);
      uploader.nudge();
      await appended;
      await until('the event sent', () => sent.includes('late-1'), 10_000);
    } finally {
      stop.abort();
      await running;
      await spool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
