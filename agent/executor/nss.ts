/**
 * Whether a name or id is known to the name service (NSS: files, and sssd, winbind, LDAP ...
 * as /etc/nsswitch.conf says), as useradd -u and groupadd -g ask it: an ephemeral account
 * must not share a uid or gid with a directory account the local files do not show.
 * Asked with /usr/bin/getent (absolute, clean environment), never while the account files are
 * locked on the common path (a directory lookup can be slow). A lookup that fails (neither
 * found nor "not found") counts as taken: fail closed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { addonPath } from '../ipc/peer.js';

export type NssDb = 'passwd' | 'group';
/** True when `key` (a name or a numeric id) is known in `db`. */
export type NssLookup = (db: NssDb, key: string) => Promise<boolean>;

/** getent by its absolute path (/usr/bin, else /bin where /bin is not merged into /usr), and the environment of every name-service fork (never the agent's own PATH or locale). */
export const GETENT = ['/usr/bin/getent', '/bin/getent'].find((p) => existsSync(p)) ?? '/usr/bin/getent';
export const FORK_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

export const getentLookup: NssLookup = (db, key) =>
  new Promise((resolve) => {
    // getent exits 0 when found, 2 when the key is not known; anything else (a failed service, a timeout) counts as taken.
    execFile(GETENT, [db, '--', key], { env: FORK_ENV, timeout: 15_000, maxBuffer: 1 << 20 }, (err) => {
      if (!err) resolve(true);
      else resolve((err as { code?: unknown }).code !== 2);
    });
  });

type NssKnown = (db: NssDb, key: string, cb: (err: Error | null, found: boolean) => void) => void;

let addonModule: Record<string, unknown> | null | undefined;
/**
 * A function of the native addon (native/peercred.c) by its name, for this module,
 * agent/daemon/identity.ts and deny-groups.ts; null where the addon is not built or the platform is not Linux
 * (then getent and id answer). Loaded once.
 */
export function addonFunction<F>(name: 'nssKnown' | 'lookupAccount' | 'groupMembership'): F | null {
  if (addonModule === undefined) {
    addonModule = null;
    if (process.platform === 'linux') {
      try {
        addonModule = createRequire(import.meta.url)(addonPath()) as Record<string, unknown>;
      } catch {
        // No addon here: the forks answer.
      }
    }
  }
  const fn = addonModule?.[name];
  // An addon built from older sources (a checkout not rebuilt) lacks a promise a function makes now: the forks answer instead.
  // An addon that does not say its level is not used at all: builds from before the level came
  // differ in promises it cannot tell apart (groupMembership compared member names by case once).
  const level = addonModule?.abiLevel;
  if (typeof level !== 'number' || level < (ADDON_LEVEL_NEEDED[name] ?? 1)) return null;
  return typeof fn === 'function' ? (fn as F) : null;
}
/**
 * The addon's abiLevel a function needs (native/peercred.c), 1 unless named: 2 for lookupAccount,
 * which checks that the account's name leads back to its uid, and for groupMembership, whose
 * member names compare without case (as getent's answer is read).
 */
const ADDON_LEVEL_NEEDED: Partial<Record<string, number>> = { lookupAccount: 2, groupMembership: 2 };
/**
 * In-process lookups not answered yet, of this module and agent/daemon/identity.ts together:
 * each holds one of the four threads of libuv's pool (shared with the agent's file I/O) until
 * the name service answers. While two are out (a name service that hangs), lookups fork
 * getent/id instead, so the pool always keeps two threads for everything else.
 */
let inFlight = 0;
const MAX_IN_FLIGHT = 2;
/** Takes a slot for one in-process lookup while fewer than `limit` are out; false otherwise (fork instead). */
export function takeNssSlot(limit = MAX_IN_FLIGHT): boolean {
  if (inFlight >= Math.min(limit, MAX_IN_FLIGHT)) return false;
  inFlight++;
  return true;
}
/** Gives back a slot taken with takeNssSlot, once the native call has answered. */
export function releaseNssSlot(): void {
  inFlight = Math.max(0, inFlight - 1);
}

/**
 * The same question asked in the agent's own process (native/peercred.c nssKnown: getpwnam_r,
 * getpwuid_r, getgrnam_r, getgrgid_r on a thread of libuv's pool), without a fork; getent
 * answers where the addon is not there or lookups hang. A failed or timed-out lookup counts as
 * taken, as with getent.
 */
export const nssLookup: NssLookup = (db, key) => {
  const known = addonFunction<NssKnown>('nssKnown');
  const asked = known && key.length > 0 && key.length <= 1024 && !key.includes('\0') ? askInProcess<boolean>((cb) => known(db, key, cb), 15_000) : undefined;
  if (!asked) return getentLookup(db, key);
  return asked.then((o) => !o.ok || o.value);
};

/** A lookup of the name service that did not answer within its time (in process or forked). */
export class NameServiceTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${Math.ceil(timeoutMs / 1000)} s`);
    this.name = 'NameServiceTimeout';
  }
}

/** What one in-process lookup came to: its answer, or why there is none (it failed, or did not answer in time). */
export type InProcessOutcome<T> = { ok: true; value: T } | { ok: false; error: string; timedOut: boolean };

/**
 * Asks the addon (`ask` calls one of its functions with the callback) on libuv's pool, under the
 * shared limit of unanswered lookups and a time limit: its outcome, or undefined when no slot is
 * free (the caller forks instead; `slots` lowers the limit for a caller that must leave the others
 * to requests). The slot is given back when the addon answers, not at the time limit: a lookup that
 * hangs keeps its pool thread, and counts.
 */
export function askInProcess<T>(ask: (cb: (err: Error | null, value: T) => void) => void, timeoutMs: number, slots = MAX_IN_FLIGHT): Promise<InProcessOutcome<T>> | undefined {
  if (!takeNssSlot(slots)) return undefined;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: InProcessOutcome<T>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ ok: false, error: new NameServiceTimeout(timeoutMs).message, timedOut: true }), timeoutMs);
    timer.unref();
    try {
      ask((err, value) => {
        releaseNssSlot();
        finish(err ? { ok: false, error: err.message, timedOut: false } : { ok: true, value });
      });
    } catch (e) {
      releaseNssSlot();
      finish({ ok: false, error: e instanceof Error ? e.message : String(e), timedOut: false });
    }
  });
}

/** Whether `key` is taken by a user or a group: both asked at once (two getent processes run side by side). */
async function eitherTaken(lookup: NssLookup, key: string): Promise<boolean> {
  const [user, group] = await Promise.all([lookup('passwd', key), lookup('group', key)]);
  return user || group;
}

/** Whether uid/gid `id` is taken by a user or a group of the name service. */
export async function idTaken(lookup: NssLookup, id: number): Promise<boolean> {
  return eitherTaken(lookup, String(id));
}

/** Whether `name` is taken by a user or a group of the name service. */
export async function nameTaken(lookup: NssLookup, name: string): Promise<boolean> {
  return eitherTaken(lookup, name);
}

/**
 * The first id `next()` hands out that the name service does not know; each one it knows is
 * burnt (the allocator never hands an id out twice) and reported. Gives up after `tries`.
 */
export async function firstFreeId(next: () => Promise<number>, lookup: NssLookup, burnt: (id: number) => void, tries = 20): Promise<number | null> {
  for (let i = 0; i < tries; i++) {
    const id = await next();
    if (!(await idTaken(lookup, id))) return id;
    burnt(id);
  }
  return null;
}
