import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AscendError } from '../errors.js';
import { writeFileAtomic } from '../local-policy/index.js';
import { ascendHome, ensureAscendHome } from './home.js';

/** Where a private key is kept. */
export type KeyStorage = 'keychain' | 'file';

/** What this console knows of a signing key: nothing secret. */
export interface KeyRecord {
  kid: string;
  /** The public key, as trusted keys carry it. */
  publicKey: string;
  /** ISO 8601, UTC. */
  created: string;
  storage: KeyStorage;
  /** Absolute path of the key file (storage "file"). */
  keyFile?: string;
  label?: string;
}

interface IndexFile {
  version: 1;
  keys: KeyRecord[];
}

export const KEY_INDEX_FILE = 'signing-keys.json';

export function keyIndexPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(ascendHome(env), KEY_INDEX_FILE);
}

function isRecord(v: unknown): v is KeyRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.kid === 'string' &&
    typeof r.publicKey === 'string' &&
    typeof r.created === 'string' &&
    (r.storage === 'keychain' || r.storage === 'file') &&
    (r.keyFile === undefined || typeof r.keyFile === 'string') &&
    (r.label === undefined || typeof r.label === 'string')
  );
}

/** The keys of this console, oldest first; empty when there is no index yet. */
export async function readKeyIndex(env: NodeJS.ProcessEnv = process.env): Promise<KeyRecord[]> {
  const file = keyIndexPath(env);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot read the key index (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AscendError('ASC_KEY_INVALID', `${file}: the key index is not JSON`);
  }
  const keys = (parsed as Partial<IndexFile> | null)?.keys;
  if (!Array.isArray(keys) || !keys.every(isRecord)) throw new AscendError('ASC_KEY_INVALID', `${file}: the key index is not {"version":1,"keys":[...]}`);
  return keys;
}

/** Adds a key to the index (atomic replace of the file, mode 600). */
export async function addToKeyIndex(record: KeyRecord, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await ensureAscendHome(env);
  const keys = await readKeyIndex(env);
  if (keys.some((k) => k.kid === record.kid)) throw new AscendError('ASC_FILE_EXISTS', `the key index lists ${record.kid} already`);
  const body: IndexFile = { version: 1, keys: [...keys, record] };
  await writeFileAtomic(keyIndexPath(env), Buffer.from(`${JSON.stringify(body, null, 2)}\n`, 'utf8'), 0o600);
}

/**
 * The key a command means: the one with --kid, else the newest of the index (the key
 * `keys init` made last, which is the one to sign with after a rotation).
 */
export function pickKey(keys: readonly KeyRecord[], kid: string | undefined): KeyRecord {
  if (kid !== undefined) {
    const found = keys.find((k) => k.kid === kid);
    if (!found) {
      throw new AscendError('ASC_KEY_NOT_FOUND', `no signing key ${kid} in the key index`, {
        hint: keys.length ? `known: ${keys.map((k) => k.kid).join(', ')}` : 'create one with "ascend keys init"',
      });
    }
    return found;
  }
  const newest = keys.at(-1); // the index is kept in creation order
  if (!newest) throw new AscendError('ASC_KEY_NOT_FOUND', 'this console has no signing key yet', { hint: 'create one with "ascend keys init", or give --key-file' });
  return newest;
}
