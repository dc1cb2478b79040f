import { promises as fs } from 'node:fs';
import { AscendError } from '../errors.js';

/** A public key agents trust, as Group Policy carries it (TrustedKeys: name = kid, value = public key). */
export interface TrustedKeyEntry {
  kid: string;
  publicKey: string;
}

/**
 * The trusted-keys file that `ascend keys export-public` writes and `--trusted-keys FILE`
 * reads: `{"keys":[{"kid":"...","publicKey":"..."}]}`. Other members of the object and of
 * each key are ignored, so `ascend keys list --json` is readable too.
 */
export interface TrustedKeysFile {
  keys: TrustedKeyEntry[];
}

/** Checks a key id: it becomes a registry value name and a JWS header member. */
export function checkKid(kid: string, where: string): string {
  if (kid.length === 0 || kid.length > 200) throw new AscendError('ASC_KEY_INVALID', `${where}: a key id must have 1 to 200 characters`);
  if (/[\u0000-\u001f\u007f\s=,]/.test(kid)) throw new AscendError('ASC_KEY_INVALID', `${where}: key id ${JSON.stringify(kid)} contains whitespace, a control character, "=" or ","`);
  if (kid.startsWith('**')) throw new AscendError('ASC_KEY_INVALID', `${where}: a key id may not start with "**"`);
  return kid;
}

export function checkPublicKeyText(publicKey: string, where: string): string {
  if (!/^[A-Za-z0-9+/_=-]{16,2048}$/.test(publicKey)) throw new AscendError('ASC_KEY_INVALID', `${where}: the public key is not base64 text`);
  return publicKey;
}

export function formatTrustedKeys(keys: readonly TrustedKeyEntry[]): string {
  const body: TrustedKeysFile = { keys: keys.map(({ kid, publicKey }) => ({ kid, publicKey })) };
  return `${JSON.stringify(body, null, 2)}\n`;
}

export function parseTrustedKeys(text: string, where: string): TrustedKeyEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AscendError('ASC_KEY_INVALID', `${where}: not JSON; a trusted-keys file is {"keys":[{"kid","publicKey"}]}`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new AscendError('ASC_KEY_INVALID', `${where}: no "keys" array; a trusted-keys file is {"keys":[{"kid","publicKey"}]}`);
  const seen = new Set<string>();
  return keys.map((k: unknown, i): TrustedKeyEntry => {
    const item = k as { kid?: unknown; publicKey?: unknown } | null;
    if (typeof item?.kid !== 'string' || typeof item.publicKey !== 'string') throw new AscendError('ASC_KEY_INVALID', `${where}: keys[${i}] lacks "kid" or "publicKey"`);
    const kid = checkKid(item.kid, `${where}: keys[${i}]`);
    if (seen.has(kid)) throw new AscendError('ASC_KEY_INVALID', `${where}: key id ${kid} is listed twice`);
    seen.add(kid);
    return { kid, publicKey: checkPublicKeyText(item.publicKey, `${where}: keys[${i}]`) };
  });
}

export async function readTrustedKeysFile(file: string): Promise<TrustedKeyEntry[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AscendError('ASC_FILE_NOT_FOUND', `${file}: no such file`);
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot read (${code ?? String(e)})`);
  }
  return parseTrustedKeys(text, file);
}
