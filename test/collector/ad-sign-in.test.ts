/**
 * Active Directory sign-in for the collector against the suite's real Samba AD DC: simple
 * bind as the user over LDAPS, the role from tokenGroups. Users and groups get a random
 * suffix per run, so reruns against a reused DC (ASCEND_TEST_DC_DIR) do not collide.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { expect } from 'chai';
import { AD_SIGN_IN_FAILED_MESSAGE, AdSignIn, type AdSignInOptions } from '../../src/collector/server/ad-sign-in.js';
import { Directory } from '../../src/directory/client.js';
import { escapeFilterValue } from '../../src/directory/filter.js';
import { sidToString } from '../../src/directory/sid.js';
import { AscendError } from '../../src/errors.js';
import { requireTestDc, sambaTool, sambaToolOk, type TestDc } from '../support/samba-dc.js';
import { expectCode } from '../support/expect-code.js';

const run = randomBytes(3).toString('hex');

function expectNoSecret(e: AscendError, secret: string): void {
  expect(e.message).to.not.contain(secret);
  expect(e.hint ?? '').to.not.contain(secret);
  expect(JSON.stringify(e)).to.not.contain(secret);
}

/** A TCP listener that counts connections: proves that nothing was sent. */
async function countingServer(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, connections: () => count };
}

describe('collector: Active Directory sign-in (real Samba AD DC)', function () {
  this.timeout(180_000);
  let dc: TestDc;
  const password = `Pw-${randomBytes(6).toString('hex')}-aA1!`;
  // sAMAccountName is at most 20 characters.
  const approverUser = `asi${run}a`;
  const nestedUser = `asi${run}n`;
  const viewerUser = `asi${run}v`;
  const loneUser = `asi${run}z`;
  const parenUser = `asi${run}(p)`;
  /** An account without userPrincipalName: it binds with its implicit UPN sAMAccountName@dnsDomain. */
  const noUpnUser = `asi${run}u`;
  const approvers = `Ascend Approvers ${run}`;
  const nested = `Ascend Nested ${run}`;
  const viewers = `Ascend Viewers ${run}`;
  const users = [approverUser, nestedUser, viewerUser, loneUser, parenUser, noUpnUser];
  const groups = [approvers, nested, viewers];
  let viewersDn: string;
  let approversSid: string;
  let domainSid: string;

  const base = (): Omit<AdSignInOptions, 'groups'> => ({ url: dc.url, tlsInsecure: true, domain: dc.dnsDomain });
  const signIn = (groupsOpt: AdSignInOptions['groups'] = { approver: [approvers], viewer: [viewersDn] }, extra: Partial<AdSignInOptions> = {}): AdSignIn =>
    new AdSignIn({ ...base(), groups: groupsOpt, ...extra });

  before(async function () {
    dc = await requireTestDc(this);
    const local = { local: true };
    for (const u of users) sambaToolOk(dc, ['user', 'create', u, password], local);
    for (const g of groups) sambaToolOk(dc, ['group', 'add', g], local);
    sambaToolOk(dc, ['group', 'addmembers', approvers, approverUser], local);
    sambaToolOk(dc, ['group', 'addmembers', approvers, parenUser], local);
    sambaToolOk(dc, ['group', 'addmembers', approvers, noUpnUser], local);
    // Nested: nestedUser is in `nested`, which is itself a member of `approvers`.
    sambaToolOk(dc, ['group', 'addmembers', nested, nestedUser], local);
    sambaToolOk(dc, ['group', 'addmembers', approvers, nested], local);
    sambaToolOk(dc, ['group', 'addmembers', viewers, viewerUser], local);

    const dir = await Directory.connect({ url: dc.url, bindDn: dc.bindDn, password: dc.password, tlsInsecure: true });
    try {
      const [v] = await dir.search(dc.baseDn, { filter: `(sAMAccountName=${escapeFilterValue(viewers)})`, attributes: ['objectSid'] });
      const [a] = await dir.search(dc.baseDn, { filter: `(sAMAccountName=${escapeFilterValue(approvers)})`, attributes: ['objectSid'] });
      const [d] = await dir.search(dc.baseDn, { scope: 'base', attributes: ['objectSid'] });
      viewersDn = v!.dn;
      approversSid = sidToString(a!.binary['objectsid']![0]!);
      domainSid = sidToString(d!.binary['objectsid']![0]!);
      await dir.modify(`CN=${noUpnUser},CN=Users,${dc.baseDn}`, [{ operation: 'delete', attribute: 'userPrincipalName', values: [] }]);
    } finally {
      await dir.close();
    }
  });

  after(function () {
    if (!dc) return;
    for (const u of users) sambaTool(dc, ['user', 'delete', u], { local: true });
    for (const g of groups) sambaTool(dc, ['group', 'delete', g], { local: true });
  });

  describe('roles from group membership', () => {
    it('gives approver to a member of the approver group named by sAMAccountName', async () => {
      const who = await signIn().authenticate(approverUser, password);
      expect(who.role).to.equal('approver');
      expect(who.name).to.equal(`${approverUser}@${dc.dnsDomain}`);
      expect(who.dn).to.equal(`CN=${approverUser},CN=Users,${dc.baseDn}`);
      expect(who.sid).to.match(new RegExp(`^${domainSid}-\\d+$`));
    });

    it('accepts the UPN, DOMAIN\\user and a bare name (with the domain option) for the same account', async () => {
      const s = signIn();
      const forms = [`${approverUser}@${dc.dnsDomain}`, `${approverUser.toUpperCase()}@${dc.dnsDomain.toUpperCase()}`, `${dc.netbiosDomain}\\${approverUser}`, approverUser, `${approverUser}@${dc.netbiosDomain}`];
      const seen = await Promise.all(forms.map((f) => s.authenticate(f, password)));
      for (const who of seen) expect([who.role, who.sid]).to.deep.equal(['approver', seen[0]!.sid]);
    });

    it('finds an account without userPrincipalName by sAMAccountName after an implicit-UPN bind', async () => {
      for (const form of [`${noUpnUser}@${dc.dnsDomain}`, noUpnUser, `${dc.netbiosDomain}\\${noUpnUser}`]) {
        const who = await signIn().authenticate(form, password);
        expect([who.role, who.name], form).to.deep.equal(['approver', `${noUpnUser}@${dc.dnsDomain}`]);
      }
    });

    it('counts nested membership (a group in the group)', async () => {
      const who = await signIn().authenticate(nestedUser, password);
      expect(who.role).to.equal('approver');
    });

    it('resolves a group given by DN (viewer) and by SID (admin); the highest role wins', async () => {
      expect((await signIn().authenticate(viewerUser, password)).role).to.equal('viewer');
      const s = signIn({ admin: [approversSid], approver: [approvers], viewer: [viewersDn] });
      expect((await s.authenticate(approverUser, password)).role).to.equal('admin');
      expect((await s.authenticate(nestedUser, password)).role).to.equal('admin');
      expect((await s.authenticate(viewerUser, password)).role).to.equal('viewer');
    });

    it('makes Administrator admin through the Domain Admins default', async () => {
      const who = await signIn().authenticate(dc.bindDn, dc.password);
      expect(who.role).to.equal('admin');
      expect(who.sid).to.equal(`${domainSid}-500`);
      expect((await signIn().authenticate(`${dc.netbiosDomain}\\Administrator`, dc.password)).role).to.equal('admin');
    });

    it('grants no admin through AD when the admin list is explicitly empty', async () => {
      await expectCode(signIn({ admin: [], approver: [approvers] }).authenticate(dc.bindDn, dc.password), 'ASC_COLLECTOR_FORBIDDEN', { oneLine: true });
    });

    it('refuses (FORBIDDEN) a user in none of the groups, after a good bind', async () => {
      const e = await expectCode(signIn().authenticate(loneUser, password), 'ASC_COLLECTOR_FORBIDDEN', { oneLine: true });
      expect(e.message).to.contain(loneUser);
      expectNoSecret(e, password);
    });

    it('warns once per cache period about a configured group that does not exist, and still signs in', async () => {
      const warnings: string[] = [];
      const s = signIn({ approver: [`No Such Group ${run}`, approvers] }, { onWarning: (m) => warnings.push(m) });
      expect((await s.authenticate(approverUser, password)).role).to.equal('approver');
      expect((await s.authenticate(nestedUser, password)).role).to.equal('approver');
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.contain(`No Such Group ${run}`);
    });
  });

  describe('refusals', () => {
    it('answers a wrong password and an unknown user with the same code and message', async () => {
      const s = signIn();
      const wrong = await expectCode(s.authenticate(approverUser, `${password}x`), 'ASC_COLLECTOR_UNAUTHENTICATED', { oneLine: true });
      const unknown = await expectCode(s.authenticate(`nosuch${run}`, password), 'ASC_COLLECTOR_UNAUTHENTICATED', { oneLine: true });
      const unknownUpn = await expectCode(s.authenticate(`nosuch${run}@${dc.dnsDomain}`, password), 'ASC_COLLECTOR_UNAUTHENTICATED', { oneLine: true });
      expect(wrong.message).to.equal(AD_SIGN_IN_FAILED_MESSAGE);
      expect(unknown.message).to.equal(wrong.message);
      expect(unknownUpn.message).to.equal(wrong.message);
      expect([wrong.hint, unknown.hint, wrong.cause, unknown.cause]).to.deep.equal([undefined, undefined, undefined, undefined]);
      for (const e of [wrong, unknown, unknownUpn]) expectNoSecret(e, password);
    });

    it('refuses a NetBIOS domain that is not the DC\'s', async () => {
      await expectCode(signIn().authenticate(`OTHER\\${approverUser}`, password), 'ASC_COLLECTOR_UNAUTHENTICATED', { oneLine: true });
    });

    it('refuses an empty password or user name without any network I/O', async () => {
      const { server, port, connections } = await countingServer();
      try {
        const s = new AdSignIn({ url: `ldaps://127.0.0.1:${port}`, tlsInsecure: true, domain: dc.dnsDomain, groups: {} });
        for (const [u, p] of [
          [approverUser, ''],
          ['', password],
          ['   ', password],
          ['', ''],
          [`${approverUser}\n`, ''],
        ] as const) {
          await expectCode(s.authenticate(u, p), 'ASC_COLLECTOR_UNAUTHENTICATED', { oneLine: true });
        }
        // Nor names that cannot be an account (control characters, empty parts).
        for (const u of ['a\u0000b', '@corp.example.test', 'alice@', 'CORP\\', '\\alice', 'x'.repeat(300)]) {
          await expectCode(s.authenticate(u, password), 'ASC_COLLECTOR_UNAUTHENTICATED', { oneLine: true });
        }
        await new Promise((r) => setTimeout(r, 50));
        expect(connections()).to.equal(0);
      } finally {
        server.close();
      }
    });

    it('escapes filter input: an injection attempt fails cleanly, a name with parentheses signs in', async () => {
      const s = signIn();
      for (const u of [`${approverUser})(|(sAMAccountName=*`, 'alice)(|(x=*', '*', `*@${dc.dnsDomain}`, `${dc.netbiosDomain}\\*`, `${approverUser}*`]) {
        const e = await expectCode(s.authenticate(u, password), 'ASC_COLLECTOR_UNAUTHENTICATED', { oneLine: true });
        expect(e.message).to.equal(AD_SIGN_IN_FAILED_MESSAGE);
      }
      // "(" and ")" are allowed in a sAMAccountName; unescaped, the user search would be malformed.
      const who = await s.authenticate(parenUser, password);
      expect(who.role).to.equal('approver');
      expect(who.name).to.equal(`${parenUser}@${dc.dnsDomain}`);
    });

    it('refuses ldap:// without StartTLS when constructed, and signs in over ldap:// with StartTLS', async () => {
      expect(() => new AdSignIn({ url: 'ldap://127.0.0.1', groups: {} }))
        .to.throw(AscendError)
        .with.property('code', 'ASC_LDAP_INSECURE_REFUSED');
      const s = new AdSignIn({ url: 'ldap://127.0.0.1', startTls: true, tlsInsecure: true, groups: { approver: [approvers] } });
      expect((await s.authenticate(`${approverUser}@${dc.dnsDomain}`, password)).role).to.equal('approver');
    });

    it('refuses bare names when no domain is configured, telling the forms to use', async () => {
      const s = new AdSignIn({ url: dc.url, tlsInsecure: true, groups: { approver: [approvers] } });
      const e = await expectCode(s.authenticate(approverUser, password), 'ASC_COLLECTOR_UNAUTHENTICATED', { oneLine: true });
      expect(e.message).to.contain('user@domain');
      expect((await s.authenticate(`${approverUser}@${dc.dnsDomain}`, password)).role).to.equal('approver');
    });

    it('rejects malformed group configuration when constructed', () => {
      for (const g of ['', 'S-1-5-x', 'CORP\\']) {
        expect(() => new AdSignIn({ ...base(), groups: { viewer: [g] } }), g)
          .to.throw(AscendError)
          .with.property('code', 'ASC_CONFIG');
      }
    });

    it('maps an unreachable DC to ASC_LDAP_UNREACHABLE on one line, without the password', async () => {
      const { server, port } = await countingServer();
      await new Promise((r) => server.close(r));
      const s = new AdSignIn({ url: `ldaps://127.0.0.1:${port}`, tlsInsecure: true, domain: dc.dnsDomain, groups: {}, timeoutMs: 5000 });
      const e = await expectCode(s.authenticate(approverUser, password), 'ASC_LDAP_UNREACHABLE', { oneLine: true });
      expectNoSecret(e, password);
    });

    it('closes the connection on success, refusal and error alike', async () => {
      const realConnect = Directory.connect.bind(Directory);
      const realClose = Directory.prototype.close;
      let opened = 0;
      let closed = 0;
      Directory.connect = async (o) => {
        const d = await realConnect(o);
        opened++;
        return d;
      };
      Directory.prototype.close = async function (this: Directory) {
        closed++;
        return realClose.call(this);
      };
      try {
        const s = signIn({ approver: [approvers], viewer: [`CN=No Such Group ${run},${dc.baseDn}`] });
        await s.authenticate(approverUser, password);
        await expectCode(s.authenticate(loneUser, password), 'ASC_COLLECTOR_FORBIDDEN', { oneLine: true });
        await expectCode(s.authenticate(approverUser, 'wrong'), 'ASC_COLLECTOR_UNAUTHENTICATED', { oneLine: true });
        expect(opened).to.equal(2);
        expect(closed).to.equal(2);
      } finally {
        Directory.connect = realConnect;
        Directory.prototype.close = realClose;
      }
    });
  });
});
