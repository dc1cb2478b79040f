/**
 * H18f (review L2, L4): chat bodies are cut after escaping and stay within Slack's 3,000
 * characters per section (Teams' facts within their budget), and NAT64 forms of refused
 * addresses (64:ff9b::/96 as the IPv4 inside, 64:ff9b:1::/48 whole) are refused like them.
 */
import { expect } from 'chai';
import { renderBody, SLACK_TEXT_MAX, slackText, TEAMS_FACTS_MAX, teamsText } from '../../src/collector/webhooks/format.js';
import { sendWebhook } from '../../src/collector/webhooks/send.js';
import { checkWebhookUrl, refusedAddress } from '../../src/collector/webhooks/target.js';

const hostile = {
  approvalId: '0f9a6c2e-8d1b-4e3f-a5b7-c9d0e1f2a3b4',
  agentId: '1f9a6c2e-8d1b-4e3f-a5b7-c9d0e1f2a3b4',
  computer: 'PC-1',
  user: 'CORP\\bob',
  processPath: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
  args: '&'.repeat(5000),
  justification: 'need <admin> & __stuff__ '.repeat(300),
  rule: '*'.repeat(4000),
  reason: '<'.repeat(4000),
  status: 'denied',
  decidedBy: '_'.repeat(4000),
  message: '|'.repeat(4000),
};

describe('h18f webhook chat bodies: cut after escaping, within the chat limits', () => {
  it("Slack: the section text stays within 3,000 characters, and no escape is cut in half", () => {
    const body = JSON.parse(renderBody('slack', { id: 'd-1', type: 'approval.decided', occurredAt: new Date(0).toISOString(), data: hostile }));
    const text: string = body.blocks[0].text.text;
    expect(text.length, 'Slack section text length').to.be.at.most(3000);
    expect(SLACK_TEXT_MAX).to.equal(3000);
    expect(body.text).to.equal(text);
    // Every & starts a whole entity: nothing like "&am…" was left by a cut.
    expect(text.match(/&(?!amp;|lt;|gt;)/g)).to.equal(null);
    expect(text).to.match(/^\*Ascend: Approval decided\*\n/);
    expect(text).to.match(/_delivery d-1, 1970-01-01T00:00:00.000Z_$/);
  });

  it('one field: at most 500 characters after escaping, ending in …', () => {
    const s = slackText('&'.repeat(500));
    expect(s.length).to.be.at.most(500);
    expect(s.endsWith('&amp;…')).to.equal(true);
    const z = slackText('*'.repeat(500));
    expect(z.length).to.be.at.most(500);
    expect(z).to.match(/^(\u200b\*\u200b)+…$/);
    const t = teamsText('#'.repeat(500));
    expect(t.length).to.be.at.most(500);
    expect(t).to.match(/^(\\#)+…$/);
    // Short text is kept whole.
    expect(slackText('a & b')).to.equal('a &amp; b');
  });

  it('Teams: every fact value within 500 characters, and all of them within the budget', () => {
    const card = JSON.parse(renderBody('teams', { id: 'd-2', type: 'approval.decided', occurredAt: new Date(0).toISOString(), data: hostile }));
    const facts: { title: string; value: string }[] = card.attachments[0].content.body[1].facts;
    for (const f of facts) expect(f.value.length, f.title).to.be.at.most(500);
    expect(facts.reduce((n, f) => n + f.value.length, 0)).to.be.at.most(TEAMS_FACTS_MAX);
    expect(Buffer.byteLength(JSON.stringify(card))).to.be.below(28_000);
  });
});

describe('h18f webhook targets: NAT64 forms of refused addresses', () => {
  it('refuses 64:ff9b::/96 forms of metadata, link-local and loopback addresses, and the local-use prefix', () => {
    for (const a of ['64:ff9b::169.254.169.254', '64:ff9b::a9fe:a9fe', '64:FF9B:0:0:0:0:a9fe:a9fe', '64:ff9b::100.100.100.200', '64:ff9b::7f00:1', '64:ff9b::0.0.0.0', '64:ff9b::e000:1', '64:ff9b:1::a9fe:a9fe', '64:ff9b:1:abcd::1']) {
      expect(refusedAddress(a, 'https:'), a).to.be.a('string');
    }
    expect(refusedAddress('64:ff9b::169.254.169.254', 'https:')).to.match(/NAT64 form of 169\.254\.169\.254/);
    // A NAT64 form of a public address is a public address.
    expect(refusedAddress('64:ff9b::8.8.8.8', 'https:')).to.equal(null);
    expect(refusedAddress('2001:db8::a9fe:a9fe', 'https:')).to.equal(null);
    expect(() => checkWebhookUrl('https://[64:ff9b::a9fe:a9fe]/hook')).to.throw(/NAT64/);
  });

  it('refuses a name that resolves to a NAT64 metadata address, at connection time', async () => {
    const resolve = (_h: string, cb: (e: null, a: { address: string; family: number }[]) => void) => cb(null, [{ address: '64:ff9b::a9fe:a9fe', family: 6 }]);
    const r = await sendWebhook('https://hooks.example.test/x', '{}', {}, { timeoutMs: 5000, maxResponseBytes: 1024, resolve });
    expect(r.ok).to.equal(false);
    expect(r.error).to.match(/refused address: 64:ff9b::a9fe:a9fe is the NAT64 form of 169\.254\.169\.254/);
  });
});
