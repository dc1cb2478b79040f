import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AscendError } from '../errors.js';

/**
 * The Ascend home folder of this console: the signing-key index and the registry of issued
 * passcodes. ASCEND_HOME when set, else ~/.config/ascend. Nothing secret is kept here
 * (private keys are in the OS keychain or a key file; passcodes only as SHA-256), but it is
 * created mode 700 all the same: what a console issued is nobody else's business.
 */
export function ascendHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.ASCEND_HOME;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return path.resolve(fromEnv);
  return path.join(os.homedir(), '.config', 'ascend');
}

/** Creates the home folder (mode 700) when missing and returns its path. */
export async function ensureAscendHome(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const home = ascendHome(env);
  try {
    await fs.mkdir(home, { recursive: true, mode: 0o700 });
    const stat = await fs.stat(home);
    if (!stat.isDirectory()) throw new AscendError('ASC_FILE_UNREADABLE', `${home}: the Ascend home (ASCEND_HOME) is not a folder`);
  } catch (e) {
    if (e instanceof AscendError) throw e;
    throw new AscendError('ASC_FILE_UNREADABLE', `${home}: cannot create the Ascend home folder (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
      hint: 'set ASCEND_HOME to a folder you can write',
    });
  }
  return home;
}

/** `user@host`: who issues passcodes from this console unless --issuer says otherwise. */
export function defaultIssuer(): string {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
  return `${user}@${os.hostname()}`;
}
