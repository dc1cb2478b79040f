/**
 * What the agent takes from the effective policy besides rules and passcodes: collector,
 * approvals and ephemeral-account settings, each with the catalog's defaults when the
 * policy is not Enabled.
 */
import path from 'node:path';
import type { EffectivePolicy } from '../../src/policy/index.js';
import type { EventType } from '../../src/collector-api/events.js';

export interface CollectorSettings {
  /** From ClientDataCollection when Enabled: https://HOST:PORT/ (http only with UseTls off). */
  url: string | null;
  uploadIntervalSeconds: number;
  collect: { elevations: boolean; denials: boolean; passcodes: boolean; approvals: boolean; policy: boolean };
}

export interface ApprovalSettings {
  requestTimeoutMinutes: number;
  justificationMinLength: number;
  mfaGraceMinutes: number;
}

export interface EphemeralSettings {
  accountPrefix: string;
  maxLifetimeMinutes: number;
  cleanupIntervalMinutes: number;
  removeProfileFolders: boolean;
}

/** From Discovery: off unless Enabled (agent/discovery). */
export interface DiscoverySettings {
  enabled: boolean;
  source: 'journal' | 'sudo-json-log';
  /** sudo's JSON log file: an absolute, normalised path. */
  logFile: string;
}

export interface AgentSettings {
  collector: CollectorSettings;
  approvals: ApprovalSettings;
  ephemeral: EphemeralSettings;
  discovery: DiscoverySettings;
}

function enabled(effective: readonly EffectivePolicy[], id: string): Record<string, unknown> | undefined {
  const p = effective.find((x) => x.id === id);
  return p?.state === 'enabled' ? (p.values as Record<string, unknown>) : undefined;
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

function bool(v: unknown, fallback: boolean): boolean {
  return typeof v === 'boolean' ? v : fallback;
}

export function agentSettingsOf(effective: readonly EffectivePolicy[]): AgentSettings {
  const c = enabled(effective, 'ClientDataCollection');
  const host = typeof c?.CollectorHost === 'string' ? c.CollectorHost.trim() : '';
  const port = num(c?.CollectorPort, 8003);
  const tls = bool(c?.UseTls, true);
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const a = enabled(effective, 'Approvals');
  const e = enabled(effective, 'EphemeralAccounts');
  const d = enabled(effective, 'Discovery');
  const logFile = typeof d?.LogFile === 'string' && path.posix.isAbsolute(d.LogFile) && !d.LogFile.includes('\0') ? path.posix.normalize(d.LogFile) : '/var/log/sudo.json';
  const prefix = typeof e?.AccountPrefix === 'string' && /^[a-z_][a-z0-9_-]{0,11}$/.test(e.AccountPrefix) ? e.AccountPrefix : 'ascend_';
  return {
    collector: {
      url: c && host ? `${tls ? 'https' : 'http'}://${hostPart}:${port}/` : null,
      uploadIntervalSeconds: num(c?.UploadIntervalSeconds, 60),
      collect: {
        elevations: bool(c?.CollectElevations, true),
        denials: bool(c?.CollectDenials, true),
        passcodes: bool(c?.CollectPasscodeUsage, true),
        approvals: bool(c?.CollectApprovals, true),
        policy: bool(c?.CollectPolicyEvents, true),
      },
    },
    approvals: {
      requestTimeoutMinutes: num(a?.RequestTimeoutMinutes, 30),
      justificationMinLength: num(a?.JustificationMinLength, 10),
      mfaGraceMinutes: num(a?.MfaGraceMinutes, 0),
    },
    ephemeral: {
      accountPrefix: prefix,
      maxLifetimeMinutes: num(e?.MaxLifetimeMinutes, 480),
      cleanupIntervalMinutes: num(e?.CleanupIntervalMinutes, 60),
      removeProfileFolders: bool(e?.RemoveProfileFolders, true),
    },
    discovery: { enabled: d !== undefined, source: d?.Source === 'sudo-json-log' ? 'sudo-json-log' : 'journal', logFile },
  };
}

/** Which ClientDataCollection class an event type belongs to (every type of the contract has one). */
export function eventClass(type: EventType): keyof CollectorSettings['collect'] {
  switch (type) {
    case 'elevation-denied':
      return 'denials';
    case 'passcode-redeemed':
    case 'passcode-refused':
      return 'passcodes';
    case 'approval-requested':
    case 'justification':
    case 'mfa':
      return 'approvals';
    case 'policy-applied':
    case 'agent-error':
      return 'policy';
    case 'process-elevated':
    case 'elevation-discovered':
    case 'session-expired':
    case 'session-ended':
    case 'processes-ended':
      return 'elevations';
    default: {
      // A new event type must be given its class here (a compile error until it is).
      const unclassified: never = type;
      void unclassified;
      return 'elevations';
    }
  }
}
