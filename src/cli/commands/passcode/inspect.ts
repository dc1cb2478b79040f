import { Args } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { decodePasscode, type PasscodeHeader, type PasscodeTerms } from '../../../passcode/index.js';
import { passcodeSummary, readAscpassText, tokenFromAscpass, tokenSha256 } from '../../../passcode-keys/index.js';

export interface PasscodeInspectResult {
  /** Always false: inspect decodes without checking the signature. */
  verified: false;
  header: PasscodeHeader;
  terms: PasscodeTerms;
  tokenSha256: string;
}

export default class PasscodeInspect extends AscendCommand<PasscodeInspectResult> {
  static override summary = 'Show what a passcode says, WITHOUT verifying it.';
  static override description =
    'Decodes the token of a .ascpass file (the summary lines of the file are ignored) and shows its header and terms. The signature is not ' +
    'checked, so anyone could have written what this shows: use "ascend passcode check" to verify a passcode against trusted keys and policy.';
  static override examples = ['<%= config.bin %> passcode inspect bob.ascpass', '<%= config.bin %> passcode inspect bob.ascpass --json'];
  static override args = { file: Args.string({ description: 'the .ascpass file (or a file holding only the token)', required: true }) };

  async run(): Promise<PasscodeInspectResult> {
    const { args } = await this.parse(PasscodeInspect);
    const token = tokenFromAscpass(await readAscpassText(args.file), args.file);
    const { header, terms } = decodePasscode(token);
    this.say('NOT VERIFIED: decoded without checking the signature (use "ascend passcode check" for that).');
    this.say(`  ${'Algorithm:'.padEnd(15)}${header.alg} (${header.typ})`);
    for (const [k, v] of passcodeSummary(terms, header.kid)) this.say(`  ${`${k}:`.padEnd(15)}${v}`);
    return { verified: false, header, terms, tokenSha256: tokenSha256(token) };
  }
}
