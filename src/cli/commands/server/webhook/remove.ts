import { Args } from '@oclif/core';
import { AscendCommand } from '../../../base-command.js';
import { callApi, seg, serverFlags } from '../../../server-command.js';

export interface WebhookRemoveResult {
  id: string;
  removed: boolean;
}

export default class ServerWebhookRemove extends AscendCommand<WebhookRemoveResult> {
  static override summary = 'Remove a webhook: no new deliveries, and its pending ones are given up.';
  static override description = 'Needs an admin token. ID is from "ascend server webhook list". Its deliveries stay listed.';
  static override examples = ['<%= config.bin %> server webhook remove 3f2c9a4e-0d1b-4c59-9a57-6f7f2b1e8c10 --server https://collector.corp.example'];
  static override args = { id: Args.string({ description: 'the webhook id', required: true }) };
  static override flags = { ...serverFlags };

  async run(): Promise<WebhookRemoveResult> {
    const { args, flags } = await this.parse(ServerWebhookRemove);
    const r = await callApi<WebhookRemoveResult>(flags, 'POST', `api/v1/webhooks/${seg(args.id)}/remove`, undefined, { notFound: '"ascend server webhook list" shows the ids' });
    this.say(`Removed webhook ${r.id}.`);
    return r;
  }
}
