/**
 * Opening a file a user named, as root, without ever opening anything but a regular file.
 *
 * lstat and then open(O_NOFOLLOW) leave a gap: O_NOFOLLOW covers only the last component, so
 * a folder of the path swapped for a link between the two makes the open land on whatever the
 * link leads to (a device whose open does something: a watchdog, a tape, a serial line). Here
 * the path is opened with O_PATH first, which opens nothing (no device's open runs, no terminal
 * becomes controlling); what that descriptor names is checked to be a regular file, and only
 * that file is opened, through the descriptor (/proc/self/fd), never the path again. Elsewhere
 * than Linux: lstat, then open without following the last link.
 */
import { constants as fsc, promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** O_PATH (Linux, every architecture Node runs on but alpha, parisc and sparc). */
const O_PATH = 0o10000000;

/**
 * `file` opened read-only (non-blocking, never a controlling terminal) when it is a regular
 * file and not a symbolic link; null when it is something else. Throws as open does (ENOENT ...).
 */
export async function openRegularOnly(file: string): Promise<FileHandle | null> {
  const flags = fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOCTTY;
  if (process.platform !== 'linux') {
    const pre: Stats = await fs.lstat(file);
    if (!pre.isFile()) return null;
    const h = await fs.open(file, flags | fsc.O_NOFOLLOW);
    if ((await h.stat()).isFile()) return h;
    await h.close();
    return null;
  }
  const located = await fs.open(file, O_PATH | fsc.O_NOFOLLOW);
  try {
    if (!(await located.stat()).isFile()) return null;
    return await fs.open(`/proc/self/fd/${located.fd}`, flags);
  } finally {
    await located.close();
  }
}
