import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { AscendError, type ErrorCode, isAscendError } from '../errors.js';
import { importSigningKey, type PasscodeSigningKey } from '../passcode/index.js';

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

/** True where POSIX mode bits mean something (not on Windows, where ACLs decide). */
function modeBitsApply(): boolean {
  return process.platform !== 'win32';
}

/** A signing key from PKCS#8 PEM text; errors name where the text came from, never quote it. */
export function signingKeyFromPem(pem: string, where: string): PasscodeSigningKey {
  try {
    return importSigningKey(pem);
  } catch (e) {
    if (isAscendError(e)) throw new AscendError(e.code, `${where}: ${e.message}`);
    throw e;
  }
}

/**
 * Creates a file only its owner can read, for a secret (a private key, a passcode):
 * O_EXCL, so an existing file is never overwritten; mode 600 exactly; flushed before it
 * returns; removed again if the write fails. `what` names the kind in messages.
 */
export async function createPrivateFile(file: string, text: string, what: string, hint: string): Promise<string> {
  const abs = path.resolve(file);
  const parent = await fs.stat(path.dirname(abs)).catch(() => undefined);
  if (!parent?.isDirectory()) throw new AscendError('ASC_FILE_NOT_FOUND', `${file}: folder ${path.dirname(file)} does not exist`);
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await fs.open(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  } catch (e) {
    if (errno(e) === 'EEXIST') throw new AscendError('ASC_FILE_EXISTS', `${file}: exists already; a ${what} is never overwritten`, { hint });
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot create (${errno(e)})`);
  }
  try {
    // The umask may have taken bits away, never added any; set 600 exactly all the same.
    if (modeBitsApply()) await handle.chmod(0o600);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fs.rm(abs, { force: true }).catch(() => undefined);
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot write (${errno(e)})`);
  }
  await handle.close();
  return abs;
}

/** Writes a new private key file (PKCS#8 PEM), mode 600, never over an existing file. */
export function createKeyFile(file: string, privateKeyPem: string): Promise<string> {
  return createPrivateFile(file, privateKeyPem.endsWith('\n') ? privateKeyPem : `${privateKeyPem}\n`, 'key file', 'give a new path');
}

/**
 * Reads a file holding a secret, refusing one that its group or others can read or write
 * (checked on the open file, so a swap between check and read does not pass), anything that
 * is not a regular file, and anything over `maxBytes`. `insecure` makes the refusal.
 */
export async function readPrivateFile(
  file: string,
  opts: { what: string; maxBytes: number; tooLarge: ErrorCode; insecure: (mode: string) => AscendError },
): Promise<string> {
  let handle: import('node:fs/promises').FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not hang; the stat below then refuses it.
    handle = await fs.open(file, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  } catch (e) {
    if (errno(e) === 'ENOENT') throw new AscendError('ASC_FILE_NOT_FOUND', `${file}: no such ${opts.what}`);
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot read (${errno(e)})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new AscendError('ASC_FILE_UNREADABLE', `${file}: not a regular file`);
    const mode = stat.mode & 0o777;
    if (modeBitsApply() && (mode & 0o077) !== 0) throw opts.insecure(mode.toString(8).padStart(3, '0'));
    if (stat.size > opts.maxBytes) throw new AscendError(opts.tooLarge, `${file}: ${stat.size} bytes is too large for a ${opts.what}`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Reads a private key file (see readPrivateFile for what is refused). */
export async function readKeyFile(file: string): Promise<{ pem: string; key: PasscodeSigningKey }> {
  const pem = await readPrivateFile(file, {
    what: 'key file',
    maxBytes: 64 * 1024,
    tooLarge: 'ASC_KEY_INVALID',
    insecure: (mode) => new AscendError('ASC_KEY_FILE_INSECURE', `${file}: the private key file has mode ${mode}, open to group or others; run chmod 600 ${file}`),
  });
  return { pem, key: signingKeyFromPem(pem, file) };
}
