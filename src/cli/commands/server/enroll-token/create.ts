import { Flags } from '@oclif/core';
import { AscendError } from '../../../../errors.js';
import { AscendCommand } from '../../../base-command.js';
import { durationMs } from '../../../duration.js';
import { callServer } from '../../../../collector/server/index.js';
import { serverFlags, serverToken } from '../../../server-command.js';

export interface EnrollTokenResult {
  token: string;
  id: string;
  uses: number;
  expiresAt: string | null;
}

/** "24h", "7d", "30m", "3600s" from now, or an ISO 8601 time. */
export function parseExpiry(text: string, now = Date.now()): string {
  const ms = durationMs(text);
  if (ms !== undefined) return new Date(now + ms).toISOString();
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new AscendError('ASC_USAGE', `--expires must be a duration (30m, 24h, 7d) or an ISO 8601 time: ${text}`);
  return new Date(t).toISOString();
}

export default class ServerEnrollTokenCreate extends AscendCommand<EnrollTokenResult> {
  static override summary = 'Create an enrollment token on the collector for agents to enroll with.';
  static override description = 'Needs an admin API token (the bootstrap token file, for instance). The token is shown once.';
  static override examples = [
    '<%= config.bin %> server enroll-token create --server http://127.0.0.1:8003 --token-file ascend-data/bootstrap-admin-token --uses 50 --expires 7d --json',
  ];
  static override flags = {
    ...serverFlags,
    uses: Flags.integer({ description: 'how many agents may enroll with it', default: 1, min: 1 }),
    expires: Flags.string({ description: 'expiry: a duration (30m, 24h, 7d) or an ISO 8601 time' }),
  };

  async run(): Promise<EnrollTokenResult> {
    const { flags } = await this.parse(ServerEnrollTokenCreate);
    const token = serverToken(flags);
    const body = { uses: flags.uses, ...(flags.expires === undefined ? {} : { expiresAt: parseExpiry(flags.expires) }) };
    const r = await callServer<EnrollTokenResult>(flags.server, token, 'POST', 'api/v1/enroll-tokens', body);
    this.say(r.token);
    this.say(`(${r.uses} use${r.uses === 1 ? '' : 's'}, ${r.expiresAt === null ? 'no expiry' : `expires ${r.expiresAt}`})`);
    return r;
  }
}
