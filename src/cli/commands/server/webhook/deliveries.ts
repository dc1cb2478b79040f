import { Flags } from '@oclif/core';
import type { WebhookDeliveryView } from '../../../../collector-api/webhooks.js';
import { AscendCommand } from '../../../base-command.js';
import { callApi, safe, serverFlags, when } from '../../../server-command.js';
import { renderTable } from '../../../table.js';

export interface WebhookDeliveriesResult {
  deliveries: WebhookDeliveryView[];
  more: boolean;
}

export default class ServerWebhookDeliveries extends AscendCommand<WebhookDeliveriesResult> {
  static override summary = 'List webhook deliveries, newest first: pending (being retried), delivered, or failed (given up).';
  static override description = 'Needs an admin token. The id is the delivery id receivers see (header ascend-delivery and the body\'s id).';
  static override examples = ['<%= config.bin %> server webhook deliveries --server https://collector.corp.example --status failed'];
  static override flags = {
    ...serverFlags,
    webhook: Flags.string({ description: 'only this webhook\'s (id)' }),
    status: Flags.string({ description: 'only these', options: ['pending', 'delivered', 'failed'] }),
    limit: Flags.integer({ description: 'at most this many', default: 100, min: 1, max: 1000 }),
  };

  async run(): Promise<WebhookDeliveriesResult> {
    const { flags } = await this.parse(ServerWebhookDeliveries);
    const q = new URLSearchParams({ limit: String(flags.limit) });
    if (flags.webhook !== undefined) q.set('webhook', flags.webhook);
    if (flags.status !== undefined) q.set('status', flags.status);
    const r = await callApi<WebhookDeliveriesResult>(flags, 'GET', `api/v1/webhooks/deliveries?${q.toString()}`);
    const rows = r.deliveries.map((d) => ({
      id: d.id,
      webhook: d.webhookId,
      event: d.event,
      status: d.status,
      attempts: String(d.attempts),
      created: when(d.createdAt),
      next: d.nextAttemptAt === null ? '' : when(d.nextAttemptAt),
      error: safe(d.lastError ?? ''),
    }));
    this.say(renderTable(['id', 'webhook', 'event', 'status', 'attempts', 'created', 'next', 'error'], rows, { empty: '(no deliveries)' }));
    if (r.more) this.say(`(more: raise --limit above ${flags.limit} or filter)`);
    return r;
  }
}
