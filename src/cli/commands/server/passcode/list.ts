import { AscendCommand } from '../../../base-command.js';
import { callApi, serverFlags, when } from '../../../server-command.js';
import { renderTable } from '../../../table.js';
import type { PasscodeView } from '../../../shared/server-views.js';

export interface PasscodeListResult {
  passcodes: PasscodeView[];
}

export default class ServerPasscodeList extends AscendCommand<PasscodeListResult> {
  static override summary = "List the collector's passcode registry: uses counted across every agent, and revocations.";
  static override description = 'Needs a token of the viewer role or above. Register a passcode with "ascend server passcode register FILE.ascpass".';
  static override examples = ['<%= config.bin %> server passcode list --server https://collector.corp.example'];
  static override flags = { ...serverFlags };

  async run(): Promise<PasscodeListResult> {
    const { flags } = await this.parse(ServerPasscodeList);
    const r = await callApi<PasscodeListResult>(flags, 'GET', 'api/v1/passcodes');
    const rows = r.passcodes.map((p) => ({
      id: p.id,
      title: p.title,
      uses: `${p.uses}/${p.maxUses === null ? '∞' : p.maxUses}`,
      revoked: p.revokedAt === null ? '' : when(p.revokedAt),
    }));
    this.say(renderTable(['id', 'title', 'uses', 'revoked'], rows, { empty: '(no passcodes registered)' }));
    return r;
  }
}
