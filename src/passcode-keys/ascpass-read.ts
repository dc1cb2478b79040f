/**
 * Reading a `.ascpass` file as the user, for the commands that hand it to the agent (`ascend
 * tse redeem`, `ascend elevate --passcode`). Its own module so that the lean client bundles
 * this and nothing else of the passcode code.
 */
import { promises as fs, constants as fsc } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { AscendError } from '../errors.js';

/** Larger than any real passcode file; a bigger file is not read. */
export const MAX_ASCPASS_BYTES = 256 * 1024;

export async function readAscpassText(file: string): Promise<string> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not hang; the stat below then refuses it.
    handle = await fs.open(file, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AscendError('ASC_FILE_NOT_FOUND', `${file}: no such file`);
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot read (${code ?? String(e)})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new AscendError('ASC_FILE_UNREADABLE', `${file}: not a regular file`);
    if (stat.size > MAX_ASCPASS_BYTES) throw new AscendError('ASC_PASSCODE_MALFORMED', `${file}: ${stat.size} bytes is too large for a passcode file`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close().catch(() => undefined);
  }
}
