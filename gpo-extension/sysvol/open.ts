/**
 * From the --sysvol / ASCEND_SYSVOL setting to a store: "smb://HOST[:PORT]/SHARE" for SMB,
 * anything else a folder (on Windows a UNC path such as \\corp.example.test\SYSVOL is a
 * folder too).
 */
import { AscendError } from '../../src/errors.js';
import { FsSysvolStore } from './fs-store.js';
import { SmbSysvolStore } from './smb-store.js';
import type { SysvolStore } from './store.js';

export interface SysvolCredentials {
  user: string;
  password: string;
  domain?: string;
}

export function openSysvolStore(spec: string, credentials?: SysvolCredentials): SysvolStore {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new AscendError('ASC_CONFIG', 'no SYSVOL location given', { hint: 'Pass --sysvol or set ASCEND_SYSVOL (a folder or smb://HOST/SHARE).' });
  }
  if (/^smb:/i.test(spec)) return openSmb(spec, credentials);
  if (process.platform !== 'win32' && /^\\\\[^\\]/.test(spec)) {
    throw new AscendError('ASC_CONFIG', `SYSVOL ${JSON.stringify(spec)} is a UNC path, which only Windows opens as a folder`, {
      hint: 'On Linux use smb://HOST/SHARE, or a folder where the share is mounted.',
    });
  }
  return new FsSysvolStore(spec);
}

function openSmb(spec: string, credentials: SysvolCredentials | undefined): SysvolStore {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new AscendError('ASC_CONFIG', 'the SYSVOL SMB location is not smb://HOST[:PORT]/SHARE');
  }
  // A user or password inside the URL would end up in shell history and messages.
  if (url.username !== '' || url.password !== '') {
    throw new AscendError('ASC_CONFIG', 'the SYSVOL SMB location must not carry a user or password; give the credentials separately');
  }
  const shares = url.pathname.split('/').filter((s) => s !== '');
  const share = shares[0];
  if (url.hostname === '' || shares.length !== 1 || share === undefined || url.search !== '' || url.hash !== '') {
    throw new AscendError('ASC_CONFIG', `SYSVOL location ${JSON.stringify(`smb://${url.host}${url.pathname}`)} is not smb://HOST[:PORT]/SHARE`);
  }
  if (credentials === undefined || !credentials.user || !credentials.password) {
    throw new AscendError('ASC_CONFIG', `SYSVOL ${`smb://${url.host}/${share}`} needs a user and password`, {
      hint: 'Give the LDAP credentials (--user and the password or password file); they are used for SMB too.',
    });
  }
  const port = url.port === '' ? undefined : Number(url.port);
  let shareName: string;
  try {
    shareName = decodeURIComponent(share);
  } catch {
    throw new AscendError('ASC_CONFIG', `SYSVOL share ${JSON.stringify(share)} is not a valid name`);
  }
  return new SmbSysvolStore({
    host: url.hostname,
    share: shareName,
    user: credentials.user,
    password: credentials.password,
    ...(credentials.domain !== undefined ? { domain: credentials.domain } : {}),
    ...(port !== undefined ? { port } : {}),
  });
}
