/**
 * Whether a name or id is known to the name service (NSS: files, and sssd, winbind, LDAP ...
 * as /etc/nsswitch.conf says), as useradd -u and groupadd -g ask it: an ephemeral account
 * must not share a uid or gid with a directory account the local files do not show.
 * Asked with /usr/bin/getent (absolute, clean environment), never while the account files are
 * locked on the common path (a directory lookup can be slow). A lookup that fails (neither
 * found nor "not found") counts as taken: fail closed.
 */
import { execFile } from 'node:child_process';

export type NssDb = 'passwd' | 'group';
/** True when `key` (a name or a numeric id) is known in `db`. */
export type NssLookup = (db: NssDb, key: string) => Promise<boolean>;

const GETENT = '/usr/bin/getent';

export const getentLookup: NssLookup = (db, key) =>
  new Promise((resolve) => {
    // getent exits 0 when found, 2 when the key is not known; anything else (a failed service, a timeout) counts as taken.
    execFile(GETENT, [db, '--', key], { env: { LC_ALL: 'C' }, timeout: 15_000, maxBuffer: 1 << 20 }, (err) => {
      if (!err) resolve(true);
      else resolve((err as { code?: unknown }).code !== 2);
    });
  });

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
