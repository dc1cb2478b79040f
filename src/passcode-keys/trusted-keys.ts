import { promises as fs } from 'node:fs';
import { AscendError } from '../errors.js';
import { KEY_ID_PATTERN, keyIdOf, parsePublicKey } from '../passcode/index.js';

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

/** Checks a key id's form: "asc-" and 16 lower-case hex digits. */
export function checkKid(kid: string, where: string): string {
  if (!KEY_ID_PATTERN.test(kid)) throw new AscendError('ASC_KEY_INVALID', `${where}: ${JSON.stringify(kid.slice(0, 80))} is not a key id (asc- and 16 hex digits)`);
  return kid;
}

/**
 * Checks a trusted key: an Ed25519 public key in its text form whose derived key id is the
 * one given (agents ignore a key listed under another id, so it is refused here).
 */
export function checkTrustedKey(kid: string, publicKey: string, where: string): TrustedKeyEntry {
  checkKid(kid, where);
  let derived: string;
  try {
    derived = keyIdOf(parsePublicKey(publicKey));
  } catch (e) {
    throw new AscendError('ASC_KEY_INVALID', `${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (derived !== kid) throw new AscendError('ASC_KEY_INVALID', `${where}: the public key's id is ${derived}, not ${kid}`);
  return { kid, publicKey: publicKey.trim() };
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
    const key = checkTrustedKey(item.kid, item.publicKey, `${where}: keys[${i}]`);
    if (seen.has(key.kid)) throw new AscendError('ASC_KEY_INVALID', `${where}: key id ${key.kid} is listed twice`);
    seen.add(key.kid);
    return key;
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
