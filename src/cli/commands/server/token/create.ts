import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { AscendError } from '../../../../errors.js';
import { createPrivateFile } from '../../../../passcode-keys/key-file.js';
import { AscendCommand } from '../../../base-command.js';
import { callApi, safe, serverFlags, when } from '../../../server-command.js';
import type { ApiTokenView } from '../../../shared/server-views.js';
import { parseExpiry } from '../../../shared/time-flags.js';

export interface TokenCreateResult extends ApiTokenView {
  /** The secret, shown this once; absent with --out. */
  token?: string;
  /** With --out: the file it was written to. */
  file?: string;
}

export default class ServerTokenCreate extends AscendCommand<TokenCreateResult> {
  static override summary = 'Create an API token (viewer, approver or admin) on the collector.';
  static override description =
    'Needs an admin token. viewer reads reports and lists; approver also decides approval requests; admin does everything. ' +
    'The token is shown once. With --out it is written to a new file (mode 0600, never over an existing file) and not printed. ' +
    '--owner names the person who holds it (repeat it for each form of their name, and their SID): an approver token never approves ' +
    'a request of its owner, compared by account name (alice, CORP\\alice and alice@corp.example are one account) or by SID. ' +
    'A token made with an Active Directory session or an owned token also belongs to the one who made it.';
  static override examples = [
    '<%= config.bin %> server token create --server https://collector.corp.example --name helpdesk --role approver --expires 30d --owner "CORP\\bob"',
    '<%= config.bin %> server token create --server URL --name reports --role viewer --out viewer-token',
  ];
  static override flags = {
    ...serverFlags,
    name: Flags.string({ description: 'what the token is for (shown in lists and audit fields)', required: true }),
    role: Flags.string({ description: 'what it may do', options: ['viewer', 'approver', 'admin'], required: true }),
    expires: Flags.string({ description: 'expiry: a duration (30m, 24h, 30d) or an ISO 8601 time; default: none' }),
    out: Flags.string({ description: 'write the token to this new file (mode 0600) instead of printing it' }),
    owner: Flags.string({ description: 'who holds the token: an account name (bob, CORP\\bob, bob@corp.example) or SID; repeatable', multiple: true }),
  };

  async run(): Promise<TokenCreateResult> {
    const { flags } = await this.parse(ServerTokenCreate);
    if (flags.name.trim() === '') throw new AscendError('ASC_USAGE', '--name must not be empty');
    const expiresAt = flags.expires === undefined ? undefined : parseExpiry(flags.expires);
    if (flags.out !== undefined) await checkNewFile(flags.out);

    const owners = (flags.owner ?? []).map((o) => o.trim());
    if (owners.some((o) => o === '')) throw new AscendError('ASC_USAGE', '--owner must not be empty');
    const body = { name: flags.name, role: flags.role, ...(expiresAt === undefined ? {} : { expiresAt }), ...(owners.length === 0 ? {} : { owners }) };
    const made = await callApi<ApiTokenView & { token: string }>(flags, 'POST', 'api/v1/tokens', body);
    const { token, ...view } = made;
    const owned = view.owners !== undefined && view.owners.length > 0 ? `, owned by ${view.owners.map((o) => safe(o)).join(', ')}` : '';
    const terms = `${view.role}, ${view.expiresAt === null ? 'no expiry' : `expires ${when(view.expiresAt)}`}, id ${view.id}${owned}`;

    if (flags.out === undefined) {
      this.say(token);
      this.say(`(${terms}; shown this once: keep it now)`);
      return made;
    }
    let file: string;
    try {
      file = await createPrivateFile(flags.out, `${token}\n`, 'token file', 'give a new --out path');
    } catch (e) {
      // Not written: a token nobody holds is revoked rather than left working.
      await callApi(flags, 'POST', `api/v1/tokens/${encodeURIComponent(view.id)}/revoke`).catch(() => undefined);
      throw e;
    }
    this.say(`Token "${safe(view.name)}" written to ${flags.out} (${terms}).`);
    return { ...view, file };
  }
}

/** Refuses early, before the token is made, an --out that exists or whose folder does not. */
async function checkNewFile(file: string): Promise<void> {
  const abs = path.resolve(file);
  const parent = await fs.stat(path.dirname(abs)).catch(() => undefined);
  if (!parent?.isDirectory()) throw new AscendError('ASC_FILE_NOT_FOUND', `${file}: folder ${path.dirname(file)} does not exist`);
  if (await fs.lstat(abs).then(() => true, () => false)) {
    throw new AscendError('ASC_FILE_EXISTS', `${file}: exists already; a token file is never overwritten`, { hint: 'give a new --out path' });
  }
}
