/**
 * `ascend agent run` after its command line is read: the checks, the policy source, the
 * agent started, and the wait for SIGTERM/SIGINT. Shared by the oclif command
 * (src/cli/commands/agent/run.ts) and the daemon's lean entry (./main.ts), so it loads no
 * oclif; the domain source (LDAP, SYSVOL) and the Windows registry source are loaded only
 * when the flags ask for them.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { AscendError } from '../../src/errors.js';
import { formatLogLine } from '../../src/log-line.js';
import type { ConnectionSettings } from '../../gpo-extension/connection.js';
import { readPrivateFile } from '../../src/passcode-keys/key-file.js';
import { AGENT_SOCKET_ENV, DEFAULT_AGENT_SOCKET } from '../../src/cli/client/socket.js';
import { addonPath } from '../ipc/peer.js';
import { AscendAgent, type LogFn } from './agent.js';
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

/** Runs the agent until SIGTERM or SIGINT has stopped it. */
export async function runAgent(flags: AgentRunFlags): Promise<void> {
  keepYoungGenerationSmall();
  if (process.platform !== 'win32' && process.getuid?.() !== 0) {
    throw new AscendError('ASC_AGENT_CONFIG', 'the agent must run as root (it creates accounts and runs programs as them)');
  }
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
  process.once('SIGTERM', onSignal('SIGTERM'));
  process.once('SIGINT', onSignal('SIGINT'));
  const agent = await AscendAgent.start({
    stateDir: flags['state-dir'],
    socketPath: flags.socket ?? (process.env[AGENT_SOCKET_ENV] || DEFAULT_AGENT_SOCKET),
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
  });
  await new Promise<void>((resolve) => {
    wake = resolve;
    if (stopSignal !== undefined) resolve();
  });
  log('info', `${stopSignal ?? 'SIGTERM'}: stopping`);
  await agent.stop().catch((e: unknown) => {
    log('error', `stop failed: ${e instanceof Error ? e.message : String(e)}`);
  });
  // Said once every ended elevation's account is removed and the events are in the spool.
  log('info', 'stopped');
}
