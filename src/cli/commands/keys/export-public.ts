import { Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { writeFileAtomic } from '../../../local-policy/index.js';
import { formatTrustedKeys, selectPublicKeys, type TrustedKeyEntry } from '../../../passcode-keys/index.js';

export interface KeysExportPublicResult {
  keys: TrustedKeyEntry[];
  /** The file written, when --out was given. */
  file?: string;
}

export default class KeysExportPublic extends AscendCommand<KeysExportPublicResult> {
  static override summary = 'Print or write public keys in the trusted-keys form.';
  static override description =
    'Writes {"keys":[{"kid":"asc-...","publicKey":"MCowBQYDK2VwAyEA..."}]}: what "ascend passcode check --trusted-keys FILE" reads. The public key is ' +
    'base64 of the Ed25519 SubjectPublicKeyInfo, the value the TSE policy\'s TrustedKeys list holds under the key id. Without --kid or --key-file, every ' +
    'key of the key index; --key-file derives the public key from a key file (which must be mode 600). Nothing secret is written.';
  static override examples = [
    '<%= config.bin %> keys export-public --out trusted-keys.json',
    '<%= config.bin %> keys export-public --kid asc-0123456789abcdef',
    '<%= config.bin %> keys export-public --key-file ~/.ascend-signing.pem',
  ];
  static override flags = {
    kid: Flags.string({ description: 'a key id of the key index (repeatable)', multiple: true }),
    'key-file': Flags.string({ description: 'a private key file to take the public key of (repeatable)', multiple: true }),
    out: Flags.string({ description: 'write the file here (replaced atomically) instead of printing it' }),
  };

  async run(): Promise<KeysExportPublicResult> {
    const { flags } = await this.parse(KeysExportPublic);
    const keys = await selectPublicKeys({ kids: flags.kid ?? [], keyFiles: flags['key-file'] ?? [], otherwise: 'all' });
    const text = formatTrustedKeys(keys);
    if (flags.out !== undefined) {
      await writeFileAtomic(flags.out, Buffer.from(text, 'utf8'), 0o644);
      this.say(`Wrote ${keys.length} public key${keys.length === 1 ? '' : 's'} to ${flags.out}: ${keys.map((k) => k.kid).join(', ')}`);
      return { keys, file: flags.out };
    }
    if (!this.jsonEnabled()) process.stdout.write(text);
    return { keys };
  }
}
