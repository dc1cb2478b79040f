import { AscendCommand } from '../../base-command.js';
import { socketFlags } from '../../agent-command.js';
import { tseStatus, tseStatusLines, type TseStatusResult } from '../../client/tse.js';

export type { TseStatusResult } from '../../client/tse.js';

export default class TseStatus extends AscendCommand<TseStatusResult> {
  static override summary = 'Show your Temporary Session Elevation sessions on this computer (root sees every user\'s).';
  static override examples = ['<%= config.bin %> tse status', '<%= config.bin %> tse status --json'];
  static override flags = { ...socketFlags };

  async run(): Promise<TseStatusResult> {
    const { flags } = await this.parse(TseStatus);
    const r = await tseStatus(flags);
    for (const line of tseStatusLines(r)) this.say(line);
    return r;
  }
}
