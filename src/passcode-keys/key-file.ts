import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { AscendError } from '../errors.js';

const PEM_BEGIN = '-----BEGIN PRIVATE KEY-----';
const PEM_END = '-----END PRIVATE KEY-----';

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

/** True where POSIX mode bits mean something (not on Windows, where ACLs decide). */
function modeBitsApply(): boolean {
  return process.platform !== 'win32';
}

/**
 * Parses a PKCS#8 PEM and checks it is an Ed25519 private key. The message never quotes
 * the file's content.
 */
export function parsePrivateKeyPem(pem: string, where: string): KeyObject {
  const text = pem.trim();
  if (!text.startsWith(PEM_BEGIN) || !text.endsWith(PEM_END)) {
    throw new AscendError('ASC_KEY_INVALID', `${where}: not a PKCS#8 PEM private key ("${PEM_BEGIN}")`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    throw new AscendError('ASC_KEY_INVALID', `${where}: the PEM does not decode to a private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AscendError('ASC_KEY_INVALID', `${where}: a ${key.asymmetricKeyType ?? 'non-asymmetric'} key; passcodes are signed with Ed25519`);
  }
  return key;
}

/** The SPKI DER of an Ed25519 key's public half, base64. */
export function publicKeySpkiBase64(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
}

/**
 * Writes a new private key file: created with O_EXCL (an existing file is never
 * overwritten) and mode 600, flushed before it returns.
 */
export async function createKeyFile(file: string, privateKeyPem: string): Promise<string> {
  const abs = path.resolve(file);
  const parent = await fs.stat(path.dirname(abs)).catch(() => undefined);
  if (!parent?.isDirectory()) throw new AscendError('ASC_FILE_NOT_FOUND', `${file}: folder ${path.dirname(file)} does not exist`);
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await fs.open(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  } catch (e) {
    if (errno(e) === 'EEXIST') throw new AscendError('ASC_FILE_EXISTS', `${file}: exists already; a key file is never overwritten`, { hint: 'give a new path' });
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot create (${errno(e)})`);
  }
  try {
    // The umask may have taken bits away, never added any; set 600 exactly all the same.
    if (modeBitsApply()) await handle.chmod(0o600);
    await handle.writeFile(privateKeyPem.endsWith('\n') ? privateKeyPem : `${privateKeyPem}\n`, 'utf8');
    await handle.sync();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fs.rm(abs, { force: true }).catch(() => undefined);
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot write (${errno(e)})`);
  }
  await handle.close();
  return abs;
}

/**
 * Reads a private key file, refusing one that its group or others can read or write
 * (checked on the open file, so a swap between check and read does not pass).
 */
export async function readKeyFile(file: string): Promise<{ pem: string; key: KeyObject }> {
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await fs.open(file, fsc.O_RDONLY);
  } catch (e) {
    if (errno(e) === 'ENOENT') throw new AscendError('ASC_FILE_NOT_FOUND', `${file}: no such key file`);
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot read (${errno(e)})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new AscendError('ASC_FILE_UNREADABLE', `${file}: not a regular file`);
    const mode = stat.mode & 0o777;
    if (modeBitsApply() && (mode & 0o077) !== 0) {
      throw new AscendError('ASC_KEY_FILE_INSECURE', `${file}: the private key file has mode ${mode.toString(8).padStart(3, '0')}, so others can read it; run chmod 600 ${file}`);
    }
    if (stat.size > 64 * 1024) throw new AscendError('ASC_KEY_INVALID', `${file}: ${stat.size} bytes is too large for a key file`);
    const pem = await handle.readFile('utf8');
    return { pem, key: parsePrivateKeyPem(pem, file) };
  } finally {
    await handle.close().catch(() => undefined);
  }
}
