/**
 * Shared parts of the resources and hardening suites (issue 12, findings 8 and 9): a real
 * agent (`ascend agent run`, the built CLI) started on a policy file of rules, real
 * unprivileged accounts (prefix h6t), the agent's spooled events, and polling helpers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { bin, root } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';
import { spooledEvents } from '../support/spool-events.js';

export { bin, root };

export interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A temporary folder every user may traverse, only root may write (mkdtemp makes 0700). */
export function tempDir(tag: string): string {
  const d = mkdtempSync(path.join(tmpdir(), `ascend-h6-${tag}-`));
  chmodSync(d, 0o755);
  return d;
}

export function addUser(name: string): number {
  spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
  const add = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', name], { encoding: 'utf8' });
  expect(add.status, add.stderr).to.equal(0);
  return Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
}

export function removeUsersWithPrefix(prefix: string): void {
  const names = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
  for (const n of names) spawnSync('userdel', ['-r', n], { stdio: 'ignore' });
}

export function rule(name: string, json: object): { name: string; value: string } {
  return { name, value: JSON.stringify(json) };
}

/** A Registry.pol with these allow and deny rules and ephemeral accounts named `prefix`... */
export function writePolicy(file: string, allow: { name: string; value: string }[], deny: { name: string; value: string }[], prefix: string): void {
  const entries = [
    ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', { Rules: allow }),
    ...(deny.length ? encodePolicyState(requirePolicy(ASCEND_CATALOG, 'BlacklistRules'), 'enabled', { Rules: deny }) : []),
    ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: prefix, MaxLifetimeMinutes: 60, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
  ];
  writeFileSync(file, writeRegistryPol(entries), { mode: 0o644 });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `pred` every `everyMs` until it holds; fails after `ms` with `what`. */
export async function until(pred: () => boolean | Promise<boolean>, what: string, ms = 20_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A running `ascend agent run`: its process, its log so far, its socket and state folder. */
export class AgentProcess {
  readonly log = { text: '' };
  child: ChildProcess | undefined;

  constructor(
    readonly socket: string,
    readonly stateDir: string,
    readonly policyFile: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  /** Starts the agent; resolves when it listens, rejects (with its log) when it exits first. */
  start(extra: string[] = []): Promise<void> {
    this.log.text = '';
    const child = spawn(process.execPath, [bin, 'agent', 'run', '--state-dir', this.stateDir, '--socket', this.socket, '--policy', this.policyFile, '--computer', 'H6-PC', ...extra], {
      cwd: root,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => (this.log.text += d.toString('latin1')));
    child.stdout?.on('data', (d: Buffer) => (this.log.text += d.toString('latin1')));
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`the agent exited (${code}) before listening:\n${this.log.text}`));
      child.once('exit', onExit);
      until(() => /agent listening on/.test(this.log.text), 'the agent to listen', 60_000).then(
        () => {
          child.off('exit', onExit);
          resolve();
        },
        (e: Error) => {
          child.off('exit', onExit);
          reject(new Error(`${e.message}\n${this.log.text}`));
        },
      );
    });
  }

  /** Runs the agent to its end (for a start that must fail): exit code and everything it wrote. */
  runToExit(extra: string[] = [], timeoutMs = 60_000): Promise<Outcome> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [bin, 'agent', 'run', '--state-dir', this.stateDir, '--socket', this.socket, '--policy', this.policyFile, '--computer', 'H6-PC', ...extra], {
        cwd: root,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // It started after all: stop it (the caller sees it listened).
        if (/agent listening on/.test(stderr)) child.kill('SIGTERM');
      });
      const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    this.child = undefined;
  }

  /** VmRSS of the agent process, in bytes. */
  rss(): number {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    if (!m) throw new Error('no VmRSS for the agent');
    return Number(m[1]) * 1024;
  }

  /** Every event payload in the spool, in order (the agent is not enrolled: they stay there). */
  events(): Record<string, unknown>[] {
    return spooledEvents(this.stateDir);
  }
}

/** Runs `args` of the built CLI as `user` (setpriv, the user's groups), with the agent's socket. */
export function asUser(user: string, args: string[], socket: string, cwd: string, opts: { timeoutMs?: number; stdin?: 'ignore' | number } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn('setpriv', ['--reuid', user, '--regid', user, '--init-groups', '--', process.execPath, bin, ...args], {
      cwd,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: cwd, NO_COLOR: '1', ASCEND_AGENT_SOCKET: socket },
      stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export function cleanupDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
