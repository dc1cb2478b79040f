import { Flags } from '@oclif/core';
import { AscendError } from '../../../../errors.js';
import { createPrivateFile } from '../../../../passcode-keys/key-file.js';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_FORMATS, type WebhookView } from '../../../../collector-api/webhooks.js';
import { AscendCommand } from '../../../base-command.js';
import { callApi, readPrivateSecretFile, safe, seg, serverFlags } from '../../../server-command.js';

export interface WebhookAddResult {
  webhook: WebhookView;
  /** The signing secret, shown this once; absent with --secret-out. */
  secret?: string;
  /** With --secret-out: the file it was written to. */
  file?: string;
}

export default class ServerWebhookAdd extends AscendCommand<WebhookAddResult> {
  static override summary = 'Add a webhook: the collector POSTs the chosen events to a URL, signed.';
  static override description =
    'Needs an admin token. Events: ' +
    WEBHOOK_EVENT_TYPES.join(', ') +
    ' (--event all for every one). Each delivery is JSON with a delivery id, signed with HMAC-SHA256 ' +
    '(header ascend-signature: t=<unix time>,v1=<hex HMAC of "<t>.<body>">), retried with backoff until delivered or given up. ' +
    '--format slack or teams shapes the body for an incoming-webhook URL. The URL must be https (http only to this machine); ' +
    'link-local and metadata addresses are refused, redirects are not followed. The signing secret is shown once ' +
    '(or written to a new 0600 file with --secret-out). A URL that is itself a secret (Slack, Teams) can be read from a file ' +
    'with --url-file instead of the command line; lists show only its start.';
  static override examples = [
    '<%= config.bin %> server webhook add --server https://collector.corp.example --name approvals --url https://hooks.corp.example/ascend --event approval.requested --event approval.decided --secret-out webhook-secret',
    '<%= config.bin %> server webhook add --server URL --name chat --url-file slack-url --format slack --event all',
  ];
  static override flags = {
    ...serverFlags,
    name: Flags.string({ description: 'what the webhook is for (shown in lists)', required: true }),
    url: Flags.string({ description: 'where deliveries are POSTed (https)', exclusive: ['url-file'] }),
    'url-file': Flags.string({ description: 'read the URL from this file (mode 0600), for URLs that carry a token', exclusive: ['url'] }),
    event: Flags.string({ description: 'an event type to deliver, or all; repeatable', multiple: true, required: true, options: ['all', ...WEBHOOK_EVENT_TYPES] }),
    format: Flags.string({ description: 'body format', options: [...WEBHOOK_FORMATS], default: 'json' }),
    'secret-out': Flags.string({ description: 'write the signing secret to this new file (mode 0600) instead of printing it' }),
  };

  async run(): Promise<WebhookAddResult> {
    const { flags } = await this.parse(ServerWebhookAdd);
    if (flags.name.trim() === '') throw new AscendError('ASC_USAGE', '--name must not be empty');
    let url = flags.url;
    if (flags['url-file'] !== undefined) url = (await readPrivateSecretFile(flags['url-file'], 'URL file')).trim();
    if (url === undefined || url === '') throw new AscendError('ASC_USAGE', 'give --url URL or --url-file FILE');
    const events = flags.event.includes('all') ? [...WEBHOOK_EVENT_TYPES] : [...new Set(flags.event)];
    const made = await callApi<{ secret: string; webhook: WebhookView }>(flags, 'POST', 'api/v1/webhooks', { name: flags.name, url, events, format: flags.format });
    const { secret, webhook } = made;
    const terms = `id ${webhook.id}, ${webhook.format}, events ${webhook.events.join(', ')}`;
    if (flags['secret-out'] === undefined) {
      this.say(secret);
      this.say(`(the signing secret of webhook "${safe(webhook.name)}" to ${safe(webhook.url)}: ${terms}; shown this once: keep it now)`);
      return made;
    }
    let file: string;
    try {
      file = await createPrivateFile(flags['secret-out'], `${secret}\n`, 'secret file', 'give a new --secret-out path');
    } catch (e) {
      // Not written: a webhook whose secret nobody holds is removed rather than left sending.
      await callApi(flags, 'POST', `api/v1/webhooks/${seg(webhook.id)}/remove`).catch(() => undefined);
      throw e;
    }
    this.say(`Webhook "${safe(webhook.name)}" to ${safe(webhook.url)} added (${terms}); its signing secret is in ${flags['secret-out']}.`);
    return { webhook, file };
  }
}
