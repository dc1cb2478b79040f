import { Flags } from '@oclif/core';
import { AscendCommand } from './base-command.js';
import type { ConnectionSettings, DomainConnection } from '../../gpo-extension/connection.js';

/** Connection flags shared by every command that talks to a domain controller. */
export const domainFlags = {
  url: Flags.string({ description: 'LDAP URL of a DC, ldaps://HOST (env ASCEND_LDAP_URL)', helpGroup: 'CONNECTION' }),
  user: Flags.string({ description: 'account to bind as, user@realm or a DN (env ASCEND_LDAP_USER)', helpGroup: 'CONNECTION' }),
  'password-file': Flags.string({ description: 'file holding the password, mode 600 (env ASCEND_LDAP_PASSWORD_FILE or ASCEND_LDAP_PASSWORD)', helpGroup: 'CONNECTION' }),
  'ca-file': Flags.string({ description: "PEM file of the CA that signed the DC's certificate (env ASCEND_LDAP_CA_FILE)", helpGroup: 'CONNECTION' }),
  'tls-insecure': Flags.boolean({ description: 'accept any certificate: test DCs only (env ASCEND_LDAP_TLS_INSECURE=1)', helpGroup: 'CONNECTION', allowNo: false }),
  'start-tls': Flags.boolean({ description: 'with ldap://, upgrade the connection with StartTLS before binding', helpGroup: 'CONNECTION' }),
  'allow-plain-ldap': Flags.boolean({ description: 'permit a simple bind without TLS (sends the password in clear)', helpGroup: 'CONNECTION' }),
  sysvol: Flags.string({ description: 'SYSVOL: smb://HOST/sysvol or a folder (env ASCEND_SYSVOL; default smb://<LDAP host>/sysvol)', helpGroup: 'CONNECTION' }),
};

type DomainFlagValues = { [K in keyof typeof domainFlags]?: unknown };

/** The connection settings the domain flags give; `ldapUser` is the account to bind as (a flag value or undefined). */
export function connectionSettingsFromFlags(flags: DomainFlagValues, ldapUser: unknown): ConnectionSettings {
  return {
    url: flags.url as string | undefined,
    user: ldapUser as string | undefined,
    passwordFile: flags['password-file'] as string | undefined,
    caFile: flags['ca-file'] as string | undefined,
    tlsInsecure: (flags['tls-insecure'] as boolean | undefined) || undefined,
    startTls: flags['start-tls'] as boolean | undefined,
    allowPlainLdap: flags['allow-plain-ldap'] as boolean | undefined,
    sysvol: flags.sysvol as string | undefined,
  };
}

/** A command that connects to the domain, runs, and always disconnects. */
export abstract class DomainCommand<T> extends AscendCommand<T> {
  static override baseFlags = { ...domainFlags };

  protected async withDomain<R>(flags: DomainFlagValues, work: (c: DomainConnection) => Promise<R>): Promise<R> {
    // Loaded here, not at the top: `agent run` shares these flags and loads LDAP only with --domain.
    const { connectDomain } = await import('../../gpo-extension/connection.js');
    const connection = await connectDomain(connectionSettingsFromFlags(flags, flags.user));
    try {
      return await work(connection);
    } finally {
      await connection.close().catch(() => undefined);
    }
  }
}
