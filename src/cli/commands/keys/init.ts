import { Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { initSigningKey, keyIndexPath, KEYCHAIN_SERVICE, type KeyRecord } from '../../../passcode-keys/index.js';

export interface KeysInitResult {
  key: KeyRecord;
  /** The key index the key was added to. */
  index: string;
}

export default class KeysInit extends AscendCommand<KeysInitResult> {
  static override summary = 'Create an Ed25519 key that signs TSE passcodes.';
  static override description =
    `The private key goes into the OS keychain (service "${KEYCHAIN_SERVICE}", account = the key id): on Linux a Secret Service such as ` +
    'gnome-keyring, on macOS the Keychain, on Windows the Credential Manager. Where none answers, give --key-file FILE: a new file, mode 600, ' +
    'never overwritten; a key file that group or others can read is refused when it is used. The key id (asc- and 16 hex digits) and the public key ' +
    'go into the key index of the Ascend home (ASCEND_HOME, default ~/.config/ascend), which "ascend keys list" shows. The private key is never printed.';
  static override examples = [
    '<%= config.bin %> keys init --name "Helpdesk 2026"',
    '<%= config.bin %> keys init --key-file ~/.ascend-signing.pem',
  ];
  static override flags = {
    'key-file': Flags.string({ description: 'keep the private key in this new file (mode 600) instead of the keychain' }),
    name: Flags.string({ description: 'a label for the key, shown by "keys list"' }),
  };

  async run(): Promise<KeysInitResult> {
    const { flags } = await this.parse(KeysInit);
    const key = await initSigningKey({ keyFile: flags['key-file'], label: flags.name });
    this.say(`Created signing key ${key.kid} (Ed25519)${key.label ? ` "${key.label}"` : ''}`);
    this.say(key.storage === 'keychain' ? `  private key: in the OS keychain (service ${KEYCHAIN_SERVICE}, account ${key.kid})` : `  private key: ${key.keyFile} (mode 600)`);
    this.say(`  public key:  ${key.publicKey}`);
    this.say(`Trust it with: ascend keys publish --gpo GPO --kid ${key.kid}`);
    return { key, index: keyIndexPath() };
  }
}
