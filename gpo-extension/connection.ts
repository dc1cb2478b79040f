/**
 * From command-line flags and ASCEND_* environment variables to a directory connection
 * and a SYSVOL store. Secrets come from a file or the environment, never from argv.
 */
import { promises as fs } from 'node:fs';
import { AscendError } from '../src/errors.js';
import { Directory } from '../src/directory/index.js';
import { openSysvolStore, type SysvolStore } from './sysvol/index.js';

export interface ConnectionSettings {
  url?: string | undefined;
  user?: string | undefined;
  passwordFile?: string | undefined;
  caFile?: string | undefined;
  tlsInsecure?: boolean | undefined;
  startTls?: boolean | undefined;
  allowPlainLdap?: boolean | undefined;
  sysvol?: string | undefined;
}

export interface DomainConnection {
  dir: Directory;
  store: SysvolStore;
  close(): Promise<void>;
}

/** Reads a password file, refusing one that others may read (like ssh does with keys). */
async function readPasswordFile(file: string): Promise<string> {
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat?.isFile()) throw new AscendError('ASC_CONFIG', `password file ${file} does not exist`);
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    throw new AscendError('ASC_CONFIG', `password file ${file} can be read by others (mode ${(stat.mode & 0o777).toString(8)})`, { hint: `chmod 600 ${file}` });
  }
  return (await fs.readFile(file, 'utf8')).replace(/\r?\n$/, '');
}

/** Flags win over the environment: ASCEND_LDAP_URL, _USER, _PASSWORD or _PASSWORD_FILE, _CA_FILE, _TLS_INSECURE=1, ASCEND_SYSVOL. */
export async function resolveConnectionSettings(flags: ConnectionSettings, env: NodeJS.ProcessEnv = process.env) {
  const url = flags.url ?? env.ASCEND_LDAP_URL;
  const user = flags.user ?? env.ASCEND_LDAP_USER;
  if (!url) throw new AscendError('ASC_CONFIG', 'no LDAP URL', { hint: 'pass --url ldaps://dc.example.com or set ASCEND_LDAP_URL' });
  if (!user) throw new AscendError('ASC_CONFIG', 'no LDAP user', { hint: 'pass --user admin@example.com or set ASCEND_LDAP_USER' });
  const passwordFile = flags.passwordFile ?? env.ASCEND_LDAP_PASSWORD_FILE;
  const password = passwordFile ? await readPasswordFile(passwordFile) : env.ASCEND_LDAP_PASSWORD;
  if (!password) throw new AscendError('ASC_CONFIG', 'no LDAP password', { hint: 'pass --password-file FILE or set ASCEND_LDAP_PASSWORD_FILE (or ASCEND_LDAP_PASSWORD)' });
  const host = (() => {
    try {
      return new URL(url).hostname;
    } catch {
      throw new AscendError('ASC_CONFIG', `LDAP URL "${url}" is not ldaps://HOST[:PORT] or ldap://HOST[:PORT]`);
    }
  })();
  return {
    url,
    user,
    password,
    caFile: flags.caFile ?? env.ASCEND_LDAP_CA_FILE,
    tlsInsecure: flags.tlsInsecure ?? env.ASCEND_LDAP_TLS_INSECURE === '1',
    startTls: flags.startTls ?? false,
    allowPlainLdap: flags.allowPlainLdap ?? false,
    // Without a SYSVOL setting, the DC's own sysvol share over SMB.
    sysvol: flags.sysvol ?? env.ASCEND_SYSVOL ?? `smb://${host}/sysvol`,
  };
}

export async function connectDomain(flags: ConnectionSettings, env: NodeJS.ProcessEnv = process.env): Promise<DomainConnection> {
  const s = await resolveConnectionSettings(flags, env);
  const store = openSysvolStore(s.sysvol, { user: s.user, password: s.password });
  const dir = await Directory.connect({
    url: s.url,
    bindDn: s.user,
    password: s.password,
    ...(s.caFile ? { caFile: s.caFile } : {}),
    tlsInsecure: s.tlsInsecure,
    startTls: s.startTls,
    allowPlainLdap: s.allowPlainLdap,
  });
  return { dir, store, close: () => dir.close() };
}
