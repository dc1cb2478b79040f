import { AscendCommand, table } from '../../base-command.js';
import { durationText, issuedPath, readIssued, type IssuedPasscode } from '../../../passcode-keys/index.js';

export interface PasscodeListResult {
  passcodes: IssuedPasscode[];
  /** The registry file read. */
  registry: string;
  /** Lines of the registry that could not be read (damaged), skipped. */
  unreadableLines: number;
}

export default class PasscodeList extends AscendCommand<PasscodeListResult> {
  static override summary = 'List the passcodes this console issued.';
  static override description =
    'Reads the issued registry of the Ascend home (ASCEND_HOME, default ~/.config/ascend/issued-passcodes.jsonl): id, title, limits, issuer, when, ' +
    'key id, the file written and the SHA-256 of the token (the token itself is not kept). Oldest first.';
  static override examples = ['<%= config.bin %> passcode list', '<%= config.bin %> passcode list --json'];

  async run(): Promise<PasscodeListResult> {
    await this.parse(PasscodeList);
    const { passcodes, unreadableLines } = await readIssued();
    if (passcodes.length === 0) this.say('No passcodes issued from this console yet.');
    else
      this.say(
        table([
          ['ID', 'TITLE', 'USES', 'DURATION', 'ISSUED', 'ISSUER', 'KEY'],
          ...passcodes.map((p) => [p.id, p.title, String(p.maxUses), durationText(p.durationSeconds), p.issuedAt, p.issuer, p.kid]),
        ]),
      );
    if (unreadableLines > 0) process.stderr.write(`Warning: ${unreadableLines} damaged line(s) of ${issuedPath()} skipped\n`);
    return { passcodes, registry: issuedPath(), unreadableLines };
  }
}
