/**
 * The agent's domain policy source against a real Samba AD DC (DESIGN sections 7 and 10):
 * the agent binds with its computer account's own password (LDAPS and SYSVOL over SMB),
 * finds the GPOs that apply to it and reads their Machine\Registry.pol.
 * Everything is created under one OU per run, so the suite shares the DC with others.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ASCEND_CATALOG } from '../../src/catalog/index.js';
import { Directory, sidToString } from '../../src/directory/index.js';
import { GpoAdmin, type GpoInfo } from '../../gpo-extension/admin.js';
import { FsSysvolStore, type SysvolStore } from '../../gpo-extension/sysvol/index.js';
import { gpoSysvolPath } from '../../gpo-extension/layout.js';
import type { EffectivePolicy } from '../../src/policy/index.js';
import { DomainPolicy, effectiveOf, PolicyCache, PolicyRefresher, type DomainPolicySettings, type PolicySnapshot } from '../../agent/policy/index.js';
import { requireTestDc, type TestDc } from '../support/samba-dc.js';
import { expectCode } from '../support/expect-code.js';

const run = randomBytes(3).toString('hex');

const find = (eff: EffectivePolicy[], id: string): EffectivePolicy => {
  const p = eff.find((x) => x.id === id);
  if (!p) throw new Error(`no policy ${id}`);
  return p;
};

describe('agent domain policy source against a real Samba AD DC', function () {
  this.timeout(180_000);
  let dc: TestDc;
  let dir: Directory;
  let store: SysvolStore;
  let admin: GpoAdmin;
  let top: string;
  let machines: string;
  let tmp: string;
  let settings: DomainPolicySettings;
  let computerDn: string;
  let computerSid: string;
  const computer = `AGT${run}`.toUpperCase();
  const created: string[] = [];
  const gpos: Record<string, GpoInfo> = {};

  const make = async (key: string, policies: [string, string, Record<string, unknown>][]): Promise<GpoInfo> => {
    const g = await admin.create(`Ascend Agent ${key} ${run}`);
    created.push(g.guid);
    for (const [policy, state, values] of policies) await admin.setPolicy(g.guid, policy, state, values as never);
    gpos[key] = await admin.find(g.guid);
    return gpos[key]!;
  };
  /** The run's own GPOs among the sources, by key, in order. */
  const ours = (snap: PolicySnapshot): string[] => {
    const byGuid = new Map(Object.entries(gpos).map(([k, g]) => [g.guid, k]));
    return snap.sources.map((s) => byGuid.get(s.source)).filter((k): k is string => k !== undefined);
  };

  before(async function () {
    dc = await requireTestDc(this);
    // The test DC's certificate names DC1.corp.example.test, not 127.0.0.1.
    dir = await Directory.connect({ url: dc.url, bindDn: dc.bindDn, password: dc.password, tlsInsecure: true });
    store = new FsSysvolStore(dc.sysvolPath);
    admin = new GpoAdmin(dir, store, ASCEND_CATALOG);
    top = `OU=AscendAgent${run},${dc.baseDn}`;
    machines = `OU=Machines,${top}`;
    await dir.add(top, { objectClass: ['top', 'organizationalUnit'] });
    await dir.add(machines, { objectClass: ['top', 'organizationalUnit'] });

    // The computer account as a domain join leaves it: a workstation trust account with a
    // password only the machine knows (here: the test, which writes it to a 600 file).
    const password = `Aa1!${randomBytes(18).toString('base64url')}`;
    computerDn = `CN=${computer},${machines}`;
    await dir.add(computerDn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user', 'computer'],
      sAMAccountName: `${computer}$`,
      userAccountControl: '4096', // WORKSTATION_TRUST_ACCOUNT, enabled
      dNSHostName: `${computer.toLowerCase()}.${dc.dnsDomain}`,
      unicodePwd: Buffer.from(`"${password}"`, 'utf16le'),
    });
    const entry = await dir.get(computerDn, ['objectSid'], ['objectSid']);
    computerSid = sidToString(entry!.binary.objectsid![0]!);
    tmp = await fs.mkdtemp(path.join(tmpdir(), 'ascend-agent-domain-'));
    const passwordFile = path.join(tmp, 'machine-password');
    await fs.writeFile(passwordFile, password, { mode: 0o600 });
    settings = {
      url: dc.url,
      user: `${computer}$@${dc.dnsDomain}`,
      passwordFile,
      tlsInsecure: true,
      sysvol: dc.smbUrl,
      computer,
    };

    await make('Low', [
      ['ClientDataCollection', 'enabled', { CollectorHost: 'low.corp.example.test' }],
      ['OfflinePasscodes', 'enabled', {}],
      ['TemporarySessionElevation', 'enabled', { Groups: ['CORP\\LowAdmins'] }],
    ]);
    await admin.link(gpos.Low!.guid, top);
  });

  after(async () => {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
    if (!dir) return;
    for (const guid of created) await admin.delete(guid).catch(() => undefined);
    await dir.deleteTree(top).catch(() => undefined);
    await dir.close();
  });

  it("binds as the computer account and returns the linked GPO's entries, with the policy Enabled", async () => {
    const snap = await new DomainPolicy(settings, {}).load();
    expect(snap.origin).to.equal('domain');
    expect(ours(snap)).to.deep.equal(['Low']);
    const low = gpos.Low!;
    expect(snap.sources.at(-1)!.source).to.equal(low.guid);
    expect(snap.labels[low.guid]).to.equal(`Ascend Agent Low ${run}`);
    expect(snap.sources.at(-1)!.entries.map((e) => e.valueName)).to.include('CollectorHost');
    expect(snap.computer).to.deep.include({ name: `${computer}$`, sid: computerSid });
    expect(snap.computer!.dn.toLowerCase()).to.equal(computerDn.toLowerCase());
    // Domain Computers (RID 515) is the computer's primary group.
    expect(snap.computer!.groupSids).to.include(`${computerSid.replace(/-\d+$/, '')}-515`);
    expect(snap.problems).to.deep.equal([]);
    const eff = effectiveOf(snap);
    expect(find(eff, 'ClientDataCollection')).to.include({ state: 'enabled', source: low.guid });
    expect(find(eff, 'ClientDataCollection').values).to.include({ CollectorHost: 'low.corp.example.test' });
    expect(find(eff, 'OfflinePasscodes')).to.include({ state: 'enabled', source: low.guid });
  });

  it('a GPO linked closer to the computer overrides, Disabled included; an Enforced link above wins again', async () => {
    await make('High', [
      ['ClientDataCollection', 'enabled', { CollectorHost: 'high.corp.example.test' }],
      ['OfflinePasscodes', 'disabled', {}],
    ]);
    await admin.link(gpos.High!.guid, machines);
    const snap = await new DomainPolicy(settings, {}).load();
    expect(ours(snap)).to.deep.equal(['Low', 'High']);
    const eff = effectiveOf(snap);
    expect(find(eff, 'ClientDataCollection')).to.include({ source: gpos.High!.guid });
    expect(find(eff, 'ClientDataCollection').values).to.include({ CollectorHost: 'high.corp.example.test' });
    expect(find(eff, 'OfflinePasscodes')).to.include({ state: 'disabled', source: gpos.High!.guid });
    expect(find(eff, 'TemporarySessionElevation')).to.include({ state: 'enabled', source: gpos.Low!.guid });
    expect(find(eff, 'TemporarySessionElevation').values.Groups).to.deep.equal(['CORP\\LowAdmins']);

    await admin.updateLink(gpos.Low!.guid, top, { enforced: true });
    try {
      const enforced = await new DomainPolicy(settings, {}).load();
      expect(ours(enforced)).to.deep.equal(['High', 'Low']);
      const eff2 = effectiveOf(enforced);
      expect(find(eff2, 'ClientDataCollection').values).to.include({ CollectorHost: 'low.corp.example.test' });
      expect(find(eff2, 'OfflinePasscodes')).to.include({ state: 'enabled', source: gpos.Low!.guid });
      expect(enforced.digest).to.not.equal(snap.digest);
    } finally {
      await admin.updateLink(gpos.Low!.guid, top, { enforced: false });
    }
  });

  it('leaves out a GPO whose Registry.pol is damaged, and says so', async () => {
    const bad = await make('Damaged', [['Approvals', 'enabled', { RequestTimeoutMinutes: 5 }]]);
    await admin.link(bad.guid, machines);
    try {
      await store.write([...gpoSysvolPath(bad.guid, dc.dnsDomain), 'Machine', 'Registry.pol'], Buffer.from('PReg\x01\x00\x00\x00[garbage', 'latin1'));
      const snap = await new DomainPolicy(settings, {}).load();
      expect(ours(snap)).to.not.include('Damaged');
      expect(ours(snap)).to.include.members(['Low', 'High']);
      expect(snap.labels[bad.guid]).to.equal(`Ascend Agent Damaged ${run}`);
      const problem = snap.problems.find((p) => p.includes(bad.guid));
      expect(problem, snap.problems.join('\n')).to.match(/left out: .*ASC_POL_|left out: .*Registry\.pol/);
      expect(find(effectiveOf(snap), 'Approvals').state).to.equal('not-configured');
    } finally {
      await admin.unlink(bad.guid, machines);
    }
  });

  it('the refresher starts from the domain, then offline from its cache when the password is refused', async () => {
    const stateDir = path.join(tmp, 'state');
    await fs.mkdir(stateDir, { recursive: true });
    const changes: boolean[] = [];
    const opts = { cache: new PolicyCache(stateDir), onChange: (_s: PolicySnapshot, i: { fromCache: boolean }) => changes.push(i.fromCache), setTimer: () => 0, clearTimer: () => undefined };
    const live = new PolicyRefresher({ ...opts, source: new DomainPolicy(settings, {}) });
    const first = await live.start();
    live.stop();
    expect(first.fromCache).to.equal(false);
    expect(first.gpos).to.include(`Ascend Agent Low ${run}`);

    const wrongFile = path.join(tmp, 'wrong-password');
    await fs.writeFile(wrongFile, 'not the password', { mode: 0o600 });
    const wrong = new DomainPolicy({ ...settings, passwordFile: wrongFile }, {});
    await expectCode(wrong.load(), 'ASC_LDAP_BAD_CREDENTIALS');
    const offline = new PolicyRefresher({ ...opts, source: wrong });
    const st = await offline.start();
    offline.stop();
    expect(st).to.include({ fromCache: true, digest: first.digest });
    expect(st.lastError).to.contain('ASC_LDAP_BAD_CREDENTIALS');
    expect(changes).to.deep.equal([false, true]);
  });

  it('names a computer the domain does not know', async () => {
    await expectCode(new DomainPolicy({ ...settings, computer: `NOPE${run}` }, {}).load(), 'ASC_ACCOUNT_NOT_FOUND');
  });
});
