import { Flags } from '@oclif/core';
import { AscendCommand } from '../../../base-command.js';
import { callApi, safe, seg, serverFlags } from '../../../server-command.js';

export interface MfaRemoveResult {
  user: string;
  removed: boolean;
}

export default class ServerMfaRemove extends AscendCommand<MfaRemoveResult> {
  static override summary = "Remove a user's MFA enrollment: their codes stop working.";
  static override description = 'Needs an admin token. Where a rule requires MFA, the user can not pass it until enrolled again.';
  static override examples = ['<%= config.bin %> server mfa remove --server https://collector.corp.example --user "CORP\\alice"'];
  static override flags = {
    ...serverFlags,
    user: Flags.string({ description: 'the user (DOMAIN\\name)', required: true }),
  };

  async run(): Promise<MfaRemoveResult> {
    const { flags } = await this.parse(ServerMfaRemove);
    const r = await callApi<MfaRemoveResult>(flags, 'DELETE', `api/v1/mfa/enrollments/${seg(flags.user)}`, undefined, {
      notFound: 'nothing to remove; "ascend server mfa show --user ..." checks a user',
    });
    this.say(`Removed the MFA enrollment of ${safe(r.user)}.`);
    return r;
  }
}
