/**
 * A real root agent for the client suites (test/cli/lean-client.test.ts,
 * test/cli/native-client.test.ts): an unprivileged user, a local policy allowing a few programs
 * (true, echo, printf with a reason, a root-owned script writing much to both streams, and
 * whatever the suite adds), and a way to run a client as that user. Accounts: the given prefix.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { bin, cliEnv, root } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';

export interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface ClientAgent {
  tmp: string;
  /** Root's own folder (no world-writable parent); both.sh in it writes 3000 lines to each stream, exits 3. */
  rootOwned: string;
  socket: string;
  user: string;
  log: { text: string };
  /** Runs argv as the user in tmp, stdin from `input` (or /dev/null). */
  asUser(argv: readonly string[], opts?: { env?: NodeJS.ProcessEnv; input?: Buffer }): Promise<Outcome>;
  /** Stops the agent and removes the user, its accounts and folders (`keepState`: the state folder is left for the caller to read, then removed by it). */
  stop(opts?: { keepState?: boolean }): Promise<void>;
}

const rule = (name: string, json: object) => ({ name, value: JSON.stringify(json) });

/** The elevate command lines both clients must answer alike (issue 16's lean-client table). */
export function elevateCases(tmp: string, socket: string): string[][] {
  return [
    ['elevate', '--', '/usr/bin/true'],
    ['elevate', '--', 'echo', 'a', '-x', '--y', 'a'],
    ['elevate', '--socket', socket, '--', 'echo', '--socket'],
    ['elevate', `--socket=${socket}`, 'echo', 'plain'],
    ['elevate', '--justify', 'ticket 4711: a test', '--', 'printf', '%s|', 'x', 'y'],
    ['elevate', '--', 'printf', 'x'],
    ['elevate', '--', '/usr/bin/ls', '/'],
    ['elevate', '--bogus', '--', '/usr/bin/true'],
    ['elevate', '-x', '/usr/bin/true'],
    ['elevate', '--socket'],
    ['elevate', '--justify', 'a', '--justify', 'b', '--', '/usr/bin/true'],
    ['elevate'],
    ['elevate', '--'],
    ['elevate', '--', 'no-such-program-aslc'],
    ['elevate', '--passcode', path.join(tmp, 'missing.ascpass'), '--', '/usr/bin/true'],
    ['elevate', '--socket', path.join(tmp, 'none.sock'), '--', '/usr/bin/true'],
    ['elevate', '--socket=', '--', '/usr/bin/true'],
    ['elevate', '--socket', '--justify', '--', '/usr/bin/true'],
    ['elevate', '--sock', socket, '--', '/usr/bin/true'],
    ['elevate', '-1'],
    ['elevate', '-'],
    ['elevate', '--json', '--', '/usr/bin/true'],
  ];
}

export async function startClientAgent(opts: {
  user: string;
  prefix: string;
  computer: string;
  extraRules?: { name: string; value: string }[];
  /** The agent's command line given a prefix (a private mount namespace, say): the words to run instead. */
  wrapAgent?: (argv: string[]) => string[];
}): Promise<ClientAgent> {
  const tmp = mkdtempSync(`/tmp/${opts.prefix}-`);
  chmodSync(tmp, 0o755);
  const socket = path.join(tmp, 'agent.sock');
  spawnSync('userdel', ['-r', opts.user], { stdio: 'ignore' });
  const add = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', opts.user], { encoding: 'utf8' });
  expect(add.status, add.stderr).to.equal(0);
  const rootOwned = mkdtempSync(`/run/${opts.prefix}-`);
  chmodSync(rootOwned, 0o755);
  const both = path.join(rootOwned, 'both.sh');
  writeFileSync(both, '#!/bin/sh\ni=0\nwhile [ $i -lt 3000 ]; do echo "out line $i ........................................"; echo "err line $i" >&2; i=$((i+1)); done\nexit 3\n', { mode: 0o755 });
  chmodSync(both, 0o755);
  const policyFile = path.join(tmp, 'Registry.pol');
  writeFileSync(
    policyFile,
    writeRegistryPol([
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
        Rules: [
          rule('true for everyone', { action: 'allow', match: { path: '/usr/bin/true' } }),
          rule('echo for everyone', { action: 'allow', match: { path: '/usr/bin/echo' } }),
          rule('both streams', { action: 'allow', match: { path: both } }),
          rule('printf with a reason', { action: 'allow', match: { path: '/usr/bin/printf' }, controls: ['justify'] }),
          ...(opts.extraRules ?? []),
        ],
      }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'Approvals'), 'enabled', { RequestTimeoutMinutes: 5, ApprovalValidMinutes: 15, JustificationMinLength: 12, MfaGraceMinutes: 0 }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: `${opts.prefix}_`, MaxLifetimeMinutes: 480, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
    ]),
  );
  const log = { text: '' };
  const agentArgv = [process.execPath, bin, 'agent', 'run', '--state-dir', path.join(tmp, 'state'), '--socket', socket, '--policy', policyFile, '--computer', opts.computer];
  const [command, ...args] = opts.wrapAgent ? opts.wrapAgent(agentArgv) : agentArgv;
  const agent: ChildProcess = spawn(command as string, args, {
    cwd: root,
    env: cliEnv(tmp),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  agent.stderr?.on('data', (d: Buffer) => (log.text += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!/agent listening on/.test(log.text)) {
    if (agent.exitCode !== null || Date.now() > deadline) throw new Error(`the agent did not start:\n${log.text}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const asUser = (argv: readonly string[], o: { env?: NodeJS.ProcessEnv; input?: Buffer } = {}): Promise<Outcome> =>
    new Promise((resolve) => {
      const child = spawn('setpriv', ['--reuid', opts.user, '--regid', opts.user, '--init-groups', '--', ...argv], {
        cwd: tmp,
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: tmp, NO_COLOR: '1', ASCEND_AGENT_SOCKET: socket, ...o.env },
        stdio: [o.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
      if (o.input) {
        child.stdin?.on('error', () => undefined);
        child.stdin?.end(o.input);
      }
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout?.on('data', (d: Buffer) => out.push(d));
      child.stderr?.on('data', (d: Buffer) => err.push(d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
    });

  return {
    tmp,
    rootOwned,
    socket,
    user: opts.user,
    log,
    asUser,
    async stop(stopOpts: { keepState?: boolean } = {}) {
      if (agent.exitCode === null) {
        agent.kill('SIGTERM');
        await new Promise((r) => agent.once('exit', r));
      }
      spawnSync('userdel', ['-r', opts.user], { stdio: 'ignore' });
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const name = line.split(':')[0];
        if (name?.startsWith(`${opts.prefix}_`)) spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
      }
      if (!stopOpts.keepState) rmSync(tmp, { recursive: true, force: true });
      rmSync(rootOwned, { recursive: true, force: true });
    },
  };
}
