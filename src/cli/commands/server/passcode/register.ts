import { Args } from '@oclif/core';
import { decodePasscode } from '../../../../passcode/index.js';
import { readAscpassText, tokenFromAscpass } from '../../../../passcode-keys/index.js';
import { AscendCommand } from '../../../base-command.js';
import { callApi, safe, serverFlags } from '../../../server-command.js';
import type { PasscodeView } from '../../../shared/server-views.js';

export interface PasscodeRegisterResult {
  passcode: PasscodeView;
}

export default class ServerPasscodeRegister extends AscendCommand<PasscodeRegisterResult> {
  static override summary = "Register a passcode with the collector, so that its maximum usage counts across every agent.";
  static override description =
    'Needs an admin token. Reads the id, title and maximum usage from the signed token of the .ascpass file (the summary lines are ignored; ' +
    'the signature is not checked here: agents check it). Online agents then refuse a redemption once the uses are spent on any machine. ' +
    "The passcode's computer patterns go too: the collector counts a redemption only from an agent enrolled under a matching computer name " +
    '(SID patterns match no agent there). A passcode registered by an older Ascend, without its computers, is redeemed by no agent until registered again.';
  static override examples = ['<%= config.bin %> server passcode register bob.ascpass --server https://collector.corp.example'];
  static override args = { file: Args.string({ description: 'the .ascpass file (or a file holding only the token)', required: true }) };
  static override flags = { ...serverFlags };

  async run(): Promise<PasscodeRegisterResult> {
    const { args, flags } = await this.parse(ServerPasscodeRegister);
    const { terms } = decodePasscode(tokenFromAscpass(await readAscpassText(args.file), args.file));
    const r = await callApi<PasscodeRegisterResult>(flags, 'POST', 'api/v1/passcodes', { id: terms.id, title: terms.title, maxUses: terms.maxUses, computers: terms.computers }, {
      conflict: `"ascend server passcode list" shows what the registry holds for ${terms.id}`,
    });
    const p = r.passcode;
    this.say(`Registered passcode ${p.id} "${safe(p.title)}" (${p.uses} of ${p.maxUses === null ? 'unlimited' : p.maxUses} uses so far).`);
    return r;
  }
}
