import { Args } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { callAgent, socketFlags } from '../../agent-command.js';
import { safe } from '../../server-command.js';
import { readAscpassText } from '../../../passcode-keys/index.js';

export interface TseRedeemResult {
  sessionId: string;
  passcodeId: string;
  passcodeTitle: string;
  user: string;
  startedAt: string;
  endsAt: string;
  durationSeconds: number;
  endProcesses: boolean;
  groups: string[];
  integrity: string;
  usesLeft: number;
}

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
    const text = await readAscpassText(args.file);
    const r = await callAgent<TseRedeemResult>(flags, { op: 'tse-redeem', passcode: text });
    this.say(`TSE session started for ${safe(r.user)}: "${safe(r.passcodeTitle)}" until ${r.endsAt} (${Math.round(r.durationSeconds / 60)} min, ${r.usesLeft} uses left)`);
    if (r.endProcesses) this.say('Elevated programs started in this session end when it expires.');
    return r;
  }
}
