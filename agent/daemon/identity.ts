/**
 * Who is asking, from the uid the kernel gave for the socket peer: the account's name,
 * home and groups as the name service knows them (local files, or sssd/winbind for domain
 * accounts). Never from what the client says.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { releaseNssSlot, takeNssSlot } from '../executor/nss.js';
import { addonPath } from '../ipc/peer.js';

const run = promisify(execFile);

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
}

/** What the native addon's lookupAccount answers (native/peercred.c). */
interface NativeAccount {
  name: string;
  home: string;
  gid: number;
  /** null: the account is known, its groups could not be read. */
  groups: { gid: number; name: string | null }[] | null;
}
type LookupAccount = (uid: number, cb: (err: Error | null, account: NativeAccount | null) => void) => void;

let native: LookupAccount | null | undefined;
function nativeLookup(): LookupAccount | null {
  if (native !== undefined) return native;
  native = null;
  if (process.platform === 'linux') {
    try {
      const mod = createRequire(import.meta.url)(addonPath()) as { lookupAccount?: unknown };
      if (typeof mod.lookupAccount === 'function') native = mod.lookupAccount as LookupAccount;
    } catch {
      // No addon (another platform, a tree built without it): getent and id answer.
    }
  }
  return native;
}

/** Unanswered in-process lookups share one limit with the executor's (../executor/nss.ts): beyond it the forks answer. */
const LOOKUP_TIMEOUT_MS = 5000;

/**
 * The account through the name service in this process (getpwuid_r, getgrouplist, getgrgid_r on
 * a pool thread; what `getent passwd UID` and `id -G`/`id -Gn` answer, without three forks per
 * request); undefined when it cannot be asked here, so the forks answer.
 */
export function lookupInProcess(uid: number, gid: number): Promise<Requester> | undefined {
  const lookup = nativeLookup();
  if (!lookup || !takeNssSlot()) return undefined;
  return new Promise<Requester>((resolve) => {
    let settled = false;
    // As a fork that does not answer in time: the uid stands for itself.
    const timer = setTimeout(() => finish(null), LOOKUP_TIMEOUT_MS);
    timer.unref();
    function finish(account: NativeAccount | null): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!account || !account.name) {
        resolve({ uid, gid, name: `uid:${uid}`, home: null, groups: [], gids: [gid] });
        return;
      }
      // As `id -Gn` failing (a group without a name, or groups that could not be read, null): no group names, only the peer's gid.
      const named = Array.isArray(account.groups) && account.groups.every((g) => typeof g.name === 'string' && g.name !== '');
      const gids = new Set<number>([gid]);
      if (named && account.groups) for (const g of account.groups) gids.add(g.gid);
      resolve({ uid, gid, name: account.name, home: account.home || null, groups: named && account.groups ? account.groups.map((g) => g.name as string) : [], gids: [...gids] });
    }
    try {
      lookup(uid, (err, account) => {
        releaseNssSlot();
        finish(err ? null : account);
      });
    } catch {
      releaseNssSlot();
      finish(null);
    }
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
  try {
    const { stdout } = await run('getent', ['passwd', String(uid)], { timeout: 5000 });
    const fields = stdout.trim().split(':');
    if (fields.length >= 7 && fields[0]) {
      name = fields[0];
      home = fields[5] || null;
    }
  } catch {
    // Unknown to the name service: the uid stands for itself.
  }
  let groups: string[] = [];
  const gids = new Set<number>([gid]);
  if (!name.startsWith('uid:')) {
    try {
      const [names, numbers] = await Promise.all([run('id', ['-Gn', '--', name], { timeout: 5000 }), run('id', ['-G', '--', name], { timeout: 5000 })]);
      groups = names.stdout.trim().split(/\s+/).filter(Boolean);
      for (const g of numbers.stdout.trim().split(/\s+/)) if (/^\d+$/.test(g)) gids.add(Number(g));
    } catch {
      groups = [];
    }
  }
  return { uid, gid, name, home, groups, gids: [...gids] };
}

// The executable of the requester's parent (for rules that name a parent process) is read
// when the connection is accepted, before the slow lookups above: readPeerParent in
// ../ipc/peer.ts, carried in the request's IpcContext as ctx.parent.
