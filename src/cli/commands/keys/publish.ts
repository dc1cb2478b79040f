import { Flags } from '@oclif/core';
import { DomainCommand } from '../../domain-command.js';
import { addTrustedKeys, selectPublicKeys, type TrustedKeyEntry, type TrustedKeysEdit } from '../../../passcode-keys/index.js';
import { fileTarget } from '../../../local-policy/index.js';
import { gpoTarget } from '../../../../gpo-extension/target.js';

export interface KeysPublishResult extends TrustedKeysEdit {
  published: TrustedKeyEntry[];
}

export default class KeysPublish extends DomainCommand<KeysPublishResult> {
  static override summary = "Trust a signing key: add its public key to the TSE policy's trusted keys in a GPO or a Registry.pol.";
  static override description =
    'Reads the Instant On Demand Privilege Elevation (TemporarySessionElevation) policy as the GPO or file sets it and writes it back Enabled with the ' +
    'key added to TrustedKeys: an Enabled policy keeps its groups, privileges, integrity level, session cap and the keys it trusts already (publish ' +
    'the new key before signing with it to rotate keys); a Disabled or Not Configured policy is enabled with the defaults. Publishing a key that is ' +
    'trusted already changes nothing. Default key: the newest of "ascend keys list"; --key-file takes the public key of a key file. With --gpo the ' +
    'GPO is edited as "ascend gpo set" does (connection flags below); with --policy a local Registry.pol is edited (created when missing).';
  static override examples = [
    '<%= config.bin %> keys publish --gpo "Ascend - Workstations"',
    '<%= config.bin %> keys publish --policy Registry.pol --kid asc-0123456789abcdef',
  ];
  static override flags = {
    gpo: Flags.string({ description: 'the GPO to edit: display name or {GUID}', exactlyOne: ['gpo', 'policy'] }),
    policy: Flags.string({ description: 'a local Registry.pol to edit instead (created when missing)', exactlyOne: ['gpo', 'policy'] }),
    kid: Flags.string({ description: 'key id from "ascend keys list" (repeatable; default: the newest key)', multiple: true }),
    'key-file': Flags.string({ description: 'publish the public key of this private key file (mode 600)', multiple: true }),
  };

  async run(): Promise<KeysPublishResult> {
    const { flags } = await this.parse(KeysPublish);
    const keys = await selectPublicKeys({ kids: flags.kid ?? [], keyFiles: flags['key-file'] ?? [], otherwise: 'newest' });
    const edit =
      flags.policy !== undefined
        ? await addTrustedKeys(fileTarget(flags.policy), keys)
        : await this.withDomain(flags, (c) => addTrustedKeys(gpoTarget(c, flags.gpo as string), keys));
    const ids = keys.map((k) => k.kid).join(', ');
    if (!edit.changed) this.say(`${edit.target} trusts ${ids} already; nothing written`);
    else this.say(`${edit.target}: now trusts ${edit.trustedKeys.join(', ')}${edit.enabledPolicy ? ` (TemporarySessionElevation was ${edit.stateBefore}; now enabled)` : ''}`);
    if (edit.enabledPolicy) {
      // Enabling writes the whole policy, so in a machine's fold it replaces what GPOs of lower
      // precedence set for TSE: say so rather than let it pass unnoticed.
      this.logToStderr(
        `Warning: ${edit.target} now sets the whole TSE policy: its defaults (groups: BUILTIN\\Administrators, integrity High, no session cap, only the keys listed) replace the TSE settings of lower-precedence GPOs for the machines it applies to; use "ascend gpo set" to set them here.`,
      );
    }
    return { ...edit, published: keys };
  }
}
