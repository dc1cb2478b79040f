/**
 * The Windows executor: the same contract as an adapter over PowerShell child processes
 * (New-LocalUser with a random password, Add-LocalGroupMember -SID S-1-5-32-544, start the
 * program with those credentials, Remove-LocalUser and the profile folder).
 *
 * UNTESTED ON REAL WINDOWS. Only the script builders (powershell.ts) and this adapter's flow
 * against a test double of PowerShell are tested here. Known limits, stated honestly:
 * - A process started with an administrator's credentials gets UAC's filtered token unless UAC
 *   is off for the account; the full token needs a service calling CreateProcessAsUser with the
 *   linked token, which this adapter does not do.
 * - `pid` is the PowerShell host's pid, not the program's; `signal` and the TERM stage of
 *   `endTree` cannot be delivered to console programs (Windows has no SIGTERM), so endTree
 *   stops the host's tree and every process the account owns, forcibly.
 * - The marker is the account description `ascend-eph <elevationId>` (48 characters at most on
 *   Windows), and the account's age is its PasswordLastSet.
 */
import { spawn, execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AscendError } from '../../src/errors.js';
import {
  ADMINISTRATORS_NAME,
  ADMINISTRATORS_SID,
  accountNameFor,
  checkPrefix,
  checkSpec,
  filterClientEnv,
  mapGroups,
} from './common.js';
import type {
  CleanupReport,
  ElevationExit,
  ElevationSpec,
  Executor,
  ExecutorOptions,
  RunningElevation,
} from './contract.js';
import {
  SECRET_VAR,
  createUserScript,
  endAccountProcessesScript,
  endTreeScript,
  listMarkedUsersScript,
  powershellArgs,
  removeUserScript,
  runScript,
} from './powershell.js';

/** Windows' limit on a local user name. */
export const WINDOWS_MAX_NAME = 20;
export const WINDOWS_MARKER = 'ascend-eph ';

/** How scripts are run; the default is powershell.exe, tests pass a double. */
export interface PowerShellHost {
  run(script: string, env?: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }>;
  spawn(script: string, env?: Record<string, string>): ChildProcessWithoutNullStreams;
}

export const powershellExe: PowerShellHost = {
  run(script, env) {
    return new Promise((resolve) => {
      execFile('powershell.exe', powershellArgs(script), { env: { ...process.env, ...env }, windowsHide: true }, (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  },
  spawn(script, env) {
    return spawn('powershell.exe', powershellArgs(script), { env: { ...process.env, ...env }, stdio: 'pipe', windowsHide: true });
  },
};

/** A password Windows' complexity rules accept: 32 random characters plus one of each class. */
export function randomPassword(): string {
  return `${randomBytes(24).toString('base64')}aZ7!`;
}

export class WindowsExecutor implements Executor {
  private readonly groupMap: Record<string, string[]>;
  private readonly running = new Map<string, RunningElevation>();

  constructor(
    private readonly options: ExecutorOptions,
    private readonly host: PowerShellHost = powershellExe,
  ) {
    checkPrefix(options.accountPrefix, WINDOWS_MAX_NAME);
    // On Windows the token's groups are local groups already: the SID maps to itself.
    this.groupMap = { [ADMINISTRATORS_SID]: [ADMINISTRATORS_SID], [ADMINISTRATORS_NAME]: [ADMINISTRATORS_SID], ...(options.groupMap ?? {}) };
  }

  accountName(elevationId: string): string {
    return accountNameFor(this.options.accountPrefix, elevationId, WINDOWS_MAX_NAME);
  }

  async start(spec: ElevationSpec): Promise<RunningElevation> {
    checkSpec(spec);
    const id = spec.elevationId;
    const system = spec.integrity === 'System';
    const { hostGroups, unmapped } = mapGroups(spec.groups, this.groupMap);
    const account = system ? null : this.accountName(id);
    const password = randomPassword();
    if (account !== null) {
      const r = await this.host.run(createUserScript(account, WINDOWS_MARKER + id, hostGroups), { [SECRET_VAR]: password });
      if (r.code !== 0) {
        await this.host.run(removeUserScript(account));
        throw new AscendError('ASC_EXEC_FAILED', `New-LocalUser ${account} failed: ${(r.stderr.trim().split('\n')[0] ?? '').slice(0, 200)}`);
      }
    }
    // The working folder is not checked against the requester here (untested on Windows): the user's own folder or C:\.
    const cwd = /^[A-Za-z]:\\/.test(spec.cwd) ? spec.cwd : 'C:\\';
    const script = runScript({ account, program: spec.command[0] ?? '', args: spec.command.slice(1), cwd, env: filterClientEnv(spec.env) });
    const child = this.host.spawn(script, account !== null ? { [SECRET_VAR]: password } : {});
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (e) {
      if (account !== null) await this.host.run(removeUserScript(account));
      throw new AscendError('ASC_EXEC_FAILED', `PowerShell could not be started: ${String((e as Error).message ?? e)}`);
    }
    child.stdin.on('error', () => undefined);
    const host = this.host;
    const ended = new Set<number>();
    const endTree = async (): Promise<number[]> => {
      if (child.pid) {
        await host.run(endTreeScript(child.pid));
        ended.add(child.pid);
      }
      if (account !== null) {
        const r = await host.run(endAccountProcessesScript(account));
        for (const s of r.stdout.trim().split(',')) if (/^[0-9]+$/.test(s)) ended.add(Number(s));
      }
      return [...ended];
    };
    const exited = new Promise<ElevationExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const done = exited.then(async (exit) => {
      let accountRemoved = false;
      if (account !== null) {
        await endTree();
        accountRemoved = (await host.run(removeUserScript(account))).code === 0;
      }
      this.running.delete(id);
      return { ...exit, accountRemoved, endedPids: [...ended] };
    });
    const elevation: RunningElevation = {
      pid: child.pid ?? -1,
      account,
      uid: -1, // Windows has SIDs, not uids
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      done,
      endTree,
      signal: () => undefined, // no signals to console programs on Windows; see the top
      elevationId: id,
      hostGroups,
      ignoredGroups: unmapped,
      cwd,
      tracking: 'windows-account',
    };
    this.running.set(id, elevation);
    return elevation;
  }

  async cleanupOrphans(activeElevationIds: ReadonlySet<string>): Promise<CleanupReport> {
    const report: CleanupReport = { removedAccounts: [], removedHomes: [], endedPids: [], problems: [] };
    const r = await this.host.run(listMarkedUsersScript(this.options.accountPrefix, WINDOWS_MARKER));
    if (r.code !== 0) {
      report.problems.push(`Get-LocalUser failed: ${r.stderr.trim().split('\n')[0] ?? ''}`);
      return report;
    }
    let users: Array<{ Name?: unknown; Description?: unknown; Created?: unknown }> = [];
    try {
      const parsed: unknown = JSON.parse(r.stdout.trim() || '[]');
      users = Array.isArray(parsed) ? parsed : [parsed as object];
    } catch {
      report.problems.push('Get-LocalUser output is not JSON');
      return report;
    }
    for (const u of users) {
      if (typeof u.Name !== 'string' || typeof u.Description !== 'string') continue;
      const id = u.Description.slice(WINDOWS_MARKER.length);
      if (!u.Description.startsWith(WINDOWS_MARKER) || u.Name !== this.accountName(id)) continue;
      const created = typeof u.Created === 'string' ? Date.parse(u.Created) : NaN;
      const expired = Number.isFinite(created) && Date.now() - created > this.options.maxLifetimeMs;
      if ((activeElevationIds.has(id) || this.running.has(id)) && !expired) continue;
      const ended = await this.host.run(endAccountProcessesScript(u.Name));
      for (const s of ended.stdout.trim().split(',')) if (/^[0-9]+$/.test(s)) report.endedPids.push(Number(s));
      const removed = await this.host.run(removeUserScript(u.Name));
      if (removed.code === 0) report.removedAccounts.push(u.Name);
      else report.problems.push(`${u.Name}: Remove-LocalUser failed`);
    }
    return report;
  }
}
