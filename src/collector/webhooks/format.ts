/**
 * A delivery's body in the webhook's format: json (the event as is, with the delivery id),
 * slack (an incoming-webhook message) or teams (an Adaptive Card message for a Teams
 * workflow/incoming webhook). What agents and users typed (paths, arguments, justifications,
 * reasons) is made inert text for the chat: no mentions, links or markup from it.
 */
import type { WebhookBody, WebhookFormat } from '../../collector-api/webhooks.js';

const TITLES: Record<string, string> = {
  'approval.requested': 'Approval requested',
  'approval.decided': 'Approval decided',
  'elevation.denied': 'Elevation denied',
  'mfa.lockout': 'MFA lockout',
  'passcode.revoked': 'Passcode revoked',
  'agent.revoked': 'Agent revoked',
  'webhook.test': 'Webhook test',
};

/** The fields shown in chat, in order, as label and text. */
const FIELDS: readonly [string, string][] = [
  ['user', 'User'],
  ['computer', 'Computer'],
  ['processPath', 'Program'],
  ['args', 'Arguments'],
  ['justification', 'Justification'],
  ['rule', 'Rule'],
  ['status', 'Status'],
  ['decidedBy', 'Decided by'],
  ['reason', 'Reason'],
  ['timeLimitSeconds', 'Time limit (s)'],
  ['passcodeId', 'Passcode'],
  ['agentId', 'Agent'],
  ['lockedUntil', 'Locked until'],
  ['approvalId', 'Request'],
  ['by', 'By'],
  ['message', 'Message'],
];

const MAX_FIELD = 500;

function clip(s: string): string {
  const flat = s.replace(/[\x00-\x1f\x7f]+/g, ' ');
  return flat.length > MAX_FIELD ? `${flat.slice(0, MAX_FIELD)}…` : flat;
}

/** Slack mrkdwn: &, < and > are the control characters (links, mentions such as <!channel>); backticks and the rest would format. */
export function slackText(s: string): string {
  return clip(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([*_~`|])/g, '\u200b$1\u200b');
}

/** Teams TextBlocks render a Markdown subset: escape its characters; links and @mentions never come from our text. */
export function teamsText(s: string): string {
  return clip(s).replace(/([\\`*_{}[\]()#+\-.!<>|~@])/g, '\\$1');
}

function facts(data: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  for (const [key, label] of FIELDS) {
    const v = data[key];
    if (v === undefined || v === null || v === '') continue;
    out.push([label, typeof v === 'string' ? v : JSON.stringify(v)]);
  }
  return out;
}

export function renderBody(format: WebhookFormat, body: WebhookBody): string {
  if (format === 'json') return JSON.stringify(body);
  const title = TITLES[body.type] ?? body.type;
  const rows = facts(body.data);
  if (format === 'slack') {
    const lines = rows.map(([k, v]) => `*${k}:* ${slackText(v)}`);
    const text = [`*Ascend: ${title}*`, ...lines, `_delivery ${body.id}, ${body.occurredAt}_`].join('\n');
    return JSON.stringify({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
  }
  return JSON.stringify({
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: `Ascend: ${title}`, weight: 'Bolder', size: 'Medium', wrap: true },
            { type: 'FactSet', facts: rows.map(([k, v]) => ({ title: k, value: teamsText(v) })) },
            { type: 'TextBlock', text: teamsText(`delivery ${body.id}, ${body.occurredAt}`), isSubtle: true, size: 'Small', wrap: true },
          ],
        },
      },
    ],
  });
}
