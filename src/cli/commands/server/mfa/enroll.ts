import { Flags } from '@oclif/core';
import { AscendError } from '../../../../errors.js';
import { AscendCommand } from '../../../base-command.js';
import { callApi, safe, serverFlags } from '../../../server-command.js';

export interface MfaEnrollResult {
  user: string;
  /** Base32, shown this once. */
  secret: string;
  otpauthUri: string;
  issuer: string;
  digits: number;
  period: number;
}

export default class ServerMfaEnroll extends AscendCommand<MfaEnrollResult> {
  static override summary = 'Enroll a user for MFA (TOTP): prints the otpauth:// URI and the secret, once.';
  static override description =
    'Needs an admin token. Enrolling a user again replaces their secret (their authenticator app must be set up again). ' +
    'Give the URI (as a QR code) or the secret to the user privately: whoever holds it can make their codes. The server shows it only this once.';
  static override examples = ['<%= config.bin %> server mfa enroll --server https://collector.corp.example --user "CORP\\alice"'];
  static override flags = {
    ...serverFlags,
    user: Flags.string({ description: 'the user, as agents report it (DOMAIN\\name)', required: true }),
  };

  async run(): Promise<MfaEnrollResult> {
    const { flags } = await this.parse(ServerMfaEnroll);
    if (flags.user.trim() === '') throw new AscendError('ASC_USAGE', '--user must not be empty');
    const r = await callApi<MfaEnrollResult>(flags, 'POST', 'api/v1/mfa/enrollments', { user: flags.user });
    this.say(`MFA enrolled for ${safe(r.user)} (TOTP, SHA-1, ${r.digits} digits, ${r.period} s, issuer ${safe(r.issuer)}).`);
    this.say(r.otpauthUri);
    this.say(`Secret: ${r.secret}`);
    this.say(`Give the URI (as a QR code) or the secret to ${safe(r.user)} privately, and to no one else: it is shown only this once.`);
    return r;
  }
}
