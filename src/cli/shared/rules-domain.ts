/** The connection flags and the domain connection of the rules commands. */
import { Flags } from '@oclif/core';
import { connectionSettingsFromFlags, domainFlags } from '../domain-command.js';
import { connectDomain, type DomainConnection } from '../../../gpo-extension/connection.js';

// --user names a rule's (or a request's) user in the rules commands, so the LDAP account is --ldap-user (or ASCEND_LDAP_USER).
const { user: ldapUserFlag, ...otherDomainFlags } = domainFlags;

/** The connection flags of the rules commands: the domain flags with --ldap-user for --user. */
export const rulesDomainFlags = {
  ...otherDomainFlags,
  'ldap-user': Flags.string({ description: 'with --gpo, the account to bind as, user@realm or a DN (env ASCEND_LDAP_USER)', helpGroup: ldapUserFlag.helpGroup }),
};

/** Connects with the rules commands' flags, runs, and always disconnects. */
export async function withRulesDomain<R>(flags: Record<string, unknown>, work: (c: DomainConnection) => Promise<R>): Promise<R> {
  const connection = await connectDomain(connectionSettingsFromFlags(flags, flags['ldap-user']));
  try {
    return await work(connection);
  } finally {
    await connection.close().catch(() => undefined);
  }
}
