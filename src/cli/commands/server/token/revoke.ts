import { Args } from '@oclif/core';
import { AscendCommand } from '../../../base-command.js';
import { callApi, safe, seg, serverFlags, when } from '../../../server-command.js';
import type { ApiTokenView } from '../../../shared/server-views.js';

export interface TokenRevokeResult {
  token: ApiTokenView | null;
}

export default class ServerTokenRevoke extends AscendCommand<TokenRevokeResult> {
  static override summary = 'Revoke an API token or a sign-in session: it stops working at once.';
  static override description = 'Needs an admin token. ID is from "ascend server token list". Revoking twice is harmless.';
  static override examples = ['<%= config.bin %> server token revoke 3f2c9a4e-0d1b-4c59-9a57-6f7f2b1e8c10 --server https://collector.corp.example'];
  static override args = { id: Args.string({ description: 'the token id', required: true }) };
  static override flags = { ...serverFlags };

  async run(): Promise<TokenRevokeResult> {
    const { args, flags } = await this.parse(ServerTokenRevoke);
    const r = await callApi<TokenRevokeResult>(flags, 'POST', `api/v1/tokens/${seg(args.id)}/revoke`, undefined, {
      notFound: '"ascend server token list" shows the ids',
    });
    const t = r.token;
    this.say(t === null ? `Revoked token ${args.id}.` : `Revoked token ${t.id} "${safe(t.name)}" (${t.role}, ${t.source}) at ${when(t.revokedAt)}.`);
    return r;
  }
}
