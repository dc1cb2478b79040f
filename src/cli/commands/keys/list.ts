import { AscendCommand, table } from '../../base-command.js';
import { keyIndexPath, readKeyIndex, type KeyRecord } from '../../../passcode-keys/index.js';

export interface KeysListResult {
  /** Each key's id, public key, creation time, storage and label: also readable as a trusted-keys file. */
  keys: KeyRecord[];
  index: string;
}

export default class KeysList extends AscendCommand<KeysListResult> {
  static override summary = 'List the signing keys this console created.';
  static override description =
    'Reads the key index of the Ascend home (ASCEND_HOME, default ~/.config/ascend): key id, public key, when it was created, where the private key ' +
    'is (keychain or key file) and its label. The keychain itself is not enumerated. The --json output is also a trusted-keys file ("passcode check --trusted-keys").';
  static override examples = ['<%= config.bin %> keys list', '<%= config.bin %> keys list --json'];

  async run(): Promise<KeysListResult> {
    await this.parse(KeysList);
    const keys = await readKeyIndex();
    if (keys.length === 0) this.say('No signing keys yet: create one with "ascend keys init".');
    else
      this.say(
        table([
          ['KEY ID', 'CREATED', 'PRIVATE KEY', 'LABEL'],
          ...keys.map((k) => [k.kid, k.created, k.storage === 'keychain' ? 'keychain' : (k.keyFile ?? 'file'), k.label ?? '']),
        ]),
      );
    return { keys, index: keyIndexPath() };
  }
}
