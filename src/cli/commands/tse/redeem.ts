import { Args } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { socketFlags } from '../../agent-command.js';
import { tseRedeem, tseRedeemLines, type TseRedeemResult } from '../../client/tse.js';

export type { TseRedeemResult } from '../../client/tse.js';

export default class TseRedeem extends AscendCommand<TseRedeemResult> {
  static override summary = 'Redeem a TSE passcode: start a Temporary Session Elevation for you on this computer.';
  static override description =
    'The file is read as you; the agent checks the passcode against the policy (trusted keys, revocations, TSE enabled, offline use), ' +
    'its computer, user, hours, window and uses, counts the use on disk (and across the domain when the collector is reachable, which it ' +
    'must be when offline passcodes are not allowed), and starts the session. Then `ascend elevate -- CMD` runs programs elevated until the ' +
    'session ends.';
  static override examples = ['<%= config.bin %> tse redeem ./helpdesk.ascpass', '<%= config.bin %> tse redeem ./helpdesk.ascpass --json'];
  static override args = { file: Args.string({ description: 'the passcode file (.ascpass)', required: true }) };
  static override flags = { ...socketFlags };

  async run(): Promise<TseRedeemResult> {
    const { args, flags } = await this.parse(TseRedeem);
    const r = await tseRedeem(flags, args.file);
    for (const line of tseRedeemLines(r)) this.say(line);
    return r;
  }
}
