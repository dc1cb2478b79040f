import { promises as fs } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { DomainCommand } from '../../domain-command.js';
import { AscendError } from '../../../errors.js';
import { decodePasscode } from '../../../passcode/index.js';
import { defaultIssuer, readAscpassText, readIssued, revokePasscode, tokenFromAscpass, type RevokeEdit } from '../../../passcode-keys/index.js';
import { fileTarget } from '../../../local-policy/index.js';
import { gpoTarget } from '../../../../gpo-extension/target.js';

export interface PasscodeRevokeResult extends RevokeEdit {
  /** The passcode's title, when this console issued it or a file was given. */
  title?: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export default class PasscodeRevoke extends DomainCommand<PasscodeRevokeResult> {
  static override summary = 'Revoke a passcode: add its id to the Revoked passcodes list of a GPO or a Registry.pol.';
  static override description =
    'The RevokedPasscodes list is additive: the ids every applying GPO revokes count together, so revoke in any GPO that applies to the machines ' +
    '(the domain-level one reaches all). The ids the GPO or file revokes already are kept. ID is a passcode id ("ascend passcode list") or a .ascpass ' +
    'file (its id is read from the token). The note defaults to who revoked it and when. Agents refuse the passcode with "revoked" once Group Policy ' +
    'has refreshed.';
  static override examples = [
    '<%= config.bin %> passcode revoke 0b6c1d1e-5f7a-4c1e-9d2b-2f0f5a1d9c3e --gpo "Default Domain Policy" --note "laptop stolen"',
    '<%= config.bin %> passcode revoke bob.ascpass --policy Registry.pol',
  ];
  static override args = { id: Args.string({ description: 'passcode id, or a .ascpass file', required: true }) };
  static override flags = {
    gpo: Flags.string({ description: 'the GPO to edit: display name or {GUID}', exactlyOne: ['gpo', 'policy'] }),
    policy: Flags.string({ description: 'a local Registry.pol to edit instead (created when missing)', exactlyOne: ['gpo', 'policy'] }),
    note: Flags.string({ description: 'why (stored as the list value; default: "revoked by USER@HOST on DATE")' }),
  };

  async run(): Promise<PasscodeRevokeResult> {
    const { args, flags } = await this.parse(PasscodeRevoke);
    let id = args.id;
    let title: string | undefined;
    // A .ascpass name, or an existing file whose name is no passcode id.
    const isFile = args.id.toLowerCase().endsWith('.ascpass') || (!ID.test(args.id) && (await fs.stat(args.id).then((s) => s.isFile(), () => false)));
    if (isFile) {
      const terms = decodePasscode(tokenFromAscpass(await readAscpassText(args.id), args.id)).terms;
      id = terms.id;
      title = terms.title;
    } else if (!ID.test(id)) {
      throw new AscendError('ASC_USAGE', `"${id}" is not a passcode id (A-Z a-z 0-9 . _ -) nor a .ascpass file`);
    }
    title ??= (await readIssued()).passcodes.find((p) => p.id.toLowerCase() === id.toLowerCase())?.title;
    const note = (flags.note ?? `revoked by ${defaultIssuer()} on ${new Date().toISOString().slice(0, 10)}`).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
    const edit =
      flags.policy !== undefined
        ? await revokePasscode(fileTarget(flags.policy), id, note)
        : await this.withDomain(flags, (c) => revokePasscode(gpoTarget(c, flags.gpo as string), id, note));
    const what = `passcode ${id}${title !== undefined ? ` "${title}"` : ''}`;
    this.say(edit.changed ? `${edit.target}: revoked ${what} (${edit.revoked.length} revoked there)` : `${edit.target} revokes ${what} already; nothing written`);
    return { ...edit, ...(title !== undefined ? { title } : {}) };
  }
}
