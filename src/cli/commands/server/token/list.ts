import { AscendCommand } from '../../../base-command.js';
import { callApi, serverFlags, when } from '../../../server-command.js';
import { renderTable } from '../../../table.js';
import type { ApiTokenView } from '../../../shared/server-views.js';

export interface TokenListResult {
  tokens: ApiTokenView[];
}

export default class ServerTokenList extends AscendCommand<TokenListResult> {
  static override summary = 'List the API tokens and sign-in sessions of the collector (never their secrets).';
  static override description = 'Needs an admin token. source is "token" for a made token and "ad" for an Active Directory sign-in session.';
  static override examples = ['<%= config.bin %> server token list --server https://collector.corp.example', '<%= config.bin %> server token list --server URL --json'];
  static override flags = { ...serverFlags };

  async run(): Promise<TokenListResult> {
    const { flags } = await this.parse(ServerTokenList);
    const r = await callApi<TokenListResult>(flags, 'GET', 'api/v1/tokens');
    const rows = r.tokens.map((t) => ({
      id: t.id,
      name: t.name,
      role: t.role,
      source: t.source,
      created: when(t.createdAt),
      expires: t.expiresAt === null ? 'never' : when(t.expiresAt),
      revoked: t.revokedAt === null ? '' : when(t.revokedAt),
    }));
    this.say(renderTable(['id', 'name', 'role', 'source', 'created', 'expires', 'revoked'], rows, { empty: '(no tokens)' }));
    return r;
  }
}
