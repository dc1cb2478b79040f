import { AscendCommand } from '../../base-command.js';
import { callAgent, socketFlags } from '../../agent-command.js';
import { safe } from '../../server-command.js';

interface SessionView {
  sessionId: string;
  user: string;
  passcodeId: string;
  passcodeTitle: string;
  startedAt: string;
  endsAt: string;
  secondsLeft: number;
  endProcesses: boolean;
  ended: { at: string; reason: string } | null;
}

export interface TseStatusResult {
  user: string;
  active: SessionView[];
  recent: SessionView[];
}

export default class TseStatus extends AscendCommand<TseStatusResult> {
  static override summary = 'Show your Temporary Session Elevation sessions on this computer (root sees every user\'s).';
  static override examples = ['<%= config.bin %> tse status', '<%= config.bin %> tse status --json'];
  static override flags = { ...socketFlags };

  async run(): Promise<TseStatusResult> {
    const { flags } = await this.parse(TseStatus);
    const r = await callAgent<TseStatusResult>(flags, { op: 'tse-status' });
    if (r.active.length === 0) this.say(`No active TSE session for ${safe(r.user)}.`);
    for (const s of r.active) {
      this.say(`Active: "${safe(s.passcodeTitle)}" (${safe(s.passcodeId)}) for ${safe(s.user)} until ${s.endsAt}, ${Math.ceil(s.secondsLeft / 60)} min left${s.endProcesses ? '; programs end at expiry' : ''}`);
    }
    for (const s of r.recent) this.say(`Ended: "${safe(s.passcodeTitle)}" for ${safe(s.user)}, ${s.ended?.reason ?? ''} at ${s.ended?.at ?? ''}`);
    return r;
  }
}
