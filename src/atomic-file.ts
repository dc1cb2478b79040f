/**
 * Replacing a file so that a reader sees the old content or the new, never half: a
 * temporary file in the same folder, flushed, renamed over the target, then the folder
 * flushed so the rename itself survives a crash. The target keeps its mode (and, as
 * root, its owner: Samba maps both to its ACLs); a new file gets `mode`. Errors are the
 * system's own (with `code`); callers turn them into their error codes.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

export async function replaceFileAtomically(file: string, bytes: Uint8Array, mode = 0o644): Promise<void> {
  const target = path.resolve(file);
  const folder = path.dirname(target);
  let old: { mode: number; uid: number; gid: number } | undefined;
  try {
    const st = await fs.stat(target);
    if (!st.isFile()) throw Object.assign(new Error(`${target} is not a regular file`), { code: 'EISDIR' });
    old = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const temp = path.join(folder, `.${path.basename(target)}.ascend-${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(temp, 'wx', old?.mode ?? mode);
    await handle.writeFile(bytes);
    await handle.sync();
    if (old !== undefined) {
      await handle.chmod(old.mode);
      if (process.getuid?.() === 0) await handle.chown(old.uid, old.gid).catch(() => undefined);
    }
    await handle.close();
    handle = undefined;
    await renameOver(temp, target);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw e;
  }
  // Best effort: some filesystems (and Windows) refuse to sync a folder.
  const dir = await fs.open(folder, 'r').catch(() => undefined);
  await dir?.sync().catch(() => undefined);
  await dir?.close().catch(() => undefined);
}

/** rename(2), retried on Windows while another process (an indexer, a reader) holds the target. */
async function renameOver(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.rename(from, to);
      return;
    } catch (e) {
      const c = (e as NodeJS.ErrnoException).code;
      if (process.platform !== 'win32' || attempt >= 10 || (c !== 'EPERM' && c !== 'EACCES' && c !== 'EBUSY')) throw e;
      await new Promise((r) => setTimeout(r, Math.min(400, 25 * 2 ** attempt)));
    }
  }
}
