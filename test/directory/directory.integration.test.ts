/**
 * src/directory against a real Samba AD domain controller (DESIGN section 10). Everything
 * created here lives under one OU with a per-run name, removed at the end.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { AscendError, isAscendError } from '../../src/errors.js';
import {
  ACCESS_MASK,
  Directory,
  DOMAIN_RIDS,
  EXTENDED_RIGHTS,
  SD_FLAGS,
  TREE_DELETE_CONTROL_OID,
  WELL_KNOWN_SIDS,
  escapeDnValue,
  escapeFilterBytes,
  escapeFilterValue,
  parseSecurityDescriptor,
  sidToString,
  writeSecurityDescriptor,
  type DirectoryOptions,
} from '../../src/directory/index.js';
import { requireTestDc, type TestDc } from '../support/samba-dc.js';

const DEFAULT_DOMAIN_POLICY = '{31B2F340-016D-11D2-945F-00C04FB984F9}';

async function failure(promise: Promise<unknown>): Promise<AscendError> {
  try {
    await promise;
  } catch (e) {
    if (isAscendError(e)) return e;
    throw e;
  }
  throw new Error('expected the operation to fail');
}

describe('directory: against a Samba AD DC (integration)', function () {
  this.timeout(120_000);
  let dc: TestDc;
  let base: DirectoryOptions;
  let dir: Directory;
  /** This run's OU; everything the suite creates is under it. */
  let testOu: string;
  const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

  before(async function () {
    dc = await requireTestDc(this);
    base = { url: dc.url, bindDn: dc.bindDn, password: dc.password, tlsInsecure: true };
    dir = await Directory.connect(base);
    testOu = `OU=${escapeDnValue(`ascend directory test ${run}`)},${dir.defaultNamingContext}`;
    await dir.add(testOu, { objectClass: 'organizationalUnit', description: 'Ascend src/directory integration test; safe to delete' });
  });

  after(async () => {
    if (dir === undefined) return;
    try {
      if (testOu !== undefined && (await dir.get(testOu, ['1.1'])) !== undefined) await dir.deleteTree(testOu);
    } finally {
      await dir.close();
    }
  });

  describe('connecting', () => {
    it('binds over LDAPS (tlsInsecure) and reads the RootDSE in two requests', async () => {
      const d = await Directory.connect(base);
      try {
        expect(d.defaultNamingContext.toLowerCase()).to.equal(dc.baseDn.toLowerCase());
        expect(d.configurationNamingContext.toLowerCase()).to.equal(`cn=configuration,${dc.baseDn}`.toLowerCase());
        expect(d.dnsDomain).to.equal(dc.dnsDomain);
        expect(d.roundTrips).to.equal(2); // bind + RootDSE
      } finally {
        await d.close();
      }
    });

    it("verifies the DC's certificate with its CA file and the name in the certificate", async () => {
      const d = await Directory.connect({ ...base, tlsInsecure: false, caFile: dc.caFile, tlsServerName: `dc1.${dc.dnsDomain}` });
      try {
        expect(d.defaultNamingContext.toLowerCase()).to.equal(dc.baseDn.toLowerCase());
        expect(d.dnsHostName.toLowerCase()).to.equal(`dc1.${dc.dnsDomain}`.toLowerCase());
        expect(d.roundTrips).to.equal(2);
      } finally {
        await d.close();
      }
      // The CA file is what made it pass: another CA's file, with the same name, is refused.
      const other = mkdtempSync(join(tmpdir(), 'ascend-other-ca-'));
      try {
        const otherCa = join(other, 'ca.pem');
        const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=Another CA', '-keyout', join(other, 'ca.key'), '-out', otherCa], { encoding: 'utf8' });
        expect(made.status, made.stderr).to.equal(0);
        const e = await failure(Directory.connect({ ...base, tlsInsecure: false, caFile: otherCa, tlsServerName: `dc1.${dc.dnsDomain}` }));
        expect(e.code).to.equal('ASC_LDAP_TLS_FAILED');
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    });

    it('refuses the certificate for 127.0.0.1 even with the CA file: it names the DC, not the address', async () => {
      const e = await failure(Directory.connect({ ...base, tlsInsecure: false, caFile: dc.caFile }));
      expect(e.code).to.equal('ASC_LDAP_TLS_FAILED');
      expect(e.message.toLowerCase()).to.include(`dc1.${dc.dnsDomain}`);
    });

    it('fails with ASC_LDAP_TLS_FAILED and the --ca-file hint without the CA file', async () => {
      const e = await failure(Directory.connect({ ...base, tlsInsecure: false }));
      expect(e.code).to.equal('ASC_LDAP_TLS_FAILED');
      expect(e.hint).to.include('--ca-file');
      expect(e.hint).to.include('ASCEND_LDAP_TLS_INSECURE=1');
    });

    it('maps a wrong password to ASC_LDAP_BAD_CREDENTIALS without showing it', async () => {
      const wrong = `Wrong-${run}-Pw!`;
      const e = await failure(Directory.connect({ ...base, password: wrong }));
      expect(e.code).to.equal('ASC_LDAP_BAD_CREDENTIALS');
      for (const text of [e.message, e.hint ?? '', String((e.cause as Error | undefined)?.message)]) {
        expect(text).to.not.include(wrong);
        expect(text).to.not.include(dc.password);
      }
    });

    it('keeps no secret where inspection finds it, and works through a Proxy', async () => {
      const d = await Directory.connect(base);
      try {
        const shown = `${inspect(d, { depth: 5, showHidden: false })} ${JSON.stringify(d)}`;
        expect(shown).to.not.include(dc.password);
        expect(shown).to.include(d.defaultNamingContext);
        let calls = 0;
        const counted = new Proxy(d, {
          get(target, key, receiver) {
            if (key === 'get') calls++;
            return Reflect.get(target, key, receiver) as unknown;
          },
        });
        expect(await counted.get(counted.defaultNamingContext, ['1.1'])).to.not.equal(undefined);
        expect(calls).to.equal(1);
      } finally {
        await d.close();
      }
    });

    it('refuses plain ldap:// before connecting', async () => {
      const e = await failure(Directory.connect({ ...base, url: 'ldap://127.0.0.1:389', tlsInsecure: false }));
      expect(e.code).to.equal('ASC_LDAP_INSECURE_REFUSED');
    });

    it('with allowPlainLdap, Samba itself refuses the simple bind: ASC_LDAP_TLS_REQUIRED', async () => {
      const e = await failure(Directory.connect({ ...base, url: 'ldap://127.0.0.1:389', tlsInsecure: false, allowPlainLdap: true }));
      expect(e.code).to.equal('ASC_LDAP_TLS_REQUIRED');
      expect(e.message).to.not.include(dc.password);
    });

    it('binds after StartTLS on ldap://127.0.0.1:389 (three requests), insecure and with the CA', async () => {
      const d = await Directory.connect({ ...base, url: 'ldap://127.0.0.1:389', startTls: true });
      try {
        expect(d.roundTrips).to.equal(3); // StartTLS + bind + RootDSE
        expect(await d.get(d.defaultNamingContext, ['1.1'])).to.not.equal(undefined);
      } finally {
        await d.close();
      }
      const verified = await Directory.connect({ ...base, url: 'ldap://127.0.0.1:389', startTls: true, tlsInsecure: false, caFile: dc.caFile, tlsServerName: `dc1.${dc.dnsDomain}` });
      await verified.close();
    });
  });

  describe('reading and writing', () => {
    it('pages through more entries than fit a page, one request per page, then deletes the tree', async () => {
      const parent = `OU=paged,${testOu}`;
      await dir.add(parent, { objectClass: 'organizationalUnit' });
      for (let i = 0; i < 30; i++) await dir.add(`OU=child ${i},${parent}`, { objectClass: ['top', 'organizationalUnit'], description: `child ${i}` });
      const before = dir.roundTrips;
      const found = await dir.search(parent, { scope: 'one', filter: '(objectClass=organizationalUnit)', attributes: ['ou', 'description'], pageSize: 7 });
      expect(dir.roundTrips - before).to.equal(Math.ceil(30 / 7));
      expect(found).to.have.length(30);
      expect(new Set(found.map((e) => e.attrs['ou']?.[0]))).to.have.property('size', 30);
      expect(found.every((e) => e.attrs['description']?.[0]?.startsWith('child '))).to.equal(true);

      await dir.deleteTree(parent);
      expect(await dir.get(parent)).to.equal(undefined);
    });

    it('deletes a tree children first when the server lacks the tree delete control', async () => {
      const d = await Directory.connect(base);
      try {
        (d.supportedControls as Set<string>).delete(TREE_DELETE_CONTROL_OID);
        const parent = `OU=by hand,${testOu}`;
        await d.add(parent, { objectClass: 'organizationalUnit' });
        await d.add(`OU=a,${parent}`, { objectClass: 'organizationalUnit' });
        await d.add(`OU=b,OU=a,${parent}`, { objectClass: 'organizationalUnit' });
        await d.add(`OU=c,${parent}`, { objectClass: 'organizationalUnit' });
        const before = d.roundTrips;
        await d.deleteTree(parent);
        expect(d.roundTrips - before).to.equal(1 + 4); // one search page, four deletes
        expect(await d.get(parent)).to.equal(undefined);
      } finally {
        await d.close();
      }
    });

    it('adds, modifies, reads and deletes an object', async () => {
      const ou = `OU=${escapeDnValue('crud, "quoted" #1')},${testOu}`;
      await dir.add(ou, { objectClass: 'organizationalUnit', description: 'first', street: ['a street'] });
      await dir.modify(ou, [
        { operation: 'replace', attribute: 'description', values: ['second – ünïcode'] },
        { operation: 'add', attribute: 'postalCode', values: ['12345'] },
        { operation: 'delete', attribute: 'street', values: [] },
      ]);
      const got = await dir.get(ou, ['description', 'postalCode', 'street', 'objectGUID']);
      expect(got?.attrs['description']).to.deep.equal(['second – ünïcode']);
      expect(got?.attrs['postalcode']).to.deep.equal(['12345']);
      expect(got?.attrs['street']).to.equal(undefined);
      expect(got?.binary['objectguid']?.[0]).to.have.length(16);

      expect((await failure(dir.add(ou, { objectClass: 'organizationalUnit' }))).code).to.equal('ASC_LDAP_ALREADY_EXISTS');
      await dir.delete(ou);
      expect(await dir.get(ou)).to.equal(undefined);
      const gone = await failure(dir.delete(ou));
      expect(gone.code).to.equal('ASC_LDAP_NO_SUCH_OBJECT');
      expect(gone.message).to.include(ou);
    });

    it('answers undefined for a missing DN, and ASC_LDAP_NO_SUCH_OBJECT when searching under it', async () => {
      expect(await dir.get(`OU=missing ${run},${testOu}`)).to.equal(undefined);
      expect(await dir.get(`OU=deeper,OU=missing ${run},${testOu}`)).to.equal(undefined);
      const e = await failure(dir.search(`OU=missing ${run},${testOu}`));
      expect(e.code).to.equal('ASC_LDAP_NO_SUCH_OBJECT');
    });

    it('matches a filter value with * ( ) \\ literally', async () => {
      const parent = `OU=filters,${testOu}`;
      await dir.add(parent, { objectClass: 'organizationalUnit' });
      const tricky = 'a*b(c)d\\e';
      await dir.add(`OU=tricky,${parent}`, { objectClass: 'organizationalUnit', description: tricky });
      await dir.add(`OU=plain,${parent}`, { objectClass: 'organizationalUnit', description: 'aXb(c)d\\e' });
      await dir.add(`OU=other,${parent}`, { objectClass: 'organizationalUnit', description: 'abc' });
      const literal = await dir.search(parent, { filter: `(description=${escapeFilterValue(tricky)})`, attributes: ['description'] });
      expect(literal.map((e) => e.attrs['description']?.[0])).to.deep.equal([tricky]);
      const wildcard = await dir.search(parent, { filter: '(description=a*)', attributes: ['ou'] });
      expect(wildcard.map((e) => e.attrs['ou']?.[0]).sort()).to.deep.equal(['other', 'plain', 'tricky']);
    });

    it('rejects a malformed filter before sending it', async () => {
      const before = dir.roundTrips;
      expect((await failure(dir.search(testOu, { filter: '(description=a(b)' }))).code).to.equal('ASC_LDAP_BAD_FILTER');
      expect(dir.roundTrips).to.equal(before);
    });
  });

  describe('accounts and security', () => {
    let computerDn: string;
    let domainSid: string;

    before(async () => {
      const head = await dir.get(dir.defaultNamingContext, ['objectSid']);
      domainSid = sidToString(head?.binary['objectsid']?.[0] ?? Buffer.alloc(0));
      const name = `ASC${run.slice(-8).toUpperCase()}`;
      computerDn = `CN=${name},${testOu}`;
      await dir.add(computerDn, {
        objectClass: 'computer',
        sAMAccountName: `${name}$`,
        userAccountControl: '4096', // WORKSTATION_TRUST_ACCOUNT
      });
    });

    it("returns a new computer's tokenGroups as SIDs, Domain Computers (-515) among them", async () => {
      const groups = await dir.tokenGroups(computerDn);
      expect(groups).to.include(`${domainSid}-${DOMAIN_RIDS.DOMAIN_COMPUTERS}`);
      expect(groups.every((s) => /^S-1-\d+(-\d+)*$/.test(s))).to.equal(true);
    });

    it('finds the computer by its binary objectSid in a filter', async () => {
      const entry = await dir.get(computerDn, ['objectSid']);
      const sid = entry?.binary['objectsid']?.[0] as Buffer;
      expect(sidToString(sid).startsWith(`${domainSid}-`)).to.equal(true);
      const found = await dir.search(dir.defaultNamingContext, { filter: `(objectSid=${escapeFilterBytes(sid)})`, attributes: ['1.1'] });
      expect(found.map((e) => e.dn.toLowerCase())).to.deep.equal([computerDn.toLowerCase()]);
    });

    it('tokenGroups of a missing object is ASC_LDAP_NO_SUCH_OBJECT', async () => {
      expect((await failure(dir.tokenGroups(`CN=nobody,${testOu}`))).code).to.equal('ASC_LDAP_NO_SUCH_OBJECT');
    });

    it("reads a GPO container's security descriptor with SD flags: Authenticated Users may Apply Group Policy", async () => {
      const gpo = `CN=${DEFAULT_DOMAIN_POLICY},CN=Policies,CN=System,${dir.defaultNamingContext}`;
      const entry = await dir.get(gpo, ['nTSecurityDescriptor']);
      const sd = parseSecurityDescriptor(entry?.binary['ntsecuritydescriptor']?.[0] ?? Buffer.alloc(0));
      expect(sd.owner).to.match(/^S-1-5-21-/);
      expect(sd.group).to.match(/^S-1-5-21-/);
      const apply = sd.dacl?.filter(
        (a) => a.type === 'allow-object' && a.sid === WELL_KNOWN_SIDS.AUTHENTICATED_USERS && a.objectType === EXTENDED_RIGHTS.APPLY_GROUP_POLICY,
      );
      expect(apply).to.have.length(1);
      expect((apply?.[0]?.mask ?? 0) & ACCESS_MASK.CONTROL_ACCESS).to.equal(ACCESS_MASK.CONTROL_ACCESS);

      const daclOnly = await dir.get(gpo, ['nTSecurityDescriptor'], undefined, SD_FLAGS.DACL);
      const part = parseSecurityDescriptor(daclOnly?.binary['ntsecuritydescriptor']?.[0] ?? Buffer.alloc(0));
      expect(part.owner).to.equal(undefined);
      expect(part.dacl).to.deep.equal(sd.dacl);
    });

    it('writes a DACL back with writeSecurityDescriptor (a deny Apply Group Policy ACE) and reads it again', async () => {
      const ou = `OU=acl,${testOu}`;
      await dir.add(ou, { objectClass: 'organizationalUnit' });
      const read = async () => parseSecurityDescriptor((await dir.get(ou, ['nTSecurityDescriptor']))?.binary['ntsecuritydescriptor']?.[0] ?? Buffer.alloc(0));
      const sd = await read();
      const ace = {
        type: 'deny-object' as const,
        typeCode: 6,
        flags: 0,
        mask: ACCESS_MASK.CONTROL_ACCESS,
        sid: `${domainSid}-${DOMAIN_RIDS.DOMAIN_COMPUTERS}`,
        objectType: EXTENDED_RIGHTS.APPLY_GROUP_POLICY,
      };
      // Explicit ACEs first (deny before allow), then the inherited ones, as Windows orders them.
      const explicit = (sd.dacl ?? []).filter((a) => (a.flags & 0x10) === 0);
      const inherited = (sd.dacl ?? []).filter((a) => (a.flags & 0x10) !== 0);
      await dir.modify(ou, [{ operation: 'replace', attribute: 'nTSecurityDescriptor', values: [writeSecurityDescriptor({ control: sd.control, dacl: [ace, ...explicit, ...inherited] })] }]);
      const after = await read();
      expect(after.dacl?.some((a) => a.type === 'deny-object' && a.sid === ace.sid && a.objectType === ace.objectType && a.mask === ace.mask)).to.equal(true);
      expect(after.owner).to.equal(sd.owner); // only the DACL was written (SD flags from the descriptor)
    });

    describe('as an ordinary user', () => {
      let userOptions: DirectoryOptions;

      before(async () => {
        const name = `ascu${run.slice(-8)}`;
        const password = `Aa1!${randomBytes(9).toString('base64url')}`;
        await dir.add(`CN=${name},${testOu}`, {
          objectClass: 'user',
          sAMAccountName: name,
          userPrincipalName: `${name}@${dc.dnsDomain}`,
          unicodePwd: Buffer.from(`"${password}"`, 'utf16le'),
          userAccountControl: '512', // NORMAL_ACCOUNT, enabled
        });
        userOptions = { ...base, bindDn: `${name}@${dc.dnsDomain}`, password };
      });

      it('reads owner, group and DACL of a GPO container thanks to the SD flags control', async () => {
        const d = await Directory.connect(userOptions);
        try {
          const gpo = `CN=${DEFAULT_DOMAIN_POLICY},CN=Policies,CN=System,${d.defaultNamingContext}`;
          const entry = await d.get(gpo, ['nTSecurityDescriptor']);
          const sd = parseSecurityDescriptor(entry?.binary['ntsecuritydescriptor']?.[0] ?? Buffer.alloc(0));
          expect(sd.owner).to.match(/^S-1-5-21-/);
          expect(sd.dacl?.some((a) => a.objectType === EXTENDED_RIGHTS.APPLY_GROUP_POLICY)).to.equal(true);
        } finally {
          await d.close();
        }
      });

      it('gets ASC_LDAP_INSUFFICIENT_RIGHTS when it tries to create an OU at the domain root', async () => {
        const d = await Directory.connect(userOptions);
        try {
          const e = await failure(d.add(`OU=not allowed ${run},${d.defaultNamingContext}`, { objectClass: 'organizationalUnit' }));
          expect(e.code).to.equal('ASC_LDAP_INSUFFICIENT_RIGHTS');
          expect(e.message).to.include(userOptions.bindDn);
        } finally {
          await d.close();
        }
      });
    });
  });
});
