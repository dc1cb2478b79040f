import { Args, Flags } from '@oclif/core';
import { AscendCommand } from '../../../base-command.js';
import { callApi, safe, seg, serverFlags } from '../../../server-command.js';
import type { PasscodeView } from '../../../shared/server-views.js';

export interface ServerPasscodeRevokeResult {
  id: string;
  revoked: true;
  /** The registry's record, or null for a passcode it never saw (issued offline). */
  passcode: PasscodeView | null;
}

export default class ServerPasscodeRevoke extends AscendCommand<ServerPasscodeRevokeResult> {
  static override summary = 'Revoke a passcode on the collector: online agents refuse it as soon as they fetch revocations.';
  static override description =
    'Needs an admin token. A passcode the registry never saw (issued offline) can be revoked too. Agents that are offline learn it only from ' +
    'Group Policy: "ascend passcode revoke" adds it to the Revoked passcodes policy as well.';
  static override examples = ['<%= config.bin %> server passcode revoke 0b6c1d1e-5f7a-4c1e-9d2b-2f0f5a1d9c3e --server https://collector.corp.example --reason "laptop stolen"'];
  static override args = { id: Args.string({ description: 'the passcode id', required: true }) };
  static override flags = {
    ...serverFlags,
    reason: Flags.string({ description: 'why (agents and the revocation list show it)' }),
  };

  async run(): Promise<ServerPasscodeRevokeResult> {
    const { args, flags } = await this.parse(ServerPasscodeRevoke);
    const body = flags.reason === undefined ? {} : { reason: flags.reason };
    const r = await callApi<ServerPasscodeRevokeResult>(flags, 'POST', `api/v1/passcodes/${seg(args.id)}/revoke`, body);
    this.say(`Revoked passcode ${safe(r.id)}${r.passcode === null ? ' (not in the registry: issued offline?)' : ` "${safe(r.passcode.title)}" after ${r.passcode.uses} use${r.passcode.uses === 1 ? '' : 's'}`}.`);
    return r;
  }
}
