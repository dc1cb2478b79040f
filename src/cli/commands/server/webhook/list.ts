import { AscendCommand } from '../../../base-command.js';
import type { WebhookView } from '../../../../collector-api/webhooks.js';
import { safe, serverFlags, when } from '../../../server-command.js';
import { renderTable } from '../../../table.js';
import { fetchList, pageFlags } from '../../../shared/list-pages.js';

export interface WebhookListResult {
  webhooks: WebhookView[];
  /** null when the whole list is shown; else where the next page starts (--cursor). */
  nextCursor: string | null;
}

export default class ServerWebhookList extends AscendCommand<WebhookListResult> {
  static override summary = 'List the webhooks, with how many deliveries are pending, delivered and failed (given up).';
  static override description = 'Needs an admin token. URLs show only their start. "ascend server webhook deliveries" lists the deliveries themselves.';
  static override examples = ['<%= config.bin %> server webhook list --server https://collector.corp.example'];
  static override flags = { ...serverFlags, ...pageFlags };

  async run(): Promise<WebhookListResult> {
    const { flags } = await this.parse(ServerWebhookList);
    // Paged (issue 18): the whole list (every cursor followed), or one page with --limit / --cursor.
    const r: WebhookListResult = await fetchList<'webhooks', WebhookView>(flags, 'api/v1/webhooks', {}, 'webhooks', flags, 'webhook list');
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
    if (r.nextCursor !== null) this.say(`(more: --cursor ${r.nextCursor})`);
    return r;
  }
}
