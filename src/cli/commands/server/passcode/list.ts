import { AscendCommand } from '../../../base-command.js';
import { serverFlags, when } from '../../../server-command.js';
import { renderTable } from '../../../table.js';
import { fetchList, pageFlags } from '../../../shared/list-pages.js';
import type { PasscodeView } from '../../../shared/server-views.js';

export interface PasscodeListResult {
  passcodes: PasscodeView[];
  /** null when the whole list is shown; else where the next page starts (--cursor). */
  nextCursor: string | null;
}

export default class ServerPasscodeList extends AscendCommand<PasscodeListResult> {
  static override summary = "List the collector's passcode registry: uses counted across every agent, and revocations.";
  static override description = 'Needs a token of the viewer role or above. Register a passcode with "ascend server passcode register FILE.ascpass".';
  static override examples = ['<%= config.bin %> server passcode list --server https://collector.corp.example'];
  static override flags = { ...serverFlags, ...pageFlags };

  async run(): Promise<PasscodeListResult> {
    const { flags } = await this.parse(ServerPasscodeList);
    // Paged (issue 18): the whole list (every cursor followed), or one page with --limit / --cursor.
    const r: PasscodeListResult = await fetchList<'passcodes', PasscodeView>(flags, 'api/v1/passcodes', {}, 'passcodes', flags, 'passcode list');
    const rows = r.passcodes.map((p) => ({
      id: p.id,
      title: p.title,
      uses: `${p.uses}/${p.maxUses === null ? '∞' : p.maxUses}`,
      revoked: p.revokedAt === null ? '' : when(p.revokedAt),
    }));
    this.say(renderTable(['id', 'title', 'uses', 'revoked'], rows, { empty: '(no passcodes registered)' }));
    if (r.nextCursor !== null) this.say(`(more: --cursor ${r.nextCursor})`);
    return r;
  }
}
