/**
 * Who is asking, from the uid the kernel gave for the socket peer: the account's name,
 * home and groups as the name service knows them (local files, or sssd/winbind for domain
 * accounts). Never from what the client says.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

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

/** Reads the account of a uid through getent (so NSS modules answer too). */
export async function requesterOf(uid: number, gid: number): Promise<Requester> {
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
