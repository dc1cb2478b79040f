import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AscendError } from '../errors.js';
import { generateSigningKeyPair, publicKeyOf, type PasscodeSigningKey } from '../passcode/index.js';
import { createKeyFile, readKeyFile, signingKeyFromPem } from './key-file.js';
import { addToKeyIndex, keyIndexPath, pickKey, readKeyIndex, type KeyRecord } from './key-index.js';
import { Keychain, keychainProblem } from './keychain.js';
import { ascendHome, ensureAscendHome } from './home.js';
import { checkTrustedKey, type TrustedKeyEntry } from './trusted-keys.js';

export interface InitKeyOptions {
  /** Keep the private key in this new file (mode 600) instead of the keychain. */
  keyFile?: string | undefined;
  label?: string | undefined;
  keychain?: Keychain;
  env?: NodeJS.ProcessEnv;
  now?: Date;
}

/**
 * Creates an Ed25519 signing key: the private key goes into the OS keychain, or into a new
 * key file when one is given (or must be, when no keychain answers); the public half and
 * where the private key is go into the key index of the Ascend home.
 */
export async function initSigningKey(options: InitKeyOptions = {}): Promise<KeyRecord> {
  const env = options.env ?? process.env;
  const label = options.label?.trim();
  if (label !== undefined && (label === '' || label.length > 200 || /[\u0000-\u001f\u007f]/.test(label))) {
    throw new AscendError('ASC_USAGE', '--name must be one line of 1 to 200 characters');
  }
  const keychain = options.keychain ?? new Keychain();
  if (options.keyFile === undefined) {
    const probe = keychain.probe();
    if (!probe.available) {
      throw new AscendError('ASC_KEYCHAIN_UNAVAILABLE', `no OS keychain is available to keep the private key in: ${keychainProblem(probe.reason, env)}`, {
        hint: `give --key-file FILE to keep it in a new file of mode 600, e.g. ascend keys init --key-file ${path.join(ascendHome(env), 'signing-key.pem')}`,
      });
    }
  }
  // Fail on an unreadable index before a secret is stored anywhere.
  await readKeyIndex(env);
  const pair = generateSigningKeyPair();
  const record: KeyRecord = {
    kid: pair.kid,
    publicKey: pair.publicKey,
    created: (options.now ?? new Date()).toISOString(),
    storage: options.keyFile === undefined ? 'keychain' : 'file',
    ...(label !== undefined ? { label } : {}),
  };
  if (options.keyFile !== undefined) {
    // The Ascend home (mode 700) first: the file the keychain error suggests is in it.
    await ensureAscendHome(env);
    record.keyFile = await createKeyFile(options.keyFile, pair.privateKeyPkcs8Pem);
  } else {
    keychain.store(pair.kid, pair.privateKeyPkcs8Pem);
  }
  try {
    await addToKeyIndex(record, env);
  } catch (e) {
    // No orphaned secret: a key that is not in the index could not be used by id.
    if (record.keyFile !== undefined) await fs.rm(record.keyFile, { force: true }).catch(() => undefined);
    else {
      try {
        keychain.remove(pair.kid);
      } catch {
        // the index error is the one to report
      }
    }
    throw e;
  }
  return record;
}

export interface KeySelection {
  kid?: string | undefined;
  keyFile?: string | undefined;
}

export interface LoadedSigningKey {
  key: PasscodeSigningKey;
  /** Where it came from: `keychain`, or the key file's path. */
  from: string;
}

/**
 * The private key to sign with: from --key-file (mode 600, else refused), else from the
 * keychain or key file the index names for --kid (default: the newest key).
 */
export async function loadSigningKey(selection: KeySelection, options: { keychain?: Keychain; env?: NodeJS.ProcessEnv } = {}): Promise<LoadedSigningKey> {
  if (selection.keyFile !== undefined) {
    const { key } = await readKeyFile(selection.keyFile);
    if (selection.kid !== undefined && selection.kid !== key.kid) {
      throw new AscendError('ASC_KEY_NOT_FOUND', `${selection.keyFile} holds key ${key.kid}, not ${selection.kid}`);
    }
    return { key, from: selection.keyFile };
  }
  const record = pickKey(await readKeyIndex(options.env ?? process.env), selection.kid);
  let loaded: LoadedSigningKey;
  if (record.storage === 'file') {
    if (record.keyFile === undefined) throw new AscendError('ASC_KEY_INVALID', `${keyIndexPath(options.env)}: key ${record.kid} is stored in a file but names none`);
    loaded = { key: (await readKeyFile(record.keyFile)).key, from: record.keyFile };
  } else {
    const pem = (options.keychain ?? new Keychain()).load(record.kid);
    if (pem === undefined) {
      throw new AscendError('ASC_KEY_NOT_FOUND', `the keychain no longer holds signing key ${record.kid}`, { hint: 'it was removed from the keychain, or this is another keychain (another session or machine)' });
    }
    loaded = { key: signingKeyFromPem(pem, `keychain entry ${record.kid}`), from: 'keychain' };
  }
  if (loaded.key.kid !== record.kid) throw new AscendError('ASC_KEY_INVALID', `${loaded.from} holds key ${loaded.key.kid} where the index says ${record.kid}`);
  return loaded;
}

/**
 * Public keys: those of the key files given (derived from the private key, which stays in
 * memory) and those the index has for the key ids given; with neither, every key of the
 * index (`all`) or its newest (`newest`, the key that signs by default).
 */
export async function selectPublicKeys(
  selection: { kids: readonly string[]; keyFiles: readonly string[]; otherwise: 'all' | 'newest' },
  env: NodeJS.ProcessEnv = process.env,
): Promise<TrustedKeyEntry[]> {
  const out: TrustedKeyEntry[] = [];
  const add = (k: TrustedKeyEntry): void => {
    if (!out.some((o) => o.kid === k.kid)) out.push(k);
  };
  for (const file of selection.keyFiles) add(publicKeyOf((await readKeyFile(file)).key));
  if (selection.kids.length > 0 || selection.keyFiles.length === 0) {
    const index = await readKeyIndex(env);
    let records: KeyRecord[];
    if (selection.kids.length > 0) records = selection.kids.map((kid) => pickKey(index, kid));
    else if (selection.otherwise === 'newest') records = [pickKey(index, undefined)];
    else {
      if (index.length === 0) throw new AscendError('ASC_KEY_NOT_FOUND', 'this console has no signing key yet', { hint: 'create one with "ascend keys init"' });
      records = index;
    }
    for (const r of records) add(checkTrustedKey(r.kid, r.publicKey, `${keyIndexPath(env)}: ${r.kid}`));
  }
  return out;
}
