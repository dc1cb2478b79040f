/**
 * What the agent is started with (agent run's flags), the log it writes to, and the one
 * helper every part of it shares.
 */
import type { PolicySource } from '../policy/index.js';
import type { SpoolOptions } from '../spool/spool.js';
import type { IpcServerOptions } from '../ipc/index.js';
import type { Executor } from '../executor/index.js';

export type LogFn = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface AgentOptions {
  stateDir: string;
  socketPath: string;
  /** This computer's name as rules and passcodes see it. */
  computer: string;
  /** Collections this computer is in (rules can target them). */
  collections?: string[];
  policySource: PolicySource;
  /** Overrides the policy's ClientDataCollection host. */
  collectorUrl?: string;
  /** Enrolls with the collector on first start. */
  enrollToken?: string;
  /** A certificate authority (PEM) to trust for the collector instead of the one the enrollment token pins (--collector-ca). */
  collectorCa?: string;
  /** --insecure-dev: the collector may be plain http or unpinned https (development only; said loudly at every start). */
  insecureDev?: boolean;
  /** SID or group name → host groups, for the executor. */
  groupMap?: Record<string, string[]>;
  /** The uids/gids of ephemeral accounts (default: the executor's, see agent/executor/ids.ts). */
  idRange?: { first: number; last: number };
  executor?: Executor;
  log?: LogFn;
  clock?: () => number;
  /** Test hook: the refresher's timers (see PolicyRefresher). */
  random?: () => number;
  /** The event spool's size and reserve (default 64 MiB, the last 1/8 kept for elevation and session events). */
  spool?: SpoolOptions;
  /** How long identical denials are counted instead of spooled again (default 60 s). */
  repeatWindowMs?: number;
  /** Uids besides root trusted to own programs (and their folders) that rules elevate (--trusted-owner). */
  trustedOwners?: number[];
  /** The socket's connection limits (IpcServer: 64 at once, 8 per user, the rest of an eighth kept for root). */
  connectionLimits?: Pick<IpcServerOptions, 'maxConnections' | 'maxConnectionsPerUser' | 'rootReserve'>;
  /** Called after each policy is applied (agent run releases what reading it left behind, ./launch.ts). */
  policyApplied?: () => void;
  /**
   * The agent runs on demand (`agent run --idle-exit`): it answers on this already listening
   * socket (the fd ascend-agentd passed it) instead of binding socketPath, and, after its first
   * start, does not wait for the collector's revocations before it answers (the saved ones
   * count at once; the fetch goes on in the background).
   */
  onDemand?: OnDemand;
}

/** The message of a thrown value, for a log line or an error. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** How an agent that runs on demand was started (ascend-agentd, ./launch.ts). */
export interface OnDemand {
  /** ascend-agentd's listening socket. */
  listenFd: number;
  /** Its first start ('boot'), a wake for housekeeping, or a client waiting. */
  startedFor: 'boot' | 'wake' | 'request';
  /** The policy comes from the domain: a cached one read less than a refresh interval ago is used (not at 'boot'). */
  domainPolicy: boolean;
}
