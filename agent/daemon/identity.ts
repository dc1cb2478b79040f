/**
 * Who is asking, from the uid the kernel gave for the socket peer: the account's name,
 * home and groups as the name service knows them (local files, or sssd/winbind for domain
 * accounts). Never from what the client says.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { addonFunction, askInProcess, FORK_ENV, GETENT } from '../executor/nss.js';
import { firstLine } from '../executor/linux-host.js';
import { escapeControlChars } from '../../src/log-line.js';

// node:util through getBuiltinModule, not `import`: an ES import reads every export, and its lazy
// ones load modules the agent never uses (parseArgs, diff, worker_threads): 2 MB of resident memory.
const run = process.getBuiltinModule('node:util').promisify(execFile);

export interface Requester {
  uid: number;
  gid: number;
  /** The account name, or "uid:N" when the name service does not know the uid. */
  name: string;
  home: string | null;
  /** Group names of the account (primary first). */
  groups: string[];
  /** Every gid of the account (primary and supplementary), for permission checks. */
  gids: number[];
  /**
   * Set when the name service could not say in full who this is: the uid is unknown to it, it
   * failed or did not answer, or a group of the account has no name or could not be read. Rules
   * name users and groups, so a deny rule could not be checked: elevations and passcode
   * redemptions are refused (fail closed); status requests are still answered.
   */
  unresolved?: string;
}

// Why the name service could not say who asks. Account names come from it (a directory's
// admins): shown escaped, as every text for the terminal.
const groupUnnamed = (name: string, gid: number): string => `group id ${gid} of ${escapeControlChars(name)} has no name in the name service`;
const groupsUnread = (name: string): string => `the groups of ${escapeControlChars(name)} could not be read from the name service`;
const uidUnknown = (uid: number): string => `uid ${uid} is not known to the name service`;
const noAnswer = (uid: number): string => `the name service did not answer for uid ${uid} within ${LOOKUP_TIMEOUT_MS / 1000} s`;
const nameElsewhere = (name: string, uid: number): string => `the name service gave the name ${escapeControlChars(name)} for uid ${uid}, and another uid for that name`;
const nameUnknown = (name: string, uid: number): string => `the name service gave the name ${escapeControlChars(name)} for uid ${uid}, and does not know that name`;
const failedFor = (uid: number, why: string): string => `the name service failed for uid ${uid}: ${why}`;

/** What the native addon's lookupAccount answers (native/peercred.c). */
interface NativeAccount {
  name: string;
  home: string;
  gid: number;
  /** null: the account is known, its groups could not be read (or, with nameElsewhere, were not). */
  groups: { gid: number; name: string | null }[] | null;
  /** Its name looks up to another uid (a local and a directory account share the name), or to no account. */
  nameElsewhere?: 'other-uid' | 'unknown';
}
type LookupAccount = (uid: number, cb: (err: Error | null, account: NativeAccount | null) => void) => void;

/** Unanswered in-process lookups share one limit with the executor's (../executor/nss.ts): beyond it the forks answer. */
const LOOKUP_TIMEOUT_MS = 5000;

/**
 * The account through the name service in this process (getpwuid_r, getgrouplist, getgrgid_r on
 * a pool thread; what `getent passwd UID` and `id -G`/`id -Gn` answer, without three forks per
 * request); undefined when it cannot be asked here, so the forks answer.
 */
export function lookupInProcess(uid: number, gid: number): Promise<Requester> | undefined {
  const lookup = addonFunction<LookupAccount>('lookupAccount');
  const asked = lookup ? askInProcess<NativeAccount | null>((cb) => lookup(uid, cb), LOOKUP_TIMEOUT_MS) : undefined;
  if (!asked) return undefined;
  return asked.then((outcome) => {
    // As a fork that fails or does not answer in time: the uid stands for itself, unresolved.
    // The addon's error says "the name service failed for uid N: WHY".
    const account = outcome.ok ? outcome.value : null;
    if (!outcome.ok || !account || !account.name) {
      const unresolved = outcome.ok ? uidUnknown(uid) : outcome.timedOut ? noAnswer(uid) : firstLine(outcome.error) || failedFor(uid, 'unknown error');
      return { uid, gid, name: `uid:${uid}`, home: null, groups: [], gids: [gid], unresolved };
    }
    // getgrouplist (and a login) find the groups by the name: a name that leads to another
    // account would give that account's groups (as the forks' `id -u NAME` check).
    if (account.nameElsewhere !== undefined) {
      const why = account.nameElsewhere === 'other-uid' ? nameElsewhere(account.name, uid) : nameUnknown(account.name, uid);
      return { uid, gid, name: account.name, home: account.home || null, groups: [], gids: [gid], unresolved: why };
    }
    // As `id -Gn` failing (a group without a name, or groups that could not be read, null): no group names, only the peer's gid.
    const unnamed = account.groups?.find((g) => typeof g.name !== 'string' || g.name === '');
    const named = Array.isArray(account.groups) && !unnamed;
    const gids = new Set<number>([gid]);
    if (named && account.groups) for (const g of account.groups) gids.add(g.gid);
    const requester: Requester = { uid, gid, name: account.name, home: account.home || null, groups: named && account.groups ? account.groups.map((g) => g.name as string) : [], gids: [...gids] };
    if (!named) requester.unresolved = unnamed ? groupUnnamed(account.name, unnamed.gid) : groupsUnread(account.name);
    return requester;
  });
}

/** Reads the account of a uid through the name service (so NSS modules answer too). */
export async function requesterOf(uid: number, gid: number): Promise<Requester> {
  return (await lookupInProcess(uid, gid)) ?? requesterByForks(uid, gid);
}

/** The same through getent and id (where the addon is not there, or lookups hang). */
export async function requesterByForks(uid: number, gid: number): Promise<Requester> {
  let name = `uid:${uid}`;
  let home: string | null = null;
  let unresolved: string | undefined;
  try {
    const { stdout } = await run(GETENT, ['passwd', String(uid)], { timeout: LOOKUP_TIMEOUT_MS, env: FORK_ENV });
    const fields = stdout.trim().split(':');
    if (fields.length >= 7 && fields[0]) {
      name = fields[0];
      home = fields[5] || null;
    } else {
      unresolved = failedFor(uid, 'getent answered no account');
    }
  } catch (e) {
    // getent's status 2: the name service answered, and does not know the uid. Anything else (a
    // failure, no answer in time) leaves it unknown whether it would have named someone.
    const err = e as { code?: unknown; killed?: boolean; signal?: unknown };
    unresolved = err.code === 2 && !err.killed ? uidUnknown(uid) : err.killed || err.signal ? noAnswer(uid) : failedFor(uid, `getent ${typeof err.code === 'number' ? `exited with status ${err.code}` : 'could not run'}`);
  }
  let groups: string[] = [];
  const gids = new Set<number>([gid]);
  if (unresolved === undefined) {
    try {
      // id looks the account up by its name: the uid it finds must be the requester's (a local
      // and a directory account may share a name). Lists separated by NUL (-z): a directory
      // group's name may hold blanks ("contractors eu@corp.example"), one group, not two.
      const opts = { timeout: LOOKUP_TIMEOUT_MS, env: FORK_ENV };
      const [idUid, names, numbers] = await Promise.all([run(ID, ['-u', '--', name], opts), run(ID, ['-Gnz', '--', name], opts), run(ID, ['-Gz', '--', name], opts)]);
      const nameList = names.stdout.split('\0').filter(Boolean);
      const gidList = numbers.stdout.split('\0').filter(Boolean);
      if (idUid.stdout.trim() !== String(uid)) {
        unresolved = nameElsewhere(name, uid);
      } else if (nameList.length !== gidList.length || !gidList.every((g) => /^\d+$/.test(g))) {
        unresolved = groupsUnread(name);
      } else {
        groups = nameList;
        for (const g of gidList) gids.add(Number(g));
      }
    } catch (e) {
      // id names each group it cannot name on stderr ("cannot find name for group ID N").
      groups = [];
      const unnamed = /cannot find name for group ID (\d+)/.exec(String((e as { stderr?: unknown }).stderr ?? ''));
      unresolved = unnamed ? groupUnnamed(name, Number(unnamed[1])) : groupsUnread(name);
    }
  }
  return { uid, gid, name, home, groups, gids: [...gids], ...(unresolved !== undefined ? { unresolved } : {}) };
}

/** id by its absolute path (getent: ../executor/nss.ts), in the C locale of FORK_ENV: its messages are read. */
const ID = ['/usr/bin/id', '/bin/id'].find((p) => existsSync(p)) ?? '/usr/bin/id';


// The executable of the requester's parent (for rules that name a parent process) is read
// when the connection is accepted, before the slow lookups above: readPeerParent in
// ../ipc/peer.ts, carried in the request's IpcContext as ctx.parent.
