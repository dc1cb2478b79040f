import { AscendCommand } from '../../base-command.js';
import { callApi, relative, safe, serverFlags, when } from '../../server-command.js';
import type { WhoamiResult } from '../../shared/server-views.js';

export default class ServerWhoami extends AscendCommand<WhoamiResult> {
  static override summary = 'Show whose token or session the token file holds, its role and when it expires.';
  static override examples = ['<%= config.bin %> server whoami --server https://collector.corp.example --token-file ~/.ascend-session'];
  static override flags = { ...serverFlags };

  async run(): Promise<WhoamiResult> {
    const { flags } = await this.parse(ServerWhoami);
    const r = await callApi<WhoamiResult>(flags, 'GET', 'api/v1/whoami');
    const kind = r.source === 'ad' ? 'Active Directory session' : 'API token';
    this.say(`${safe(r.name)} (${r.role}), ${kind}, ${r.expiresAt === null ? 'no expiry' : `expires ${when(r.expiresAt)} (${relative(r.expiresAt)})`}`);
    return r;
  }
}
