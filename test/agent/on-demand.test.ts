/**
 * Issue 16, the agent on demand (`ascend agent run --idle-exit SECONDS`): the built CLI, as
 * root. The command becomes ascend-agentd (native/agentd.c, the same pid), which holds the
 * socket and starts the Node agent for its housekeeping, for a request and every --wake-every
 * seconds; the agent rests once idle. What a user and an admin rely on: every request is
 * answered, whenever it comes (also at the very moment the agent rests); nothing but
 * ascend-agentd stays resident while idle; a running elevation keeps the agent; SIGTERM stops
 * everything and removes the socket; an agent killed is started again; a bad configuration
 * fails the start, as it does without --idle-exit.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { requireComponent } from '../support/components.js';
import { bin, requireBuiltCli, root } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';
import { ipcCall } from '../../agent/ipc/index.js';
import { spooledEvents } from '../support/spool-events.js';

const PREFIX = 'ascod';

interface Supervised {
  child: ChildProcess;
  log: { text: string };
  socket: string;
}

/** The pids whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** The process has ended (no longer there, or a zombie waiting for its parent). */
function gone(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/** Every process below `pid`. */
function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const kids = childrenOf(queue.shift() as number);
    out.push(...kids);
    queue.push(...kids);
  }
  return out;
}

/** The inode of the listening Unix socket bound at `file` (/proc/net/unix). */
function socketInode(file: string): string {
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[7] === file && cols[3] === '00010000') return cols[6] as string;
  }
  throw new Error(`no listening socket at ${file}`);
}

/** The socket inodes a process holds open. */
function socketInodesOf(pid: number): string[] {
  const out: string[] = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) out.push(m[1] as string);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // gone
  }
  return out;
}

/** The type of every event in an agent's spool (read-only). */
function spooledTypes(stateDir: string): string[] {
  return spooledEvents(stateDir).map((e) => String(e.type));
}

function count(text: string, re: RegExp): number {
  return [...text.matchAll(new RegExp(re.source, 'g'))].length;
}

async function until(what: string, ok: () => boolean, timeoutMs = 30_000, context?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${context ? `:\n${context()}` : ''}`);
    await sleep(20);
  }
}

describe('the agent on demand: ascend-agentd holds the socket, the agent rests when idle (issue 16)', function () {
  this.timeout(240_000);
  let tmp = '';
  let policy = '';
  const started: Supervised[] = [];

  function start(name: string, extra: string[], pol = policy): Supervised {
    const socket = path.join(tmp, `${name}.sock`);
    const child = spawn(process.execPath, [bin, 'agent', 'run', '--state-dir', path.join(tmp, `${name}-state`), '--socket', socket, '--policy', pol, '--computer', 'OD-PC', ...extra], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const log = { text: '' };
    child.stderr?.on('data', (d: Buffer) => (log.text += d.toString()));
    const s = { child, log, socket };
    started.push(s);
    return s;
  }

  async function stop(s: Supervised): Promise<number | null> {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGTERM');
      await new Promise((r) => s.child.once('exit', r));
    }
    return s.child.exitCode;
  }

  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent runs as root)', 'run the tests as root');
    requireBuiltCli();
    requireComponent(this, existsSync(path.join(root, 'build', 'native', 'ascend-agentd')), 'build/native/ascend-agentd', 'npm run build');
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-ondemand-'));
    chmodSync(tmp, 0o755);
    policy = path.join(tmp, 'Registry.pol');
    writeFileSync(
      policy,
      writeRegistryPol([
        ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
          Rules: [{ name: 'sleep', value: JSON.stringify({ action: 'allow', match: { path: '/usr/bin/sleep' } }) }],
        }),
        ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: PREFIX, MaxLifetimeMinutes: 60, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
      ]),
    );
  });

  after(async () => {
    for (const s of started) await stop(s);
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const name = line.split(':')[0] ?? '';
      if (name.startsWith(PREFIX)) spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('rests when idle, leaving ascend-agentd alone resident; the next request starts the agent again and is answered', async () => {
    const s = start('rest', ['--idle-exit', '1', '--wake-every', '300']);
    const pid = s.child.pid as number;
    await until('the first start to rest', () => /info rested/.test(s.log.text));
    // The command line's own process became ascend-agentd; nothing else of it runs.
    await until('the agent to be gone', () => childrenOf(pid).length === 0, 5000);
    expect(readlinkSync(`/proc/${pid}/exe`)).to.equal(path.join(root, 'build', 'native', 'ascend-agentd'));
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    expect(rssKiB, 'ascend-agentd resident KiB').to.be.below(5 * 1024);
    expect(statSync(s.socket).mode & 0o777).to.equal(0o666);
    const status = (await ipcCall(s.socket, { op: 'status' } as never, { timeoutMs: 30_000 })) as { computer: string; pid: number };
    expect(status.computer).to.equal('OD-PC');
    expect(childrenOf(pid)).to.deep.equal([status.pid]);
    expect(count(s.log.text, /agent listening/)).to.equal(2);
    await until('the second rest', () => count(s.log.text, /info rested/) === 2);
    expect(await stop(s)).to.equal(0);
    expect(existsSync(s.socket), 'the socket is removed at SIGTERM').to.equal(false);
  });

  it('answers every request, also those that come as the agent rests', async () => {
    const s = start('race', ['--idle-exit', '1', '--wake-every', '300']);
    await until('the first start', () => /agent listening/.test(s.log.text));
    const pids = new Set<number>();
    // Requests spread over the moment the agent rests (1 to 1.5 s after the last one ended):
    // some reach it just before it stops accepting, some wait in the queue for the next start.
    for (let i = 0; i < 24; i++) {
      await sleep(900 + ((i * 37) % 13) * 50);
      const status = (await ipcCall(s.socket, { op: 'status' } as never, { timeoutMs: 30_000 })) as { pid: number };
      pids.add(status.pid);
    }
    const rests = count(s.log.text, /info rested/);
    expect(rests, 'the agent rested between requests').to.be.at.least(3);
    expect(pids.size, 'answered by agents started again').to.be.at.least(3);
    // And at the very moment: a request sent as soon as the agent says it rests reaches it
    // while it stops (its socket no longer accepting), and is answered by the next start.
    for (let i = 0; i < 5; i++) {
      const before = count(s.log.text, /resting until/);
      await until('the agent to begin its rest', () => count(s.log.text, /resting until/) > before);
      const [resting] = childrenOf(s.child.pid as number);
      const status = (await ipcCall(s.socket, { op: 'status' } as never, { timeoutMs: 30_000 })) as { pid: number };
      expect(status.pid, 'answered by the next start').to.not.equal(resting);
    }
    expect(s.log.text).to.not.match(/\berror\b/);
    expect(await stop(s)).to.equal(0);
  });

  it('stays while an elevation runs, and rests after it', async () => {
    const s = start('busy', ['--idle-exit', '1', '--wake-every', '300']);
    await until('the first rest', () => /info rested/.test(s.log.text));
    const t0 = Date.now();
    const client = spawn(process.execPath, [bin, 'elevate', '--', '/usr/bin/sleep', '3'], { cwd: root, env: { ...process.env, ASCEND_AGENT_SOCKET: s.socket }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    client.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => client.once('exit', (c) => r(c)));
    await until('the elevated sleep', () => /elevation started/.test(s.log.text));
    // Nothing the agent started (the launcher, the elevated program) holds the listening socket
    // ascend-agentd passed it: such a process could answer users in the agent's place.
    const listening = socketInode(s.socket);
    const [agent] = childrenOf(s.child.pid as number);
    const below = descendantsOf(agent as number);
    expect(below.length, 'the launcher and the program').to.be.at.least(2);
    for (const pid of below) expect(socketInodesOf(pid), `pid ${pid}`).to.not.include(listening);
    expect(socketInodesOf(agent as number), 'the agent itself holds it').to.include(listening);
    expect(await exited, stderr).to.equal(0);
    expect(Date.now() - t0).to.be.at.least(3000);
    await until('the log of the elevation', () => /elevation ended/.test(s.log.text));
    // The agent started for the request rested only after the program ended: one rest since.
    const after = s.log.text.slice(s.log.text.indexOf('info rested') + 1);
    const endedAt = after.indexOf('elevation ended');
    const restAt = after.indexOf('resting until');
    expect(endedAt, 'the elevation ended').to.be.at.least(0);
    expect(restAt === -1 || restAt > endedAt, 'no rest while the program ran').to.equal(true);
    // Not before the set-id sweep that follows the account's removal has walked every file
    // system: a walk at nice 10, which takes tens of seconds on a loaded machine.
    await until('the rest after the elevation', () => count(s.log.text, /info rested/) === 2, 180_000, () => s.log.text);
    expect(s.log.text.indexOf('info rested', s.log.text.indexOf('elevation ended'))).to.be.above(0);
    // The rest waited for the sweep: it was not cut short (left for a later start).
    expect(s.log.text).to.not.match(/set-id sweep incomplete/);
    expect(await stop(s)).to.equal(0);
  });

  it('wakes the resting agent every --wake-every seconds for its housekeeping', async () => {
    const s = start('wake', ['--idle-exit', '1', '--wake-every', '1']);
    await until('two wakes after the first start', () => count(s.log.text, /info rested/) >= 3, 60_000);
    expect(count(s.log.text, /agent listening/)).to.be.at.least(3);
    expect(await stop(s)).to.equal(0);
    // The same policy is announced once to the collector, not at every start.
    const types = spooledTypes(path.join(tmp, 'wake-state'));
    expect(types.filter((t) => t === 'policy-applied')).to.have.length(1);
  });

  it('passes SIGTERM to a running agent, which stops as a resident one does, and ends with it', async () => {
    const s = start('term', ['--idle-exit', '600', '--wake-every', '300']);
    await until('the start', () => /agent listening/.test(s.log.text));
    expect(childrenOf(s.child.pid as number)).to.have.length(1);
    expect(await stop(s)).to.equal(0);
    expect(s.log.text).to.match(/SIGTERM: stopping/).and.match(/info stopped/);
    expect(existsSync(s.socket)).to.equal(false);
  });

  it('ends with an agent that was killed, as the service failed with a resident agent (status 137, the socket removed), ending the elevated programs no agent watches any more', async () => {
    const s = start('kill', ['--idle-exit', '600', '--wake-every', '300']);
    await until('the start', () => /agent listening/.test(s.log.text));
    const client = spawn(process.execPath, [bin, 'elevate', '--', '/usr/bin/sleep', '120'], { cwd: root, env: { ...process.env, ASCEND_AGENT_SOCKET: s.socket }, stdio: 'ignore' });
    await until('the elevated sleep', () => /elevation started/.test(s.log.text));
    const program = Number(/elevation started .*"pid":(\d+)/.exec(s.log.text)?.[1]);
    expect(existsSync(`/proc/${program}`)).to.equal(true);
    const [agent] = childrenOf(s.child.pid as number);
    process.kill(agent as number, 'SIGKILL');
    const code = await new Promise<number | null>((r) => s.child.once('exit', (c) => r(c)));
    expect(code).to.equal(137);
    expect(s.log.text).to.match(/the agent was ended by signal 9; ascend-agentd ends with it/);
    expect(existsSync(s.socket), 'clients are refused, not kept waiting').to.equal(false);
    // The elevated program ran in its elevation's cgroup, outside ascend-agentd's: ended by it.
    expect(s.log.text).to.match(/the processes of this agent's elevations were ended/);
    await until('the elevated program to end', () => gone(program), 10_000);
    await new Promise((r) => (client.exitCode === null ? client.once('exit', r) : r(null)));
  });

  it('a Ctrl-C that reaches ascend-agentd and the agent both stops the agent once, cleanly, with its elevation ended and the account removed', async () => {
    const s = start('ctrlc', ['--idle-exit', '600', '--wake-every', '300']);
    await until('the start', () => /agent listening/.test(s.log.text));
    const client = spawn(process.execPath, [bin, 'elevate', '--', '/usr/bin/sleep', '60'], { cwd: root, env: { ...process.env, ASCEND_AGENT_SOCKET: s.socket }, stdio: 'ignore' });
    await until('the elevated sleep', () => /elevation started/.test(s.log.text));
    const account = /elevation started .*"account":"([a-z0-9_]+)"/.exec(s.log.text)?.[1] as string;
    expect(readFileSync('/etc/passwd', 'utf8')).to.include(`\n${account}:`);
    const [agent] = childrenOf(s.child.pid as number);
    // As the terminal sends it to the process group: to both, and ascend-agentd passes it on.
    process.kill(agent as number, 'SIGINT');
    process.kill(s.child.pid as number, 'SIGINT');
    const code = await new Promise<number | null>((r) => s.child.once('exit', (c) => r(c)));
    expect(code, s.log.text).to.equal(0);
    expect(s.log.text).to.match(/info stopped/);
    expect(readFileSync('/etc/passwd', 'utf8')).to.not.include(`\n${account}:`);
    await new Promise((r) => (client.exitCode === null ? client.once('exit', r) : r(null)));
  });

  it('fails at its first start as the agent does (a missing policy), in one line, leaving no socket', async () => {
    const s = start('bad', ['--idle-exit', '1'], path.join(tmp, 'no-such.pol'));
    const code = await new Promise<number | null>((r) => s.child.once('exit', (c) => r(c)));
    expect(code).to.not.equal(0);
    expect(s.log.text).to.match(/no-such\.pol/);
    expect(s.log.text).to.not.match(/\n\s+at /);
    expect(existsSync(s.socket)).to.equal(false);
  });

  it('refuses a socket another agent answers on, and a --wake-every without --idle-exit', async () => {
    const first = start('twice', ['--idle-exit', '600']);
    await until('the start', () => /agent listening/.test(first.log.text));
    const second = spawnSync(process.execPath, [bin, 'agent', 'run', '--state-dir', path.join(tmp, 'twice2-state'), '--socket', first.socket, '--policy', policy, '--idle-exit', '5'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(second.status).to.not.equal(0);
    expect(second.stderr.trim().split('\n')).to.have.length(1);
    expect(second.stderr).to.match(/another agent is running on/);
    expect(await stop(first)).to.equal(0);
    const lone = spawnSync(process.execPath, [bin, 'agent', 'run', '--state-dir', path.join(tmp, 'lone-state'), '--policy', policy, '--wake-every', '5'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(lone.status).to.equal(2);
    expect(lone.stderr.trim()).to.match(/^Error: --wake-every is for an agent that runs on demand: give --idle-exit too/);
  });
});
