/**
 * The command line of `ascend agent run` read without oclif, for the daemon's lean entry
 * (./main.ts). It reads only plain lines, exactly as oclif reads them: long flags
 * (`--name value`, `--name=value`), a flag that is not repeatable at most once, repeatable
 * ones repeated, integers at or above their minimum, exactly one of --policy, --domain and
 * --windows-registry. Anything else (help, an unknown flag, an argument, `--`, a value that
 * starts with `-`, a repeatable flag followed by a bare word, which oclif would take as a
 * second value) gives undefined: oclif then answers it, with its own words. Pure: no I/O.
 */
import type { AgentRunFlags } from './launch.js';

type Kind = 'string' | 'boolean' | 'integer';

interface FlagSpec {
  kind: Kind;
  multiple?: true;
  min?: number;
}

/** Every flag of `agent run` (src/cli/commands/agent/run.ts; a test keeps the two the same). */
export const AGENT_RUN_FLAGS: Readonly<Record<string, FlagSpec>> = {
  'state-dir': { kind: 'string' },
  socket: { kind: 'string' },
  policy: { kind: 'string', multiple: true },
  domain: { kind: 'boolean' },
  'windows-registry': { kind: 'boolean' },
  url: { kind: 'string' },
  'password-file': { kind: 'string' },
  'ca-file': { kind: 'string' },
  'tls-insecure': { kind: 'boolean' },
  'start-tls': { kind: 'boolean' },
  'allow-plain-ldap': { kind: 'boolean' },
  sysvol: { kind: 'string' },
  'ldap-user': { kind: 'string' },
  computer: { kind: 'string' },
  collection: { kind: 'string', multiple: true },
  collector: { kind: 'string' },
  'enroll-token': { kind: 'string' },
  'enroll-token-file': { kind: 'string' },
  'collector-ca': { kind: 'string' },
  'insecure-dev': { kind: 'boolean' },
  'trusted-owner': { kind: 'string', multiple: true },
  'spool-max-bytes': { kind: 'integer', min: 64 * 1024 },
  'ephemeral-id-range': { kind: 'string' },
  'max-connections': { kind: 'integer', min: 2 },
  'max-connections-per-user': { kind: 'integer', min: 1 },
  'group-map': { kind: 'string', multiple: true },
  'idle-exit': { kind: 'integer', min: 1 },
  'wake-every': { kind: 'integer', min: 1 },
};

const DEFAULT_STATE_DIR = '/var/lib/ascend';

/** The flags of a plain `agent run` line (the words after `agent run`), or undefined: oclif must read it. */
export function readAgentRunLine(argv: readonly string[]): AgentRunFlags | undefined {
  const seen = new Map<string, string | true | string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--') || arg === '--') return undefined;
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!Object.hasOwn(AGENT_RUN_FLAGS, name)) return undefined;
    const spec = AGENT_RUN_FLAGS[name] as FlagSpec;
    if (spec.kind === 'boolean') {
      if (eq >= 0 || seen.has(name)) return undefined;
      seen.set(name, true);
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('-')) return undefined;
      value = next;
      i++;
    }
    if (spec.kind === 'integer' && (!/^[0-9]{1,15}$/.test(value) || Number(value) < (spec.min ?? 0))) return undefined;
    if (spec.multiple) {
      // oclif takes the bare words after a repeatable flag's value as more values.
      const after = argv[i + 1];
      if (after !== undefined && !after.startsWith('-')) return undefined;
      const list = (seen.get(name) as string[] | undefined) ?? [];
      list.push(value);
      seen.set(name, list);
    } else {
      if (seen.has(name)) return undefined;
      seen.set(name, value);
    }
  }
  const sources = ['policy', 'domain', 'windows-registry'].filter((n) => seen.has(n));
  if (sources.length !== 1) return undefined;
  const str = (n: string): string | undefined => seen.get(n) as string | undefined;
  const list = (n: string): string[] | undefined => seen.get(n) as string[] | undefined;
  const bool = (n: string): boolean | undefined => (seen.has(n) ? true : undefined);
  const int = (n: string): number | undefined => (seen.has(n) ? Number(seen.get(n)) : undefined);
  return {
    'state-dir': str('state-dir') ?? DEFAULT_STATE_DIR,
    socket: str('socket'),
    policy: list('policy'),
    domain: bool('domain'),
    'windows-registry': bool('windows-registry'),
    // As connectionSettingsFromFlags (src/cli/domain-command.ts) gives them, --ldap-user the account.
    connection: {
      url: str('url'),
      user: str('ldap-user'),
      passwordFile: str('password-file'),
      caFile: str('ca-file'),
      tlsInsecure: bool('tls-insecure'),
      startTls: bool('start-tls'),
      allowPlainLdap: bool('allow-plain-ldap'),
      sysvol: str('sysvol'),
    },
    computer: str('computer'),
    collection: list('collection'),
    collector: str('collector'),
    'enroll-token': str('enroll-token'),
    'enroll-token-file': str('enroll-token-file'),
    'collector-ca': str('collector-ca'),
    'insecure-dev': seen.has('insecure-dev'),
    'trusted-owner': list('trusted-owner'),
    'spool-max-bytes': int('spool-max-bytes'),
    'ephemeral-id-range': str('ephemeral-id-range'),
    'max-connections': int('max-connections'),
    'max-connections-per-user': int('max-connections-per-user'),
    'group-map': list('group-map'),
    'idle-exit': int('idle-exit'),
    'wake-every': int('wake-every'),
  };
}
