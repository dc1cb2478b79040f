import { createHash } from 'node:crypto';
import { AscendError } from '../../src/errors.js';
import type { ElevationSpec } from './contract.js';

/** The well-known SID of BUILTIN\Administrators. */
export const ADMINISTRATORS_SID = 'S-1-5-32-544';
export const ADMINISTRATORS_NAME = 'BUILTIN\\Administrators';

/** The fixed PATH elevated programs get, and names in spec.command[0] are resolved on. */
export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const ELEVATION_ID = /^[A-Za-z0-9-]{1,36}$/;
/** `ascend-ephemeral <elevationId> <createdAtMs> <instanceId>`; markers of older agents have no instance id. */
const MARKER = /^ascend-ephemeral ([A-Za-z0-9-]{1,36}) ([0-9]{1,16})(?: ([0-9a-f]{16}))?$/;

/** A value quoted for a one-line message: JSON, control characters escaped, cut to 120 characters. */
export function show(value: string): string {
  const s = JSON.stringify(value);
  return s.length > 120 ? `${s.slice(0, 117)}..."` : s;
}

/** Checks what both platforms need of a spec; throws ASC_EXEC_FAILED with a one-line message. */
export function checkSpec(spec: ElevationSpec): void {
  const fail = (msg: string): never => {
    throw new AscendError('ASC_EXEC_FAILED', msg);
  };
  if (typeof spec.elevationId !== 'string' || !ELEVATION_ID.test(spec.elevationId)) {
    fail(`Elevation id ${show(String(spec.elevationId))} is not 1 to 36 characters of [A-Za-z0-9-].`);
  }
  if (!Array.isArray(spec.command) || spec.command.length === 0) fail('The elevation has an empty command.');
  for (const a of spec.command) {
    if (typeof a !== 'string') fail('A command argument is not a string.');
    if (a.includes('\0')) fail('A command argument contains a NUL character.');
  }
  if (spec.command[0] === '') fail('The program name is empty.');
  const r = spec.requester;
  if (!r || !Number.isInteger(r.uid) || r.uid < 0 || !Number.isInteger(r.gid) || r.gid < 0) {
    fail('The requester has no valid uid and gid.');
  }
  if (spec.stdio !== 'pipe') fail(`Only stdio 'pipe' is supported, not ${show(String(spec.stdio))}.`);
  if (!Array.isArray(spec.groups)) fail('The elevation groups are not a list.');
}

/** Keeps only TERM, LANG, LC_*, TZ, COLUMNS and LINES with sane values; everything else is dropped. */
export function filterClientEnv(env: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!env) return out;
  for (const [k, v] of Object.entries(env)) {
    const allowed = k === 'TERM' || k === 'LANG' || k === 'TZ' || k === 'COLUMNS' || k === 'LINES' || /^LC_[A-Z]+$/.test(k);
    if (!allowed || typeof v !== 'string' || v.length > 256 || /[\0\n\r]/.test(v)) continue;
    if ((k === 'COLUMNS' || k === 'LINES') && !/^[0-9]{1,5}$/.test(v)) continue;
    out[k] = v;
  }
  return out;
}

/** Lowercase hex digits derived from the elevation id (deterministic, so a restart finds the same name). */
export function shortId(elevationId: string, length: number): string {
  return createHash('sha256').update(elevationId, 'utf8').digest('hex').slice(0, length);
}

/** Checks an account prefix: starts with a lowercase letter or '_', then [a-z0-9_-], leaving room for ≥ 8 id digits. */
export function checkPrefix(prefix: string, maxNameLength: number): void {
  if (typeof prefix !== 'string' || !/^[a-z_][a-z0-9_-]*$/.test(prefix) || prefix.length > maxNameLength - 8) {
    throw new AscendError(
      'ASC_AGENT_CONFIG',
      `Account prefix ${show(String(prefix))} must be [a-z_][a-z0-9_-]* of at most ${maxNameLength - 8} characters.`,
    );
  }
}

/** The ephemeral account name of an elevation: prefix + up to 12 hex digits, within maxNameLength. */
export function accountNameFor(prefix: string, elevationId: string, maxNameLength: number): string {
  return prefix + shortId(elevationId, Math.min(12, maxNameLength - prefix.length));
}

/** The marker written in the account's GECOS / description field: the elevation, when, and which agent instance made it. */
export function markerFor(elevationId: string, createdAtMs: number, instanceId: string): string {
  return `ascend-ephemeral ${elevationId} ${createdAtMs} ${instanceId}`;
}

/** The parts of a marker; instanceId is null for a marker of an older agent (it names no instance). */
export function parseMarker(gecos: string): { elevationId: string; createdAtMs: number; instanceId: string | null } | null {
  const m = MARKER.exec(gecos);
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  return { elevationId: m[1], createdAtMs: Number(m[2]), instanceId: m[3] ?? null };
}

export function isElevationId(id: string): boolean {
  return ELEVATION_ID.test(id);
}

/**
 * Maps the token's groups to host group names with the group map (keys compared case-insensitively).
 * Returns the host groups (deduplicated, in order) and the entries that mapped to nothing.
 */
export function mapGroups(
  groups: readonly string[],
  groupMap: Readonly<Record<string, readonly string[]>>,
): { hostGroups: string[]; unmapped: string[] } {
  const lower = new Map<string, readonly string[]>();
  for (const [k, v] of Object.entries(groupMap)) lower.set(k.toLowerCase(), v);
  const hostGroups: string[] = [];
  const unmapped: string[] = [];
  for (const g of groups) {
    const mapped = lower.get(String(g).toLowerCase());
    if (!mapped || mapped.length === 0) {
      unmapped.push(String(g));
      continue;
    }
    for (const h of mapped) if (!hostGroups.includes(h)) hostGroups.push(h);
  }
  return { hostGroups, unmapped };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
