/**
 * Issue 16 (wall time): the result of an elevation goes out once the program's whole tree has
 * ended, and the removal of its account, queued work, home and cgroup goes on after it, never
 * skipped (agent/executor/linux.ts finish). As root, real accounts, real processes.
 *
 * In-process executor: the removal held by a test hook (ExecutorOptions.beforeRemoval, which
 * the agent never sets) shows the order: the tree has ended and the account exists when
 * `treeEnded` resolves; the orphan cleanup leaves a pending removal alone; close() waits for it;
 * a burst cannot pile up more than MAX_PENDING_REMOVALS pending removals.
 * Real agent (`ascend agent run`, the built CLI): the removal held by another program holding
 * shadow-utils' lock (/etc/.pwd.lock, as a running useradd would) shows that the client's result
 * arrives before the removal, with no process of the account left; kill -9 of the agent in that
 * gap leaves an account the next start removes; SIGTERM in that gap ends only once it is gone.
 * Accounts: prefix `h21e`.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LinuxExecutor, type ElevationExit, type ElevationSpec, type RunningElevation } from '../../agent/executor/index.js';
import { MAX_PENDING_REMOVALS } from '../../agent/executor/linux.js';
import { idTaken, nameTaken, type NssDb } from '../../agent/executor/nss.js';
import { commandWorks, requireComponent } from '../support/components.js';
import { bin, cliEnv, requireBuiltCli, root } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';

const PREFIX = 'h21ex_';
const AGENT_PREFIX = 'h21ea_';
const MINE = /^h21e/;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(pred: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** The /etc/passwd line of `name`, split in fields (read directly: no cache in between). */
function passwdOf(name: string): string[] | undefined {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === name);
}

function accountsLike(re: RegExp): string[] {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':')[0] ?? '')
    .filter((n) => re.test(n));
}

/** Live (not zombie) processes whose real, effective or saved uid is `uid`. */
function liveOfUid(uid: number): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^[0-9]+$/.test(n))) {
    let status = '';
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue;
    }
    const state = /^State:\s+(\S)/m.exec(status)?.[1];
    const uids = (/^Uid:\s+(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).slice(0, 3).map(Number);
    if (state !== 'Z' && state !== 'X' && uids.includes(uid)) out.push(Number(pid));
  }
  return out;
}

/** The executor's promise of the tree's end (the Linux executor has one). */
function treeEnded(r: RunningElevation): Promise<ElevationExit & { endedPids: number[] }> {
  if (!r.treeEnded) throw new Error('the executor has no treeEnded');
  return r.treeEnded;
}

function collect(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    stream.on('data', (d: Buffer) => (s += d.toString()));
    stream.on('end', () => resolve(s));
  });
}

/**
 * A program that leaves three processes behind (a daemon made with setsid -f that ignores
 * SIGTERM, so only the KILL after the grace ends it; a double fork; a plain background child
 * holding stdout), waits for `go`, and prints its uid.
 */
function leavesProcesses(go: string): string[] {
  return ['sh', '-c', `setsid -f sh -c 'trap "" TERM; exec sleep 300' >/dev/null 2>&1 </dev/null; (sleep 300 >/dev/null 2>&1 &) ; sleep 300 & while [ ! -e ${go} ]; do sleep 0.05; done; id -u`];
}

function removeMine(): void {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid] = line.split(':');
    if (!name || !MINE.test(name)) continue;
    if (Number(uid) > 0) spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '/bin/sh', '-c', 'kill -KILL -1']);
    spawnSync('userdel', [name]);
    if (passwdOf(name)) spawnSync('userdel', ['--force', name]);
  }
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const name = line.split(':')[0];
    if (name && MINE.test(name)) spawnSync('groupdel', [name]);
  }
}

describe('early result: the elevation result before the removal of its account (root)', function () {
  this.timeout(120_000);
  let tmp = '';
  const children: ChildProcess[] = [];

  before(function () {
    const isRoot = process.getuid?.() === 0;
    requireComponent(this, isRoot && commandWorks('setpriv', ['--version']) && commandWorks('setsid', ['--version']) && existsSync('/usr/sbin/useradd') && existsSync('/usr/bin/python3'), 'root with setpriv, setsid (util-linux), useradd (passwd) and python3', 'run as root; apt-get install util-linux passwd python3');
    requireComponent(this, existsSync(path.join(root, 'build', 'native', 'ascend-launch')), 'the launcher build/native/ascend-launch', 'npm run build');
    tmp = mkdtempSync('/tmp/h21e-');
    chmodSync(tmp, 0o755);
  });

  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    removeMine();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('the executor (in process)', () => {
    const executors: LinuxExecutor[] = [];
    function executor(over: Partial<ConstructorParameters<typeof LinuxExecutor>[0]> = {}): LinuxExecutor {
      const ex = new LinuxExecutor({ accountPrefix: PREFIX, homeRoot: path.join(tmp, 'homes'), stateDir: path.join(tmp, `state-${executors.length}`), maxLifetimeMs: 3_600_000, leftoverGraceMs: 300, ...over });
      executors.push(ex);
      return ex;
    }
    function spec(command: string[]): ElevationSpec {
      return { elevationId: randomUUID(), requester: { uid: 0, gid: 0, name: 'root' }, command, cwd: '/', groups: ['S-1-5-32-544'], integrity: 'High', stdio: 'pipe' };
    }
    const gates: (() => void)[] = [];
    /** A gate the removal hook waits at, opened by the test. */
    function gate(): { wait: Promise<void>; open: () => void; reached: () => boolean; hook: (id: string) => Promise<void> } {
      let open = (): void => undefined;
      const wait = new Promise<void>((r) => (open = r));
      gates.push(() => open());
      let reached = false;
      return {
        wait,
        open,
        reached: () => reached,
        hook: async () => {
          reached = true;
          await wait;
        },
      };
    }

    after(async () => {
      for (const open of gates) open();
      for (const ex of executors) await ex.close().catch(() => undefined);
    });

    it('ends every process the program left behind, then resolves treeEnded while the account exists; done removes it after', async () => {
      const g = gate();
      const ex = executor({ beforeRemoval: g.hook });
      const go = path.join(tmp, 'go-1');
      const r = await ex.start(spec(leavesProcesses(go)));
      const account = r.account as string;
      const out = collect(r.stdout);
      void collect(r.stderr);
      let removed = false;
      void r.done.then(() => (removed = true));
      await until(() => liveOfUid(r.uid).length >= 4, 'the program and what it left behind to run');
      writeFileSync(go, '');
      const ended = await treeEnded(r);
      // The tree is gone, the account is not (its removal waits at the gate).
      expect(liveOfUid(r.uid), 'processes of the account after treeEnded').to.deep.equal([]);
      expect(ended.code).to.equal(0);
      expect(ended.endedPids.length).to.be.at.least(3);
      expect(passwdOf(account), 'the account while its removal is pending').to.not.equal(undefined);
      expect((await out).trim()).to.equal(String(r.uid));
      await until(g.reached, 'the removal to start');
      expect(removed).to.equal(false);
      expect(ex.pendingRemovals).to.equal(1);
      g.open();
      const done = await r.done;
      expect(done.accountRemoved).to.equal(true);
      expect(passwdOf(account)).to.equal(undefined);
      expect(ex.pendingRemovals).to.equal(0);
    });

    it('the orphan cleanup leaves an account whose removal is pending to that removal', async () => {
      const g = gate();
      const ex = executor({ beforeRemoval: g.hook });
      const r = await ex.start(spec(['true']));
      const account = r.account as string;
      await treeEnded(r);
      await until(g.reached, 'the removal to start');
      // Asked by the agent with no elevation active (its own map dropped it with the result).
      const report = await ex.cleanupOrphans(new Set());
      expect(report.removedAccounts).to.not.include(account);
      expect(report.problems.join('\n')).to.not.include(account);
      expect(passwdOf(account), 'the account after the cleanup').to.not.equal(undefined);
      g.open();
      expect((await r.done).accountRemoved).to.equal(true);
      expect(passwdOf(account)).to.equal(undefined);
    });

    it('close() waits for the pending removals', async () => {
      const g = gate();
      const ex = executor({ beforeRemoval: g.hook });
      const r = await ex.start(spec(['true']));
      const account = r.account as string;
      await treeEnded(r);
      await until(g.reached, 'the removal to start');
      const closing = ex.close();
      // The gate opens only after close() was called: a close() that did not wait would resolve before.
      setTimeout(g.open, 300);
      await closing;
      expect(passwdOf(account), 'the account when close() resolved').to.equal(undefined);
      expect(ex.pendingRemovals).to.equal(0);
    });

    it(`a burst of 20 elevations never has more than ${MAX_PENDING_REMOVALS} removals pending, and leaves no account`, async () => {
      let allStarted = false;
      let ex: LinuxExecutor | null = null;
      let most = 0;
      const note = (): void => {
        most = Math.max(most, ex?.pendingRemovals ?? 0);
      };
      // Each removal waits until the bound is reached (or the burst is over): without the bound,
      // nothing would stop all 20 from pending at once.
      ex = executor({
        beforeRemoval: async () => {
          note();
          await until(() => (note(), allStarted || (ex?.pendingRemovals ?? 0) >= MAX_PENDING_REMOVALS), 'the bound or the end of the burst', 60_000);
        },
      });
      const accounts: string[] = [];
      const dones: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await ex.start(spec(['true']));
        note();
        accounts.push(r.account as string);
        dones.push(r.done);
        await treeEnded(r);
        note();
      }
      allStarted = true;
      await Promise.all(dones);
      await ex.removalsIdle();
      expect(most, 'removals pending at once').to.be.at.most(MAX_PENDING_REMOVALS);
      expect(most, 'the burst reached the bound').to.equal(MAX_PENDING_REMOVALS);
      for (const a of accounts) expect(passwdOf(a), a).to.equal(undefined);
      expect(accountsLike(new RegExp(`^${PREFIX}`))).to.deep.equal([]);
    });
  });

  describe('a real agent and client', () => {
    let socket = '';
    let stateDir = '';
    let policy = '';

    interface Agent {
      child: ChildProcess;
      log: { text: string };
      exited: Promise<unknown>;
    }

    const agents: Agent[] = [];
    afterEach(async () => {
      // A failed test leaves no agent behind for the next one.
      for (const a of agents.splice(0)) {
        if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
        await a.exited;
      }
    });

    async function startAgent(): Promise<Agent> {
      const log = { text: '' };
      const child = spawn(process.execPath, [bin, 'agent', 'run', '--state-dir', stateDir, '--socket', socket, '--policy', policy, '--computer', 'H21B-PC'], {
        cwd: root,
        env: cliEnv(tmp),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      child.stderr?.on('data', (d: Buffer) => (log.text += d.toString()));
      child.stdout?.on('data', (d: Buffer) => (log.text += d.toString()));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      agents.push({ child, log, exited });
      await Promise.race([until(() => /agent listening on/.test(log.text), 'the agent to listen', 60_000), exited.then(() => Promise.reject(new Error(`the agent exited:\n${log.text}`)))]);
      return { child, log, exited };
    }

    /** Runs `ascend elevate` (as root) and resolves with its outcome. */
    function elevate(argv: string[]): { result: Promise<{ status: number | null; stdout: string; stderr: string }> } {
      const child = spawn(process.execPath, [bin, 'elevate', '--socket', socket, '--', ...argv], { cwd: tmp, env: cliEnv(tmp), stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      const result = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      return { result };
    }

    /** Holds lckpwdf (an fcntl lock on /etc/.pwd.lock, as glibc and a running useradd take it) until released. */
    async function holdPwdLock(): Promise<() => void> {
      const holder = spawn('python3', ['-c', 'import fcntl,time\nf=open("/etc/.pwd.lock","a")\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint("locked", flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(holder);
      await new Promise<void>((resolve, reject) => {
        holder.stdout?.on('data', () => resolve());
        holder.once('exit', () => reject(new Error('the lock holder exited')));
      });
      return () => holder.kill('SIGKILL');
    }

    /**
     * An elevation whose result arrives while another program holds the account files' lock:
     * the client has returned, its account still exists, no process of it is left. Returns the
     * account and the lock's release.
     */
    async function resultWhileRemovalHeld(tag: string): Promise<{ account: string; release: () => void }> {
      const go = path.join(tmp, `go-${tag}`);
      const known = new Set(accountsLike(new RegExp(`^${AGENT_PREFIX}`)));
      const run = elevate(leavesProcesses(go));
      let account = '';
      await until(() => {
        account = accountsLike(new RegExp(`^${AGENT_PREFIX}`)).find((a) => !known.has(a)) ?? '';
        return account !== '';
      }, 'the elevation account');
      const uid = Number(passwdOf(account)?.[2]);
      await until(() => liveOfUid(uid).length >= 4, 'the program and what it left behind to run');
      const release = await holdPwdLock();
      try {
        writeFileSync(go, '');
        // The removal cannot get past the lock: the result must come without it.
        const r = await Promise.race([run.result, sleep(20_000).then(() => null)]);
        expect(r, 'the result while the removal was held').to.not.equal(null);
        expect(liveOfUid(uid), 'processes of the account when the client returned').to.deep.equal([]);
        expect(passwdOf(account), 'the account when the client returned (its removal held)').to.not.equal(undefined);
        expect(r?.status, r?.stderr).to.equal(0);
        expect(r?.stdout.trim()).to.equal(String(uid));
      } catch (e) {
        release();
        throw e;
      }
      return { account, release };
    }

    before(function () {
      requireComponent(this, process.arch === 'x64', 'x86_64 (the launcher)', 'run on x86_64');
      requireBuiltCli();
      socket = path.join(tmp, 'agent.sock');
      stateDir = path.join(tmp, 'agent-state');
      policy = path.join(tmp, 'Registry.pol');
      const entries = [
        ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', { Rules: [{ name: 'allow sh', value: JSON.stringify({ action: 'allow', match: { path: '/usr/bin/dash' } }) }] }),
        ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: AGENT_PREFIX, MaxLifetimeMinutes: 60, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
      ];
      writeFileSync(policy, writeRegistryPol(entries), { mode: 0o644 });
    });

    it('the result arrives once the tree has ended, before the account is removed; the removal follows', async () => {
      const agent = await startAgent();
      try {
        const { account, release } = await resultWhileRemovalHeld('order');
        release();
        await until(() => passwdOf(account) === undefined, 'the account to be removed after the result');
        // Its "elevation ended" line (after the removal) says it was removed.
        await until(() => agent.log.text.split('\n').some((l) => l.includes(' elevation ended {') && l.includes(`"account":"${account}"`)), 'the elevation ended line');
        const line = agent.log.text.split('\n').find((l) => l.includes(' elevation ended {') && l.includes(`"account":"${account}"`)) ?? '';
        expect(JSON.parse(line.slice(line.indexOf('{')))).to.include({ account, accountRemoved: true });
      } finally {
        agent.child.kill('SIGTERM');
        await agent.exited;
      }
    });

    it('a burst of 20 back-to-back elevations leaves no account behind', async () => {
      const agent = await startAgent();
      try {
        for (let i = 0; i < 20; i++) {
          const r = await elevate(['sh', '-c', 'id -u']).result;
          expect(r.status, r.stderr).to.equal(0);
        }
        await until(() => accountsLike(new RegExp(`^${AGENT_PREFIX}`)).length === 0, 'every account of the burst to be removed', 60_000).catch((e: Error) => {
          throw new Error(`${e.message}; left: ${accountsLike(new RegExp(`^${AGENT_PREFIX}`)).join(', ')}; the agent's log:\n${agent.log.text.slice(-6000)}`);
        });
        expect(agent.log.text).to.not.match(/cleanup after elevation failed|could not be removed/);
      } finally {
        agent.child.kill('SIGTERM');
        await agent.exited;
      }
    });

    it('kill -9 of the agent between the result and the removal: the next start removes the account', async () => {
      const agent = await startAgent();
      const { account, release } = await resultWhileRemovalHeld('kill');
      agent.child.kill('SIGKILL');
      await agent.exited;
      release();
      expect(passwdOf(account), 'the account after the agent died in the gap').to.not.equal(undefined);
      const next = await startAgent();
      try {
        // The start's orphan cleanup runs before the agent listens.
        expect(passwdOf(account), `the account once the next agent listens:\n${next.log.text}`).to.equal(undefined);
      } finally {
        next.child.kill('SIGTERM');
        await next.exited;
      }
    });

    it('SIGTERM right after a result: the agent exits only once the account is removed', async () => {
      const agent = await startAgent();
      const { account, release } = await resultWhileRemovalHeld('term');
      let exited = false;
      void agent.exited.then(() => (exited = true));
      agent.child.kill('SIGTERM');
      try {
        await until(() => /SIGTERM: stopping/.test(agent.log.text), 'the agent to start stopping');
      } finally {
        // Released only once the agent is stopping: a stop that did not wait would be over already.
        setTimeout(release, 500);
      }
      await agent.exited;
      expect(exited).to.equal(true);
      expect(passwdOf(account), `the account when the agent had exited:\n${agent.log.text}`).to.equal(undefined);
      // The stop itself waited for the removal (not only the process for its last timers).
      const lines = agent.log.text.split('\n');
      const ended = lines.findIndex((l) => l.includes('elevation ended') && l.includes(account));
      const stopped = lines.findIndex((l) => / info stopped\b/.test(l));
      expect(ended, `the removal's line:\n${agent.log.text}`).to.be.above(-1);
      expect(stopped, `the stop's last line:\n${agent.log.text}`).to.be.above(ended);
    });
  });
});

describe('name service checks of a new account: the user and the group asked side by side', () => {
  for (const [what, ask] of [['nameTaken', (l: Parameters<typeof nameTaken>[0]) => nameTaken(l, 'h21ename')], ['idTaken', (l: Parameters<typeof idTaken>[0]) => idTaken(l, 2013270001)]] as const) {
    it(`${what} starts both lookups before either answers, and is taken when either says so`, async () => {
      for (const taken of [[false, false], [true, false], [false, true]] as const) {
        const asked: NssDb[] = [];
        const answers: (() => void)[] = [];
        const lookup = (db: NssDb): Promise<boolean> =>
          new Promise((resolve) => {
            asked.push(db);
            answers.push(() => resolve(db === 'passwd' ? taken[0] : taken[1]));
            // Answered only once both were asked: one after the other would never finish.
            if (asked.length === 2) for (const a of answers) a();
          });
        const result = await Promise.race([ask(lookup), sleep(5_000).then(() => 'one at a time')]);
        expect(result, `${what} ${JSON.stringify(taken)}`).to.equal(taken[0] || taken[1]);
        expect([...asked].sort()).to.deep.equal(['group', 'passwd']);
      }
    });
  }
});
