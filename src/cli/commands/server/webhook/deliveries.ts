import { Flags } from '@oclif/core';
import type { WebhookDeliveryView } from '../../../../collector-api/webhooks.js';
import { AscendCommand } from '../../../base-command.js';
import { safe, serverFlags, when } from '../../../server-command.js';
import { renderTable } from '../../../table.js';
import { fetchList, pageFlags } from '../../../shared/list-pages.js';
import { LIST_DELIVERIES_ROWS, REPORT_PAGE_MAX, REPORT_PAGE_ROWS } from '../../../../collector-api/reports.js';

export interface WebhookDeliveriesResult {
  deliveries: WebhookDeliveryView[];
  more: boolean;
  /** Where the next page starts (--cursor), null when no more. */
  nextCursor: string | null;
}

export default class ServerWebhookDeliveries extends AscendCommand<WebhookDeliveriesResult> {
  static override summary = 'List webhook deliveries, newest first: pending (being retried), delivered, or failed (given up).';
  static override description = 'Needs an admin token. The id is the delivery id receivers see (header ascend-delivery and the body\'s id).';
  static override examples = ['<%= config.bin %> server webhook deliveries --server https://collector.corp.example --status failed'];
  static override flags = {
    ...serverFlags,
    webhook: Flags.string({ description: 'only this webhook\'s (id)' }),
    status: Flags.string({ description: 'only these', options: ['pending', 'delivered', 'failed'] }),
    limit: Flags.integer({ description: `at most this many (a page; default ${LIST_DELIVERIES_ROWS})`, min: 1, max: REPORT_PAGE_MAX }),
    cursor: pageFlags.cursor,
    all: Flags.boolean({ description: 'every delivery (of the filters), following the cursors', default: false }),
  };

  async run(): Promise<WebhookDeliveriesResult> {
    const { flags } = await this.parse(ServerWebhookDeliveries);
    // Paged (issue 18), newest first: one page (--limit, --cursor), or with --all every page.
    const limit = flags.limit ?? (flags.all ? REPORT_PAGE_ROWS : LIST_DELIVERIES_ROWS);
    const got = await fetchList<'deliveries', WebhookDeliveryView>(
      flags,
      'api/v1/webhooks/deliveries',
      { webhook: flags.webhook, status: flags.status },
      'deliveries',
      { limit, cursor: flags.cursor },
      'webhook delivery list',
      flags.all,
    );
    const r: WebhookDeliveriesResult = { deliveries: got.deliveries, more: got.nextCursor !== null, nextCursor: got.nextCursor };
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
    if (r.nextCursor !== null) this.say(`(more: --cursor ${r.nextCursor}, or --all)`);
    return r;
  }
}
