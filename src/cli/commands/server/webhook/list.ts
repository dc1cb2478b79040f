import { AscendCommand } from '../../../base-command.js';
import type { WebhookView } from '../../../../collector-api/webhooks.js';
import { callApi, safe, serverFlags, when } from '../../../server-command.js';
import { renderTable } from '../../../table.js';

export interface WebhookListResult {
  webhooks: WebhookView[];
}

export default class ServerWebhookList extends AscendCommand<WebhookListResult> {
  static override summary = 'List the webhooks, with how many deliveries are pending, delivered and failed (given up).';
  static override description = 'Needs an admin token. URLs show only their start. "ascend server webhook deliveries" lists the deliveries themselves.';
  static override examples = ['<%= config.bin %> server webhook list --server https://collector.corp.example'];
  static override flags = { ...serverFlags };

  async run(): Promise<WebhookListResult> {
    const { flags } = await this.parse(ServerWebhookList);
    const r = await callApi<WebhookListResult>(flags, 'GET', 'api/v1/webhooks');
    const rows = r.webhooks.map((h) => ({
      id: h.id,
      name: safe(h.name),
      url: safe(h.url),
      format: h.format,
      events: h.events.join(','),
      pending: String(h.deliveries.pending),
      delivered: String(h.deliveries.delivered),
      failed: String(h.deliveries.failed),
      created: when(h.createdAt),
    }));
    this.say(renderTable(['id', 'name', 'url', 'format', 'events', 'pending', 'delivered', 'failed', 'created'], rows, { empty: '(no webhooks)' }));
    return r;
  }
}
