import { AscendCommand } from '../../../base-command.js';
import { serverFlags, when } from '../../../server-command.js';
import { renderTable } from '../../../table.js';
import { fetchList, pageFlags } from '../../../shared/list-pages.js';
import type { ApiTokenView } from '../../../shared/server-views.js';

export interface TokenListResult {
  tokens: ApiTokenView[];
  /** null when the whole list is shown; else where the next page starts (--cursor). */
  nextCursor: string | null;
}

export default class ServerTokenList extends AscendCommand<TokenListResult> {
  static override summary = 'List the API tokens and sign-in sessions of the collector (never their secrets).';
  static override description = 'Needs an admin token. source is "token" for a made token and "ad" for an Active Directory sign-in session.';
  static override examples = ['<%= config.bin %> server token list --server https://collector.corp.example', '<%= config.bin %> server token list --server URL --json'];
  static override flags = { ...serverFlags, ...pageFlags };

  async run(): Promise<TokenListResult> {
    const { flags } = await this.parse(ServerTokenList);
    // Paged (issue 18): the whole list (every cursor followed), or one page with --limit / --cursor.
    const r: TokenListResult = await fetchList<'tokens', ApiTokenView>(flags, 'api/v1/tokens', {}, 'tokens', flags, 'token list');
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
    if (r.nextCursor !== null) this.say(`(more: --cursor ${r.nextCursor})`);
    return r;
  }
}
