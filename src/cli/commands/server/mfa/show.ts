import { Flags } from '@oclif/core';
import { AscendCommand } from '../../../base-command.js';
import { callApi, safe, seg, serverFlags, when } from '../../../server-command.js';

export interface MfaShowResult {
  user: string;
  enrolledAt: string;
  /** When the user's first code was accepted; null = not yet. */
  confirmedAt: string | null;
  /** Set while the user is locked out after too many wrong codes. */
  lockedUntil: string | null;
  /** Computers on which the user is locked out (wrong codes sent by the agent there). */
  lockedOn?: { computer: string; lockedUntil: string }[];
}

export default class ServerMfaShow extends AscendCommand<MfaShowResult> {
  static override summary = "Show a user's MFA enrollment: when, whether a code was accepted yet, and any lockout.";
  static override description = 'Needs a token of the viewer role or above. The secret is never shown again.';
  static override examples = ['<%= config.bin %> server mfa show --server https://collector.corp.example --user "CORP\\alice"'];
  static override flags = {
    ...serverFlags,
    user: Flags.string({ description: 'the user (DOMAIN\\name)', required: true }),
  };

  async run(): Promise<MfaShowResult> {
    const { flags } = await this.parse(ServerMfaShow);
    const r = await callApi<MfaShowResult>(flags, 'GET', `api/v1/mfa/enrollments/${seg(flags.user)}`, undefined, {
      notFound: 'enroll the user with "ascend server mfa enroll --user ..."',
    });
    this.say(`User:      ${safe(r.user)}`);
    this.say(`Enrolled:  ${when(r.enrolledAt)}`);
    this.say(`Confirmed: ${r.confirmedAt === null ? 'not yet (no code accepted so far)' : when(r.confirmedAt)}`);
    this.say(`Locked:    ${r.lockedUntil === null ? 'no' : `until ${when(r.lockedUntil)} (too many wrong codes on all computers)`}`);
    for (const l of r.lockedOn ?? []) this.say(`Locked on: ${safe(l.computer)} until ${when(l.lockedUntil)} (too many wrong codes from the agent there)`);
    return r;
  }
}
