/**
 * Issue 12 finding 4 (audit evasion), with real parts: the built agent (`ascend agent run`),
 * a real collector (`ascend server start`), unprivileged users and real ephemeral accounts.
 * An elevation with a 40 KB argument is elevated and reaches the collector cut, with its
 * marker, length and SHA-256, and another user's elevation in the same batch is stored too;
 * offline, 50 identical denials make two events, not fifty; a flood of padded denials leaves
 * room for the next elevation's event, and when the spool is truly full an elevation is
 * refused with one clear line before anything runs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { requireComponent } from '../support/components.js';
import { ascend, bin, cliEnv, requireBuiltCli, root, type Run } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';
import { decodeRecord } from '../../agent/spool/record.js';
import type { SpoolEvent } from '../../agent/spool/spool.js';

const USER_A = 'h4ta';
const USER_B = 'h4tb';

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

function waitForText(child: ChildProcess, seen: { text: string }, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(seen.text);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        resolve(m);
      }
    };
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}:\n${seen.text}`)), timeoutMs);
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    check();
  });
}

async function poll<T>(what: string, fn: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** The events in a spool folder, read-only (what the agent has spooled and not yet sent). */
function spooled(stateDir: string): SpoolEvent[] {
  const dir = path.join(stateDir, 'spool');
  const position = existsSync(path.join(dir, 'position.json')) ? (JSON.parse(readFileSync(path.join(dir, 'position.json'), 'utf8')) as { segment: number; offset: number }) : { segment: 0, offset: 0 };
  const out: SpoolEvent[] = [];
  for (const f of readdirSync(dir).filter((x) => /^seg-\d{10}\.log$/.test(x)).sort()) {
    const n = Number(f.slice(4, 14));
    if (n < position.segment) continue;
    const buf = readFileSync(path.join(dir, f));
    let offset = n === position.segment ? position.offset : 0;
    for (;;) {
      const r = decodeRecord(buf, offset);
      if (!('payload' in r)) break;
      out.push(JSON.parse(r.payload.toString('utf8')) as SpoolEvent);
      offset = r.end;
    }
  }
  return out;
}

function rule(name: string, json: object) {
  return { name, value: JSON.stringify(json) };
}

/** One test machine: a policy, an agent (started and stopped at will), users that call it. */
class Bench {
  tmp = mkdtempSync(path.join(tmpdir(), 'h4t-audit-'));
  socket = path.join(this.tmp, 'agent.sock');
  stateDir = path.join(this.tmp, 'state');
  policyFile = path.join(this.tmp, 'Registry.pol');
  env = cliEnv(this.tmp);
  agent: ChildProcess | undefined;
  agentLog = { text: '' };

  constructor(readonly prefix: string) {
    chmodSync(this.tmp, 0o755);
    const entries = [
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
        Rules: [
          rule('true for everyone', { action: 'allow', match: { path: '/usr/bin/true' } }),
          rule('id for everyone', { action: 'allow', match: { path: '/usr/bin/id' } }),
          rule('touch for everyone', { action: 'allow', match: { path: '/usr/bin/touch' } }),
        ],
      }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: prefix, MaxLifetimeMinutes: 60, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
    ];
    writeFileSync(this.policyFile, writeRegistryPol(entries));
  }

  run(...args: string[]): Run {
    return ascend(args, this.env, this.tmp);
  }

  lastArgs: string[] = [];

  async startAgent(extra: string[]): Promise<void> {
    this.lastArgs = extra;
    this.agentLog.text = '';
    const agent = spawn(process.execPath, [bin, 'agent', 'run', '--state-dir', this.stateDir, '--socket', this.socket, '--policy', this.policyFile, '--computer', 'H4T-PC', ...extra], {
      cwd: root,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.agent = agent;
    agent.stderr?.on('data', (d: Buffer) => (this.agentLog.text += d.toString()));
    await waitForText(agent, this.agentLog, /agent listening on/, 60_000);
  }

  async stopAgent(): Promise<void> {
    const agent = this.agent;
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((r) => agent.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
    this.agent = undefined;
  }

  /** `ascend ARGS` as an unprivileged user (the agent learns the uid from the kernel). */
  asUser(user: string, args: string[], timeoutMs = 60_000): Promise<Outcome> {
    return this.spawnAs(user, [bin, ...args], timeoutMs);
  }

  /** `count` elevate requests in one process as `user`, argv from the function (fast: one node start). */
  requestsAs(user: string, argvs: string[][]): Promise<Outcome> {
    const client = path.join(root, 'dist', 'agent', 'ipc', 'client.js');
    const script =
      `const { ipcCall } = await import(${JSON.stringify(client)});` +
      `const { readFileSync } = await import('node:fs');` +
      `const argvs = JSON.parse(readFileSync(process.env.H4T_ARGVS, 'utf8'));` +
      `let refused = 0;` +
      `for (const argv of argvs) { try { await ipcCall(${JSON.stringify(this.socket)}, { op: 'elevate', argv, cwd: '/' }); } catch (e) { refused++; if (e.code !== 'ASC_ELEVATION_DENIED') { console.error(e.code, e.message); process.exit(3); } } }` +
      `console.log('refused ' + refused);`;
    const file = path.join(this.tmp, `argvs-${randomBytes(4).toString('hex')}.json`);
    writeFileSync(file, JSON.stringify(argvs), { mode: 0o644 });
    return this.spawnAs(user, ['--input-type=module', '-e', script], 120_000, { H4T_ARGVS: file });
  }

  private spawnAs(user: string, args: string[], timeoutMs: number, extraEnv: Record<string, string> = {}): Promise<Outcome> {
    return new Promise((resolve) => {
      const child = spawn('setpriv', ['--reuid', user, '--regid', user, '--init-groups', '--', process.execPath, ...args], {
        cwd: this.tmp,
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: this.tmp, NO_COLOR: '1', ASCEND_AGENT_SOCKET: this.socket, ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  }

  async cleanup(): Promise<void> {
    await this.stopAgent();
    for (const name of accountsWithPrefix(this.prefix)) spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

describe('audit trail: no elevation escapes the record (issue 12 finding 4; root, real agent and collector)', function () {
  this.timeout(180_000);

  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent creates accounts)', 'run the tests as root');
    requireBuiltCli();
    for (const user of [USER_A, USER_B]) {
      spawnSync('userdel', ['-r', user], { stdio: 'ignore' });
      const add = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', user], { encoding: 'utf8' });
      expect(add.status, add.stderr).to.equal(0);
    }
  });
  after(() => {
    for (const user of [USER_A, USER_B]) spawnSync('userdel', ['-r', user], { stdio: 'ignore' });
  });

  describe('with a collector', () => {
    let bench: Bench;
    let dataDir = '';
    let adminToken = '';
    let collector: ChildProcess | undefined;
    let url = '';
    let port = '0';

    async function startCollector(): Promise<void> {
      const c = spawn(process.execPath, [bin, 'server', 'start', '--port', port, '--data', dataDir], { cwd: root, env: bench.env, stdio: ['ignore', 'pipe', 'pipe'] });
      collector = c;
      const seen = { text: '' };
      c.stdout?.on('data', (d: Buffer) => (seen.text += d.toString()));
      c.stderr?.on('data', (d: Buffer) => (seen.text += d.toString()));
      const m = await waitForText(c, seen, /listening on (https:\/\/127\.0\.0\.1:(\d+))/, 30_000);
      url = m[1] as string;
      // Admin commands trust the collector's own CA (made at its first start in DATA/tls).
      bench.env.ASCEND_CA_FILE = path.join(dataDir, 'tls', 'ca.pem');
      port = m[2] as string;
    }
    async function stopCollector(): Promise<void> {
      const c = collector;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await exited;
      }
      collector = undefined;
    }
    function report(name: 'elevations' | 'denied'): Record<string, string | null>[] {
      const r = bench.run('report', name, '--server', url, '--token-file', adminToken, '--computer', 'H4T-PC', '--json');
      expect(r.status, r.stderr).to.equal(0);
      return r.json.rows;
    }

    before(async () => {
      bench = new Bench(`h4t${randomBytes(2).toString('hex')}_`);
      dataDir = path.join(bench.tmp, 'collector');
      adminToken = path.join(dataDir, 'bootstrap-admin-token');
      await startCollector();
      const enroll = bench.run('server', 'enroll-token', 'create', '--server', url, '--token-file', adminToken, '--json');
      expect(enroll.status, enroll.stderr).to.equal(0);
      const tokenFile = path.join(bench.tmp, 'enroll-token');
      writeFileSync(tokenFile, enroll.json.token, { mode: 0o600 });
      await bench.startAgent(['--collector', url, '--enroll-token-file', tokenFile]);
    });
    // Each test starts with both running, whatever the one before left.
    beforeEach(async () => {
      if (!collector) await startCollector();
      if (!bench.agent) await bench.startAgent(['--collector', url]);
    });
    after(async () => {
      await bench?.stopAgent();
      await stopCollector();
      await bench?.cleanup();
    });

    it('elevates a program with a 40 KB argument and its event reaches the collector cut, with marker, length and SHA-256; another user\'s elevation in the same batch is stored too', async () => {
      // The collector is down while both happen, so both wait in the spool and leave in one batch.
      await stopCollector();
      const pad = 'a'.repeat(40960);
      const big = await bench.asUser(USER_A, ['elevate', '--', '/usr/bin/true', 'x', pad]);
      expect(big.status, big.stderr + bench.agentLog.text).to.equal(0);
      const other = await bench.asUser(USER_B, ['elevate', '--', '/usr/bin/id', '-un']);
      expect(other.status, other.stderr + bench.agentLog.text).to.equal(0);
      await bench.stopAgent();
      const waiting = spooled(bench.stateDir).filter((e) => e.type === 'process-elevated');
      expect(waiting.map((e) => e.user)).to.deep.equal([USER_A, USER_B]);

      // The collector comes back; the agent's first batch carries both.
      await startCollector();
      await bench.startAgent(['--collector', url]);
      const rows = await poll('both elevations at the collector', () => {
        const r = report('elevations').filter((x) => x.user === USER_A || x.user === USER_B);
        return r.length >= 2 ? r : undefined;
      });
      const full = `x ${pad}`;
      const a = rows.find((x) => x.user === USER_A);
      const b = rows.find((x) => x.user === USER_B);
      expect(b?.processPath).to.equal('/usr/bin/id');
      expect(a?.processPath).to.equal('/usr/bin/true');
      expect(a?.args?.startsWith('x aaaa')).to.equal(true);
      expect(a?.args?.endsWith(`…[truncated: ${full.length} chars, sha256 ${sha256(full)}]`), a?.args?.slice(-120)).to.equal(true);
      expect(a?.args?.length).to.be.at.most(32768);
      expect(existsSync(path.join(bench.stateDir, 'spool', 'rejected.jsonl')), 'nothing set aside').to.equal(false);
    });

  });

  describe('offline, with a small spool', () => {
    let bench: Bench;
    const markers: string[] = [];
    const marker = () => {
      const m = path.join('/tmp', `h4t-marker-${randomBytes(6).toString('hex')}`);
      markers.push(m);
      return m;
    };

    before(async () => {
      bench = new Bench(`h4t${randomBytes(2).toString('hex')}_`);
      // 200,000 bytes: the last 25,000 (an eighth) are kept for elevation and session events.
      await bench.startAgent(['--spool-max-bytes', '200000']);
    });
    after(async () => {
      await bench?.cleanup();
      for (const m of markers) rmSync(m, { force: true });
    });

    it('records 50 identical denials as the first one at once and one event counting the other 49', async () => {
      const argv = ['/usr/bin/whoami', `--padding=${'p'.repeat(2000)}`];
      const r = await bench.requestsAs(USER_A, Array.from({ length: 50 }, () => argv));
      expect(r.status, r.stderr + bench.agentLog.text).to.equal(0);
      expect(r.stdout.trim()).to.equal('refused 50');
      const mine = () => spooled(bench.stateDir).filter((e) => e.type === 'elevation-denied' && e.user === USER_A && e.processPath === '/usr/bin/whoami');
      // The first is on disk before its request was answered; the repeats are only counted.
      const first = mine();
      expect(first).to.have.length(1);
      expect(first[0]?.data).to.equal(undefined);
      // Stopping closes the window: the repeats are spooled as one event with their count.
      await bench.stopAgent();
      const all = mine();
      expect(all).to.have.length(2);
      expect(all[1]).to.deep.include({ processPath: '/usr/bin/whoami', reason: first[0]?.reason, args: first[0]?.args });
      expect((all[1]?.data as { repeated?: number }).repeated).to.equal(49);
      expect(all[1]?.message).to.match(/\(repeated 49 more times from \S+ to \S+\)$/);
      await bench.startAgent(bench.lastArgs);
    });

    it('a flood of padded denials does not keep the next elevation out of the spool', async () => {
      // Distinct denials (no two alike, so none is folded into another): 30 KB ones, then
      // ever smaller ones that fill what is left to the last few hundred bytes.
      const sizes = [...Array(8).fill(30000), ...Array(6).fill(5000), ...Array(6).fill(1000), ...Array(12).fill(20)] as number[];
      const flood = sizes.map((n, i) => ['/usr/bin/whoami', `${i}-${'f'.repeat(n)}`]);
      const r = await bench.requestsAs(USER_A, flood);
      expect(r.status, r.stderr + bench.agentLog.text).to.equal(0);
      const afterFlood = spooled(bench.stateDir);
      const denials = afterFlood.filter((e) => e.type === 'elevation-denied' && typeof e.args === 'string' && /^\d+-f/.test(e.args)).length;
      expect(denials, 'the flood stopped short of the reserve').to.be.greaterThan(0).and.lessThan(sizes.length);

      const done = marker();
      const ok = await bench.asUser(USER_A, ['elevate', '--', '/usr/bin/touch', done]);
      expect(ok.status, ok.stderr + bench.agentLog.text).to.equal(0);
      expect(existsSync(done)).to.equal(true);
      const elevated = spooled(bench.stateDir).filter((e) => e.type === 'process-elevated');
      expect(elevated.map((e) => e.args)).to.deep.equal([done]);
      expect(elevated[0]?.pid).to.be.a('number');
    });

    it('refuses an elevation it cannot record, with one clear line, before anything runs', async () => {
      let refused: { outcome: Outcome; file: string } | undefined;
      for (let i = 0; i < 6 && !refused; i++) {
        // Earlier elevations' accounts are removed after their results: gone before this one.
        expect(await accountsGone(bench.prefix)).to.deep.equal([]);
        const file = marker();
        // The long name cannot be made (ENAMETOOLONG); the marker is, when touch runs.
        const outcome = await bench.asUser(USER_A, ['elevate', '--', '/usr/bin/touch', file, 'g'.repeat(30000)]);
        if (outcome.status === 0 || existsSync(file)) {
          // Recorded (the reserve still had room): it ran and its event is in the spool.
          expect(spooled(bench.stateDir).some((e) => e.type === 'process-elevated' && typeof e.args === 'string' && e.args.startsWith(file))).to.equal(true);
          continue;
        }
        refused = { outcome, file };
      }
      expect(refused, 'the spool never filled').to.not.equal(undefined);
      const { outcome, file } = refused as { outcome: Outcome; file: string };
      expect(outcome.status).to.equal(1);
      const lines = outcome.stderr.trimEnd().split('\n');
      expect(lines, outcome.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^Error: the elevation of \/usr\/bin\/touch is refused: the agent cannot record it because its event spool is full; nothing was started \(/);
      expect(existsSync(file), 'the program did not run').to.equal(false);
      expect(accountsWithPrefix(bench.prefix), 'no account was made for it').to.deep.equal([]);
      // The spool kept its bound.
      const status = bench.run('agent', 'status', '--socket', bench.socket, '--json');
      expect(status.status, status.stderr).to.equal(0);
      expect(status.json.collector.spool.bytes).to.be.at.most(200000);
    });
  });
});
