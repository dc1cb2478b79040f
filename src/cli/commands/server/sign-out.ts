import { Flags } from '@oclif/core';
import { AscendError } from '../../../errors.js';
import { AscendCommand } from '../../base-command.js';
import { callApi, safe, serverFlags, tokenFilePath } from '../../server-command.js';
import type { WhoamiResult } from '../../shared/server-views.js';

export interface SignOutResult {
  signedOut: boolean;
  name: string;
  source: WhoamiResult['source'];
}

export default class ServerSignOut extends AscendCommand<SignOutResult> {
  static override summary = 'Sign out: revoke the session in the token file at once.';
  static override description =
    'Revokes the credential the token file holds. For an API token made by an admin (not a sign-in session) that would revoke the token ' +
    'itself, so it is refused unless --force is given.';
  static override examples = ['<%= config.bin %> server sign-out --server https://collector.corp.example --token-file ~/.ascend-session'];
  static override flags = {
    ...serverFlags,
    force: Flags.boolean({ description: 'revoke even an API token that is not a sign-in session', default: false }),
  };

  async run(): Promise<SignOutResult> {
    const { flags } = await this.parse(ServerSignOut);
    const me = await callApi<WhoamiResult>(flags, 'GET', 'api/v1/whoami');
    if (me.source !== 'ad' && !flags.force) {
      throw new AscendError('ASC_USAGE', `the token file holds the API token "${safe(me.name)}" (${me.role}), not a sign-in session; signing out would revoke it`, {
        hint: 'give --force to revoke it all the same, or "ascend server token revoke ID"',
      });
    }
    const r = await callApi<{ signedOut: boolean }>(flags, 'POST', 'api/v1/sign-out');
    this.say(`Signed out ${safe(me.name)}: the ${me.source === 'ad' ? 'session' : 'token'} in ${tokenFilePath(flags) ?? 'the token file'} no longer works.`);
    return { signedOut: r.signedOut, name: me.name, source: me.source };
  }
}
