import { Flags } from '@oclif/core';
import { AscendCommand } from '../../../base-command.js';
import { parseExpiry } from '../../../shared/time-flags.js';
import { callServer } from '../../../../collector/server/index.js';
import { safe, serverFlags, serverToken, trustOptions } from '../../../server-command.js';
import { showPin, splitEnrollmentToken } from '../../../../collector-api/pin.js';

export interface EnrollTokenResult {
  token: string;
  id: string;
  uses: number;
  expiresAt: string | null;
  /** The only computers it enrolls; empty = any. */
  computers?: string[];
  /** The fingerprint ("SHA256:...") of the collector's certificate authority that the token pins; null: none (a plain-HTTP collector). */
  fingerprint?: string | null;
}

export default class ServerEnrollTokenCreate extends AscendCommand<EnrollTokenResult> {
  static override summary = 'Create an enrollment token on the collector for agents to enroll with.';
  static override description =
    'Needs an admin API token (the bootstrap token file, for instance). The token is shown once. With --computer (repeatable) it enrolls only ' +
    'the computers it names (case-insensitive; "PC-A" also covers "pc-a.corp.example"), one use each unless --uses says otherwise. ' +
    'Whatever the token, a computer name an unrevoked agent holds is refused: revoke that agent first (ascend server agent revoke ID).';
  static override examples = [
    '<%= config.bin %> server enroll-token create --server https://127.0.0.1:8003 --ca-file ascend-data/tls/ca.pem --token-file ascend-data/bootstrap-admin-token --uses 50 --expires 7d --json',
    '<%= config.bin %> server enroll-token create --server https://collector.corp.example --computer PC-A --computer PC-B --expires 24h',
  ];
  static override flags = {
    ...serverFlags,
    uses: Flags.integer({ description: 'how many agents may enroll with it (default 1, or the number of --computer names)', min: 1 }),
    computer: Flags.string({ description: 'a computer it may enroll, and no other (repeatable)', multiple: true }),
    expires: Flags.string({ description: 'expiry: a duration (30m, 24h, 7d) or an ISO 8601 time' }),
  };

  async run(): Promise<EnrollTokenResult> {
    const { flags } = await this.parse(ServerEnrollTokenCreate);
    const token = serverToken(flags);
    const computers = flags.computer ?? [];
    const body = {
      ...(flags.uses === undefined ? {} : { uses: flags.uses }),
      ...(flags.expires === undefined ? {} : { expiresAt: parseExpiry(flags.expires) }),
      ...(computers.length === 0 ? {} : { computers }),
    };
    const r = await callServer<EnrollTokenResult>(flags.server, token, 'POST', 'api/v1/enroll-tokens', body, trustOptions(flags));
    this.say(r.token);
    const only = r.computers === undefined || r.computers.length === 0 ? '' : `, only for ${r.computers.map((c) => safe(c)).join(', ')}`;
    this.say(`(${r.uses} use${r.uses === 1 ? '' : 's'}, ${r.expiresAt === null ? 'no expiry' : `expires ${r.expiresAt}`}${only})`);
    // The token ends with the pin of the collector's certificate authority (SECRET.PIN): agents enrolling with it trust only that CA.
    const { pin } = splitEnrollmentToken(r.token);
    const fingerprint = pin === null ? null : showPin(pin);
    this.say(fingerprint === null ? 'It pins no certificate authority: the collector serves plain HTTP.' : `It pins the collector's certificate authority ${fingerprint}.`);
    return { ...r, fingerprint };
  }
}
