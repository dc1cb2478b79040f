import { setTimeout as sleep } from 'node:timers/promises';
import { Args, Flags } from '@oclif/core';
import { AscendError } from '../../../../errors.js';
import type { WebhookDeliveryView } from '../../../../collector-api/webhooks.js';
import { AscendCommand } from '../../../base-command.js';
import { callApi, safe, seg, serverFlags } from '../../../server-command.js';

export interface WebhookTestResult {
  delivery: WebhookDeliveryView;
}

export default class ServerWebhookTest extends AscendCommand<WebhookTestResult> {
  static override summary = 'Send a test event (webhook.test) to a webhook and wait for the first attempt\'s outcome.';
  static override description =
    'Needs an admin token. The test goes through the same queue, signing and retries as real events. ' +
    'Exits non-zero when the first attempt failed (the delivery is still retried) or none was made within --wait seconds.';
  static override examples = ['<%= config.bin %> server webhook test 3f2c9a4e-0d1b-4c59-9a57-6f7f2b1e8c10 --server https://collector.corp.example'];
  static override args = { id: Args.string({ description: 'the webhook id', required: true }) };
  static override flags = { ...serverFlags, wait: Flags.integer({ description: 'seconds to wait for the first attempt', default: 30, min: 0, max: 300 }) };

  async run(): Promise<WebhookTestResult> {
    const { args, flags } = await this.parse(ServerWebhookTest);
    let { delivery } = await callApi<WebhookTestResult>(flags, 'POST', `api/v1/webhooks/${seg(args.id)}/test`, undefined, { notFound: '"ascend server webhook list" shows the ids' });
    const deadline = Date.now() + flags.wait * 1000;
    while (delivery.attempts === 0 && delivery.status === 'pending' && Date.now() < deadline) {
      await sleep(500);
      delivery = (await callApi<WebhookTestResult>(flags, 'GET', `api/v1/webhooks/deliveries/${seg(delivery.id)}`)).delivery;
    }
    if (delivery.status === 'delivered') {
      this.say(`Delivered test ${delivery.id}.`);
      return { delivery };
    }
    if (delivery.attempts === 0) throw new AscendError('ASC_WEBHOOK_FAILED', `test delivery ${delivery.id} was not attempted within ${flags.wait} s`, { hint: 'is the collector sending webhooks? "ascend server webhook deliveries" shows it later' });
    throw new AscendError('ASC_WEBHOOK_FAILED', `test delivery ${delivery.id} failed: ${safe(delivery.lastError ?? 'unknown')}`, {
      hint: `it is retried until ${delivery.nextAttemptAt === null ? 'given up' : `delivered or given up (next at ${delivery.nextAttemptAt})`}`,
    });
  }
}
