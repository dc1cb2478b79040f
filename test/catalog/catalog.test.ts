import { expect } from 'chai';
import { ASCEND_CATALOG, BUILTIN_ADMINISTRATORS, checkCatalog, findPolicy, POLICY_ROOT, type PolicyCatalog } from '../../src/catalog/index.js';

describe('the settings catalog', () => {
  it('is sound: unique ids, known categories, no two elements writing one value', () => {
    expect(checkCatalog(ASCEND_CATALOG)).to.deep.equal([]);
  });

  it('has the category tree of DESIGN section 3 under "Ascend Privilege Manager"', () => {
    const root = ASCEND_CATALOG.categories.find((c) => c.parent === undefined);
    expect(root?.displayName).to.equal('Ascend Privilege Manager');
    const children = ASCEND_CATALOG.categories.filter((c) => c.parent === root?.id).map((c) => c.displayName);
    expect(children).to.deep.equal(['Client Data Collection', 'Client Deployment', 'Temporary Session Elevation', 'Elevation Rules', 'Blacklist', 'Ephemeral Accounts', 'Approvals']);
    for (const p of ASCEND_CATALOG.policies) expect(children.length && ASCEND_CATALOG.categories.some((c) => c.id === p.category && c.parent === root?.id), p.id).to.equal(true);
  });

  it('keeps every setting under the machine policy root', () => {
    for (const p of ASCEND_CATALOG.policies) {
      expect(p.class, p.id).to.equal('Machine');
      expect(p.key.startsWith(`${POLICY_ROOT}\\`), p.id).to.equal(true);
      for (const e of p.elements) expect((e.key ?? p.key).startsWith(POLICY_ROOT), `${p.id}.${e.id}`).to.equal(true);
    }
  });

  it('defaults the collector port to 8003 and says so in the help', () => {
    const dc = findPolicy(ASCEND_CATALOG, 'ClientDataCollection');
    const port = dc?.elements.find((e) => e.id === 'CollectorPort');
    expect(port?.type === 'decimal' && port.default).to.equal(8003);
    expect(dc?.help).to.contain('8003');
  });

  it('states BUILTIN\\Administrators (S-1-5-32-544) as the TSE default group', () => {
    const tse = findPolicy(ASCEND_CATALOG, 'TemporarySessionElevation');
    expect(tse?.help).to.contain(BUILTIN_ADMINISTRATORS.name).and.to.contain(BUILTIN_ADMINISTRATORS.sid);
    expect(tse?.displayName).to.equal('Instant On Demand Privilege Elevation');
  });

  it('has the offline passcode switch of the client deployment settings', () => {
    expect(findPolicy(ASCEND_CATALOG, 'OfflinePasscodes')?.displayName).to.equal('Enable clients to use offline passcodes to create temporary elevated sessions');
  });

  it('makes rules, blacklist and revocations additive so GPOs stack; TSE groups replace', () => {
    const list = (pid: string, eid: string) => {
      const e = findPolicy(ASCEND_CATALOG, pid)?.elements.find((x) => x.id === eid);
      return e?.type === 'list' ? e : undefined;
    };
    expect(list('ElevationRules', 'Rules')?.additive).to.equal(true);
    expect(list('BlacklistRules', 'Rules')?.additive).to.equal(true);
    expect(list('RevokedPasscodes', 'Passcodes')?.additive).to.equal(true);
    expect(list('TemporarySessionElevation', 'Groups')?.additive).to.equal(false);
    expect(list('TemporarySessionElevation', 'TrustedKeys')?.additive).to.equal(false);
  });

  it('tells a domain admin in every help text which state lets child GPOs inherit', () => {
    for (const p of ASCEND_CATALOG.policies) expect(p.help, p.id).to.match(/Not Configured .* inherit/s);
  });

  it('finds policies case-insensitively', () => {
    expect(findPolicy(ASCEND_CATALOG, 'clientdatacollection')?.id).to.equal('ClientDataCollection');
    expect(findPolicy(ASCEND_CATALOG, 'nope')).to.equal(undefined);
  });

  it('checkCatalog reports the problems it exists to catch', () => {
    const p = ASCEND_CATALOG.policies[0];
    if (!p) throw new Error('empty catalog');
    const broken: PolicyCatalog = { ...ASCEND_CATALOG, policies: [...ASCEND_CATALOG.policies, { ...p, category: 'Nowhere' }] };
    const problems = checkCatalog(broken);
    expect(problems.some((x) => x.includes('used twice'))).to.equal(true);
    expect(problems.some((x) => x.includes('unknown category Nowhere'))).to.equal(true);
    expect(problems.some((x) => x.includes('both write'))).to.equal(true);
  });
});
