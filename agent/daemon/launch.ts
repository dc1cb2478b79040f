/**
 * `ascend agent run` after its command line is read: the checks, the policy source, the
 * agent started, and the wait for SIGTERM/SIGINT. Shared by the oclif command
 * (src/cli/commands/agent/run.ts) and the daemon's lean entry (./main.ts), so it loads no
 * oclif; the domain source (LDAP, SYSVOL) and the Windows registry source are loaded only
 * when the flags ask for them.
 */
import { createRequire } from 'node:module';
import { fstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { AscendError } from '../../src/errors.js';
import { formatLogLine } from '../../src/log-line.js';
import type { ConnectionSettings } from '../../gpo-extension/connection.js';
import { readPrivateFile } from '../../src/passcode-keys/key-file.js';
import { AGENT_SOCKET_ENV, DEFAULT_AGENT_SOCKET } from '../../src/cli/client/socket.js';
import { addonPath, packageRoot } from '../ipc/peer.js';
import { prepareSocketPath } from '../ipc/server.js';
import { checkLauncher } from '../executor/launcher.js';
import { ElevationCgroups } from '../executor/linux-cgroup.js';
import { INSTANCE_FILE } from '../executor/instance.js';
import { AscendAgent, type LogFn } from './agent.js';
import type { OnDemand } from './options.js';
import { resolveTrustedOwner } from './trust.js';
import { readRootOnlyText } from '../policy/root-only.js';
import { LocalPolicyFiles } from '../policy/local.js';
import type { PolicySource } from '../policy/source.js';

/** The flags of `agent run`, as either command-line reader gives them. */
export interface AgentRunFlags {
  'state-dir': string;
  socket?: string | undefined;
  policy?: string[] | undefined;
  domain?: boolean | undefined;
  'windows-registry'?: boolean | undefined;
  /** The domain connection flags (--url, --password-file, ...) with --ldap-user as the user. */
  connection: ConnectionSettings;
  computer?: string | undefined;
  collection?: string[] | undefined;
  collector?: string | undefined;
  'enroll-token'?: string | undefined;
  'enroll-token-file'?: string | undefined;
  'collector-ca'?: string | undefined;
  'insecure-dev'?: boolean | undefined;
  'trusted-owner'?: string[] | undefined;
  'spool-max-bytes'?: number | undefined;
  'ephemeral-id-range'?: string | undefined;
  'max-connections'?: number | undefined;
  'max-connections-per-user'?: number | undefined;
  'group-map'?: string[] | undefined;
  'idle-exit'?: number | undefined;
  'wake-every'?: number | undefined;
}

/** "S-1-5-32-544=sudo,adm" → { 'S-1-5-32-544': ['sudo', 'adm'] } */
export function parseGroupMap(items: readonly string[]): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = item.slice(0, eq).trim();
    const groups = item.slice(eq + 1).split(',').map((g) => g.trim()).filter(Boolean);
    if (eq <= 0 || groups.length === 0 || groups.some((g) => !/^[a-z_][a-z0-9_.-]*\$?$/i.test(g))) {
      throw new AscendError('ASC_USAGE', `--group-map "${item}" is not SID-OR-NAME=group[,group...]`);
    }
    map[key] = groups;
  }
  return map;
}

/** "2013265920-2147352575" → { first, last } (checked again by the executor). */
export function parseIdRange(text: string): { first: number; last: number } {
  const m = /^([0-9]{1,10})-([0-9]{1,10})$/.exec(text.trim());
  if (!m) throw new AscendError('ASC_USAGE', `--ephemeral-id-range "${text}" is not FIRST-LAST (two numbers)`);
  return { first: Number(m[1]), last: Number(m[2]) };
}

/** A secret file of root's (mode 600, at most 64 KiB), its last line break dropped. */
async function readSecretFile(file: string, what: string): Promise<string> {
  const text = await readPrivateFile(file, {
    what,
    maxBytes: 64 * 1024,
    tooLarge: 'ASC_FILE_UNREADABLE',
    insecure: (mode) => new AscendError('ASC_KEY_FILE_INSECURE', `${file}: the ${what} has mode ${mode}, open to group or others`, { hint: `run chmod 600 ${file}` }),
  });
  return text.replace(/\r?\n$/, '');
}

async function policySourceOf(flags: AgentRunFlags, computer: string): Promise<PolicySource> {
  if (flags.policy) return new LocalPolicyFiles(flags.policy);
  if (flags.domain) {
    const { DomainPolicy } = await import('../policy/domain.js');
    return new DomainPolicy({ ...flags.connection, computer });
  }
  const { WindowsRegistryPolicy } = await import('../policy/windows-registry.js');
  return new WindowsRegistryPolicy();
}

/**
 * A full collection, soon after a policy was applied: reading, folding and compiling a large
 * policy leaves tens of MB of garbage in the old generation, which V8 would collect only once
 * the heap grows further (an idle agent's heap does not), so it would stay resident; and
 * without compaction the pages it leaves half used stay committed. The collector is reached through a fresh context created with --expose-gc set, the flag
 * changing nothing else; the agent runs no code but its own.
 */
let gcFn: (() => void) | undefined;
let gcTimer: NodeJS.Timeout | undefined;
export function collectSoon(delayMs = 2000): void {
  if (gcTimer) return;
  gcTimer = setTimeout(() => {
    gcTimer = undefined;
    if (!gcFn) {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    }
    // Compacting, this once: the pages start-up left half empty are given back, not kept.
    v8.setFlagsFromString('--compact-on-every-full-gc');
    try {
      gcFn();
    } finally {
      v8.setFlagsFromString('--no-compact-on-every-full-gc');
    }
    releaseMemory();
  }, delayMs);
  gcTimer.unref();
}

/**
 * What the collection and start-up freed in malloc's arenas, given back to the system
 * (native/peercred.c releaseMemory: malloc_trim). Measured on Node 24 with 10,000 rules
 * (issue 16): 5 MB of the agent's idle RSS. Without the addon (a build without it, not Linux)
 * nothing is released.
 */
function releaseMemory(): void {
  if (process.platform !== 'linux') return;
  try {
    const addon = createRequire(import.meta.url)(addonPath()) as { releaseMemory?: () => number };
    addon.releaseMemory?.();
  } catch {
    // No addon: the memory stays resident, nothing else changes.
  }
}

/**
 * V8 lets a process's young generation grow from 2×1 MiB to 2×16 MiB under start-up's
 * allocation (the policy read, folded and compiled) and keeps it at that size: 30 MB of an
 * idle agent's resident memory that holds nothing. The agent allocates little once it runs
 * (decisions allocate nothing, engine.ts), so the young generation stays at its first size.
 */
export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/** The most --idle-exit takes, in seconds: a week. */
const MAX_IDLE_EXIT_SECONDS = 7 * 86_400;
/**
 * The most --wake-every takes, in seconds: the interval at which a resident agent fetches the
 * collector's revocations, so that the saved list a start decides with is never older.
 */
const MAX_WAKE_SECONDS = 300;
/** The exit status of an agent that rests (native/agentd.c REST_STATUS): any other is a stop or a failure. */
const REST_EXIT_STATUS = 75;
/** --wake-every's default, in seconds. */
const DEFAULT_WAKE_SECONDS = 300;
/** How long an on-demand agent started for its housekeeping (its first start, a wake) waits for a request before it rests. */
const WAKE_LINGER_MS = 2_000;
/** How often an on-demand agent asks itself whether it is idle. */
const IDLE_POLL_MS = 500;

/** Where `npm run build` puts ascend-agentd (native/agentd.c). */
export function agentdPath(): string {
  return path.join(packageRoot(), 'build', 'native', 'ascend-agentd');
}

/**
 * The socket ascend-agentd passed this process (`agent run --idle-exit`, started by it): fd 3,
 * named in ASCEND_AGENT_LISTEN_FD, and why it started the agent; undefined for an agent that
 * binds its own socket. The variables are removed, so that nothing the agent starts sees them.
 */
function onDemandSocket(flags: AgentRunFlags): OnDemand | undefined {
  const fdText = process.env.ASCEND_AGENT_LISTEN_FD;
  const started = process.env.ASCEND_AGENT_STARTED;
  delete process.env.ASCEND_AGENT_LISTEN_FD;
  delete process.env.ASCEND_AGENT_STARTED;
  if (fdText === undefined) return undefined;
  if (fdText !== '3' || flags['idle-exit'] === undefined) {
    throw new AscendError('ASC_AGENT_CONFIG', 'ASCEND_AGENT_LISTEN_FD is set by ascend-agentd alone, for `agent run --idle-exit`', { hint: 'unset it' });
  }
  let st;
  try {
    st = fstatSync(3);
  } catch {
    throw new AscendError('ASC_AGENT_CONFIG', 'ASCEND_AGENT_LISTEN_FD names fd 3, which is not open', { hint: 'unset it' });
  }
  if (!st.isSocket()) throw new AscendError('ASC_AGENT_CONFIG', 'ASCEND_AGENT_LISTEN_FD names fd 3, which is not a socket', { hint: 'unset it' });
  // Inherited without close-on-exec (it had to survive the exec): set now, before the agent
  // starts any program (the orphan cleanup runs helpers as ephemeral uids), so that none holds
  // the socket users send passcodes to.
  let addon: { closeOnExec?: (fd: number) => void };
  try {
    addon = createRequire(import.meta.url)(addonPath()) as typeof addon;
  } catch (e) {
    throw new AscendError('ASC_AGENT_CONFIG', `the agent on demand needs the native addon ${addonPath()}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'npm run build' });
  }
  if (typeof addon.closeOnExec !== 'function') throw new AscendError('ASC_AGENT_CONFIG', `the native addon ${addonPath()} is older than the agent on demand (no closeOnExec)`, { hint: 'npm run build' });
  addon.closeOnExec(3);
  const startedFor = started === 'request' || started === 'wake' ? started : 'boot';
  return { listenFd: 3, startedFor, domainPolicy: flags.domain === true };
}

/**
 * `agent run --idle-exit` as it was started (by systemd, by hand): this process becomes
 * ascend-agentd (the same pid), which binds the socket and starts this same command line as the
 * agent whenever it is needed. The socket's folder is checked here, as a resident agent checks
 * it; ascend-agentd must be root's in root's folders, like the launcher. Never returns.
 */
async function becomeAgentd(flags: AgentRunFlags, socketPath: string): Promise<never> {
  if (process.platform !== 'linux' || typeof process.execve !== 'function') {
    throw new AscendError('ASC_AGENT_CONFIG', `--idle-exit needs Linux and a Node with process.execve, not ${process.platform} ${process.version}`, { hint: 'leave --idle-exit out: the agent stays resident' });
  }
  await prepareSocketPath(socketPath);
  const agentd = await checkLauncher(agentdPath(), 'agent supervisor ascend-agentd');
  const wake = String(flags['wake-every'] ?? DEFAULT_WAKE_SECONDS);
  const script = process.argv[1];
  if (script === undefined || !path.isAbsolute(script)) throw new AscendError('ASC_AGENT_CONFIG', 'the agent was not started from a script path; --idle-exit cannot start it again');
  // Where the elevations' cgroups are (the executor's default), and the instance id's file:
  // ascend-agentd ends those processes should the agent fail.
  const cgroups = ElevationCgroups.parentFor(undefined) ?? '-';
  const instanceFile = path.join(path.resolve(flags['state-dir']), INSTANCE_FILE);
  process.execve(agentd, [agentd, socketPath, wake, cgroups, instanceFile, process.execPath, ...process.execArgv, ...process.argv.slice(1)], process.env);
  throw new AscendError('ASC_INTERNAL', 'process.execve returned');
}

function checkOnDemandFlags(flags: AgentRunFlags): void {
  for (const [name, max] of [['idle-exit', MAX_IDLE_EXIT_SECONDS], ['wake-every', MAX_WAKE_SECONDS]] as const) {
    const v = flags[name];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1 || v > max)) throw new AscendError('ASC_USAGE', `--${name} must be a whole number of seconds from 1 to ${max}, not ${String(v)}`);
  }
  if (flags['wake-every'] !== undefined && flags['idle-exit'] === undefined) throw new AscendError('ASC_USAGE', '--wake-every is for an agent that runs on demand: give --idle-exit too');
}

/** Runs the agent until SIGTERM or SIGINT has stopped it (or, with --idle-exit, until it rests). */
export async function runAgent(flags: AgentRunFlags): Promise<void> {
  keepYoungGenerationSmall();
  checkOnDemandFlags(flags);
  if (process.platform !== 'win32' && process.getuid?.() !== 0) {
    throw new AscendError('ASC_AGENT_CONFIG', 'the agent must run as root (it creates accounts and runs programs as them)');
  }
  const onDemand = onDemandSocket(flags);
  const socketPath = flags.socket ?? (process.env[AGENT_SOCKET_ENV] || DEFAULT_AGENT_SOCKET);
  if (flags['idle-exit'] !== undefined && !onDemand) await becomeAgentd(flags, socketPath);
  const computer = (flags.computer ?? os.hostname().split('.')[0] ?? '').trim();
  if (!computer) throw new AscendError('ASC_AGENT_CONFIG', 'no computer name: pass --computer');
  const source = await policySourceOf(flags, computer);
  if (flags['enroll-token'] !== undefined && flags['enroll-token-file'] !== undefined) throw new AscendError('ASC_USAGE', 'give --enroll-token or --enroll-token-file, not both');
  const enrollToken = flags['enroll-token-file'] !== undefined ? (await readSecretFile(flags['enroll-token-file'], 'enrollment token file')).trim() : flags['enroll-token'];
  // A trust anchor is an order like the policy: only a file root alone can change.
  const collectorCa = flags['collector-ca'] === undefined ? undefined : await readRootOnlyText(flags['collector-ca'], 'the collector CA file');
  const log: LogFn = (level, message, fields) => {
    // Escaped in one place: nothing any part of the agent logs can start a line of its own.
    process.stderr.write(formatLogLine(new Date(), level, message, fields));
  };
  // The handlers are in place before the agent says it listens: a SIGTERM sent the moment that
  // line is read stops it cleanly (its accounts removed), instead of the default death by signal.
  let stopSignal: string | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (sig: string) => () => {
    stopSignal ??= sig;
    wake?.();
  };
  // On demand, a stop may be told twice (ascend-agentd passes on the Ctrl-C the agent got
  // too, or `systemctl kill` reaches both): the agent stops once and is not killed by the second.
  // A resident agent keeps Node's default for a second signal (a second Ctrl-C ends it at once).
  const onStop = onDemand ? process.on.bind(process) : process.once.bind(process);
  onStop('SIGTERM', onSignal('SIGTERM'));
  onStop('SIGINT', onSignal('SIGINT'));
  const agent = await AscendAgent.start({
    stateDir: flags['state-dir'],
    socketPath,
    computer,
    collections: flags.collection ?? [],
    policySource: source,
    ...(flags.collector !== undefined ? { collectorUrl: flags.collector } : {}),
    ...(enrollToken ? { enrollToken } : {}),
    ...(collectorCa !== undefined ? { collectorCa } : {}),
    ...(flags['insecure-dev'] ? { insecureDev: true } : {}),
    ...(flags['group-map']?.length ? { groupMap: parseGroupMap(flags['group-map']) } : {}),
    ...(flags['ephemeral-id-range'] !== undefined ? { idRange: parseIdRange(flags['ephemeral-id-range']) } : {}),
    ...(flags['spool-max-bytes'] !== undefined ? { spool: { maxBytes: flags['spool-max-bytes'] } } : {}),
    ...(flags['trusted-owner']?.length ? { trustedOwners: await Promise.all(flags['trusted-owner'].map(resolveTrustedOwner)) } : {}),
    ...(flags['max-connections'] !== undefined || flags['max-connections-per-user'] !== undefined
      ? {
          connectionLimits: {
            ...(flags['max-connections'] !== undefined ? { maxConnections: flags['max-connections'] } : {}),
            ...(flags['max-connections-per-user'] !== undefined ? { maxConnectionsPerUser: flags['max-connections-per-user'] } : {}),
          },
        }
      : {}),
    log,
    policyApplied: () => collectSoon(),
    ...(onDemand ? { onDemand } : {}),
  });
  if (onDemand) {
    const idleExitMs = (flags['idle-exit'] as number) * 1000;
    const startedAt = performance.now();
    // Started for its housekeeping, the agent waits a little for a request; after one, the full time.
    let lingerMs = onDemand.startedFor === 'request' ? idleExitMs : Math.min(idleExitMs, WAKE_LINGER_MS);
    let idleSince: number | undefined;
    const poll = setInterval(() => {
      const now = performance.now();
      // A request between two looks counts too: the time runs from the last one's end.
      const last = agent.lastActivityAt;
      if (last > startedAt) lingerMs = idleExitMs;
      if (!agent.idle()) {
        idleSince = undefined;
        lingerMs = idleExitMs;
        return;
      }
      idleSince = Math.max(idleSince ?? now, last);
      if (now - idleSince >= lingerMs) wake?.();
    }, IDLE_POLL_MS);
    for (;;) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (stopSignal !== undefined) resolve();
      });
      if (stopSignal !== undefined) break;
      // idle() is asked again in the same step that stops accepting (rest()): a request that
      // came since the timer went waits in the socket's queue for the next start.
      if (agent.idle()) {
        log('info', `idle for ${Math.round(lingerMs / 1000)} s: resting until the next request (ascend-agentd holds the socket)`);
        if (await agent.rest()) {
          clearInterval(poll);
          log('info', 'rested');
          // Nothing is left running (idle() waited for it); timers and handles that would keep
          // the event loop are not waited for: ascend-agentd starts the agent again.
          process.exit(REST_EXIT_STATUS);
        }
      }
      idleSince = undefined;
    }
    clearInterval(poll);
  } else {
    await new Promise<void>((resolve) => {
      wake = resolve;
      if (stopSignal !== undefined) resolve();
    });
  }
  log('info', `${stopSignal ?? 'SIGTERM'}: stopping`);
  await agent.stop().catch((e: unknown) => {
    log('error', `stop failed: ${e instanceof Error ? e.message : String(e)}`);
  });
  // Said once every ended elevation's account is removed and the events are in the spool.
  log('info', 'stopped');
}
