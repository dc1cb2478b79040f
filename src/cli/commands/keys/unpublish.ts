import { Flags } from '@oclif/core';
import { DomainCommand } from '../../domain-command.js';
import { checkKid, removeTrustedKeys, type TrustedKeysEdit } from '../../../passcode-keys/index.js';
import { fileTarget } from '../../../local-policy/index.js';
import { gpoTarget } from '../../../../gpo-extension/target.js';

export default class KeysUnpublish extends DomainCommand<TrustedKeysEdit> {
  static override summary = "Stop trusting a signing key: remove it from the TSE policy's trusted keys in a GPO or a Registry.pol.";
  static override description =
    'The last step of a key rotation: once passcodes are signed with the new key, remove the old key id. The policy keeps its other values and keys; ' +
    'passcodes signed with a removed key are refused with unknown-key wherever this GPO or file decides the trusted keys. The key stays in the key ' +
    'index and keychain.';
  static override examples = ['<%= config.bin %> keys unpublish --gpo "Ascend - Workstations" --kid asc-0123456789abcdef'];
  static override flags = {
    gpo: Flags.string({ description: 'the GPO to edit: display name or {GUID}', exactlyOne: ['gpo', 'policy'] }),
    policy: Flags.string({ description: 'a local Registry.pol to edit instead', exactlyOne: ['gpo', 'policy'] }),
    kid: Flags.string({ description: 'the key id to remove (repeatable)', multiple: true, required: true }),
  };

  async run(): Promise<TrustedKeysEdit> {
    const { flags } = await this.parse(KeysUnpublish);
    const kids = flags.kid.map((k) => checkKid(k, '--kid'));
    const edit =
      flags.policy !== undefined
        ? await removeTrustedKeys(fileTarget(flags.policy), kids)
        : await this.withDomain(flags, (c) => removeTrustedKeys(gpoTarget(c, flags.gpo as string), kids));
    this.say(`${edit.target}: removed ${kids.join(', ')}; trusts ${edit.trustedKeys.length ? edit.trustedKeys.join(', ') : 'no key'}`);
    return edit;
  }
}
