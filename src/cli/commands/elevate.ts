import { Flags } from '@oclif/core';
import { AscendCommand } from '../base-command.js';
import { socketFlags } from '../agent-command.js';
import { elevate, type ElevateResult, programArgv } from '../client/elevate.js';

export type { ElevateResult } from '../client/elevate.js';

export default class Elevate extends AscendCommand<ElevateResult> {
  static override enableJsonFlag = false;
  static override strict = false;
  static override summary = 'Run a program elevated, as the policy on this computer allows: by a rule, or inside a TSE session.';
  static override description =
    'The agent decides (blacklist first; then elevation rules, whose controls all apply: --justify, --otp, and approval, which waits ' +
    'until an approver decides; or an active TSE session), runs the program as an ephemeral account in the admin group with a clean ' +
    'environment in your working folder, passes your input and its output through, and removes the account afterwards. The exit status ' +
    'is the program\'s (128 + signal when it was ended by one). Everything after -- is the program and its arguments.';
  static override examples = [
    '<%= config.bin %> elevate -- id -Gn',
    '<%= config.bin %> elevate --passcode ./helpdesk.ascpass -- systemctl restart cups',
    '<%= config.bin %> elevate --justify "ticket 4711: printer driver" --otp 123456 -- /usr/bin/apt-get install -y cups',
  ];
  static override flags = {
    ...socketFlags,
    passcode: Flags.string({ description: 'redeem this passcode file (a TSE session) and run the program in it; not redeemed when the program is not there, is a scheduler (cron, at), or a deny rule refuses it or its #! interpreter' }),
    justify: Flags.string({ description: 'why you need it (for rules with the JUSTIFY control)' }),
    otp: Flags.string({ description: 'the code from your authenticator app (for rules with the MFA control)' }),
  };

  async run(): Promise<ElevateResult> {
    const { flags, raw } = await this.parse(Elevate);
    // The arguments in the order given: oclif's argv is sorted by first occurrence, which moves repeated values.
    const command = programArgv(raw.filter((t) => t.type === 'arg').map((t) => t.input));
    return elevate(flags, command);
  }
}
