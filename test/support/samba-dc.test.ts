import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { Client } from 'ldapts';
import { requireTestDc, sambaTool, type TestDc } from './samba-dc.js';

describe('test support: the Samba domain controller', function () {
  this.timeout(240_000);
  let dc: TestDc;

  before(async function () {
    dc = await requireTestDc(this);
  });

  it('answers a simple bind over LDAPS, verified with its own CA', async () => {
    const client = new Client({
      url: dc.url,
      connectTimeout: 10_000,
      // The certificate names DC1.corp.example.test; we connect to 127.0.0.1, so only the CA is checked.
      tlsOptions: { ca: [readFileSync(dc.caFile)], checkServerIdentity: () => undefined },
    });
    try {
      await client.bind(dc.bindDn, dc.password);
      const { searchEntries } = await client.search(dc.baseDn, { scope: 'base', attributes: ['distinguishedName'] });
      expect(String(searchEntries[0]?.dn).toLowerCase()).to.equal(dc.baseDn.toLowerCase());
    } finally {
      await client.unbind();
    }
  });

  it('runs samba-tool: gpo list Administrator names the Default Domain Policy', () => {
    const r = sambaTool(dc, ['gpo', 'list', 'Administrator']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('Default Domain Policy');
    expect(r.stdout).to.contain('{31B2F340-016D-11D2-945F-00C04FB984F9}');
  });

  it('runs samba-tool against the local sam.ldb too', () => {
    const r = sambaTool(dc, ['gpo', 'list', 'Administrator'], { local: true });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('Default Domain Policy');
  });
});
