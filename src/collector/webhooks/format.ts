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

/** Characters of one field as the chat shows it, escapes included. */
const MAX_FIELD = 500;
/** Slack refuses a section block's text over 3,000 characters. */
export const SLACK_TEXT_MAX = 3000;
/** Teams takes a message of about 28 KB: the facts' text stays well below it. */
export const TEAMS_FACTS_MAX = 12_000;

/**
 * The text escaped piece by piece (`escape` maps one code point to what the chat needs), then
 * cut after escaping to at most `max` characters, "…" included, never inside an escape.
 */
function escapeAndCut(s: string, escape: (c: string) => string, max: number): string {
  const pieces = Array.from(s.replace(/[\x00-\x1f\x7f]+/g, ' '), escape);
  const whole = pieces.join('');
  if (whole.length <= max) return whole;
  let out = '';
  for (const piece of pieces) {
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

/** Slack mrkdwn: &, < and > are the control characters (links, mentions such as <!channel>); backticks and the rest would format. */
function slackPiece(c: string): string {
  if (c === '&') return '&amp;';
  if (c === '<') return '&lt;';
  if (c === '>') return '&gt;';
  return /[*_~`|]/.test(c) ? `\u200b${c}\u200b` : c;
}

export function slackText(s: string, max = MAX_FIELD): string {
  return escapeAndCut(s, slackPiece, max);
}

/** Teams TextBlocks render a Markdown subset: escape its characters; links and @mentions never come from our text. */
export function teamsText(s: string, max = MAX_FIELD): string {
  return escapeAndCut(s, (c) => (/[\\`*_{}[\]()#+\-.!<>|~@]/.test(c) ? `\\${c}` : c), max);
}

/** Lines made one by one within a total: each gets what is left (at most its own cap); the rest is left out, and said so. */
function withinTotal(rows: readonly [string, string][], total: number, line: (label: string, value: string, max: number) => string): string[] {
  const out: string[] = [];
  let left = total;
  for (const [k, v] of rows) {
    const room = Math.min(MAX_FIELD, left - k.length - 8);
    if (room < 20) {
      out.push('…');
      break;
    }
    const l = line(k, v, room);
    out.push(l);
    left -= l.length + 1;
  }
  return out;
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
    const head = `*Ascend: ${title}*`;
    const foot = `_delivery ${body.id}, ${body.occurredAt}_`;
    // The whole text within Slack's limit: the header and footer first, the fields in what is left.
    const lines = withinTotal(rows, SLACK_TEXT_MAX - head.length - foot.length - 2, (k, v, max) => `*${k}:* ${slackText(v, max)}`);
    const text = [head, ...lines, foot].join('\n');
    return JSON.stringify({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
  }
  let factsLeft = TEAMS_FACTS_MAX;
  const teamsFacts: { title: string; value: string }[] = [];
  for (const [k, v] of rows) {
    const room = Math.min(MAX_FIELD, factsLeft);
    if (room < 20) break;
    const value = teamsText(v, room);
    factsLeft -= value.length;
    teamsFacts.push({ title: k, value });
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
            { type: 'FactSet', facts: teamsFacts },
            { type: 'TextBlock', text: teamsText(`delivery ${body.id}, ${body.occurredAt}`), isSubtle: true, size: 'Small', wrap: true },
          ],
        },
      },
    ],
  });
}
