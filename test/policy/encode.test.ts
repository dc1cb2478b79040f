import { expect } from 'chai';
import { ASCEND_CATALOG, POLICY_ROOT, requirePolicy, type PolicyDefinition } from '../../src/catalog/index.js';
import { entryToJson, polEntry, readRegistryPol, writeRegistryPol, type PolEntry } from '../../src/formats/registry-pol/index.js';
import { applyPolicyState, encodePolicyState } from '../../src/policy/index.js';
import { expectCode } from '../support/expect-code.js';

const json = (entries: PolEntry[]) => entries.map(entryToJson);
const policy = (id: string) => requirePolicy(ASCEND_CATALOG, id);
const DC = `${POLICY_ROOT}\\ClientDataCollection`;
const TSE = `${POLICY_ROOT}\\TemporarySessionElevation`;

describe('policy states to Registry.pol entries (GPMC semantics)', () => {
  it('Enabled writes the enabledValue, then every element with defaults for those not given', () => {
    const entries = encodePolicyState(policy('ClientDataCollection'), 'enabled', { CollectorHost: 'collector.corp.example' });
    expect(json(entries)).to.deep.equal([
      { key: DC, value: 'Enabled', type: 'REG_DWORD', data: 1 },
      { key: DC, value: 'CollectorHost', type: 'REG_SZ', data: 'collector.corp.example' },
      { key: DC, value: 'CollectorPort', type: 'REG_DWORD', data: 8003 },
      { key: DC, value: 'UseTls', type: 'REG_DWORD', data: 1 },
      { key: DC, value: 'UploadIntervalSeconds', type: 'REG_DWORD', data: 60 },
      { key: DC, value: 'CollectElevations', type: 'REG_DWORD', data: 1 },
      { key: DC, value: 'CollectDenials', type: 'REG_DWORD', data: 1 },
      { key: DC, value: 'CollectPasscodeUsage', type: 'REG_DWORD', data: 1 },
      { key: DC, value: 'CollectApprovals', type: 'REG_DWORD', data: 1 },
      { key: DC, value: 'CollectPolicyEvents', type: 'REG_DWORD', data: 1 },
    ]);
  });

  it('an unchecked boolean writes REG_DWORD 0; a given value beats the default', () => {
    const entries = json(encodePolicyState(policy('ClientDataCollection'), 'enabled', { CollectorHost: 'c', UseTls: false, CollectorPort: 9443 }));
    expect(entries).to.deep.include({ key: DC, value: 'UseTls', type: 'REG_DWORD', data: 0 });
    expect(entries).to.deep.include({ key: DC, value: 'CollectorPort', type: 'REG_DWORD', data: 9443 });
  });

  it('Disabled writes the disabledValue and **del. for every element value', () => {
    const entries = json(encodePolicyState(policy('EphemeralAccounts'), 'disabled'));
    const key = `${POLICY_ROOT}\\EphemeralAccounts`;
    expect(entries).to.deep.equal([
      { key, value: 'Enabled', type: 'REG_DWORD', data: 0 },
      { key, value: '**del.AccountPrefix', type: 'REG_SZ', data: ' ' },
      { key, value: '**del.MaxLifetimeMinutes', type: 'REG_SZ', data: ' ' },
      { key, value: '**del.CleanupIntervalMinutes', type: 'REG_SZ', data: ' ' },
      { key, value: '**del.RemoveProfileFolders', type: 'REG_SZ', data: ' ' },
    ]);
  });

  it('Disabled writes **delvals. for every list key', () => {
    const entries = json(encodePolicyState(policy('TemporarySessionElevation'), 'disabled'));
    expect(entries).to.deep.include({ key: `${TSE}\\Groups`, value: '**delvals.', type: 'REG_SZ', data: ' ' });
    expect(entries).to.deep.include({ key: `${TSE}\\Privileges`, value: '**delvals.', type: 'REG_SZ', data: ' ' });
    expect(entries).to.deep.include({ key: `${TSE}\\TrustedKeys`, value: '**delvals.', type: 'REG_SZ', data: ' ' });
    expect(entries).to.deep.include({ key: TSE, value: '**del.IntegrityLevel', type: 'REG_SZ', data: ' ' });
  });

  it('a policy without a valueName or disabledValue writes **del. markers only, as GPMC does', () => {
    const bare: PolicyDefinition = { id: 'Bare', class: 'Machine', category: 'c', displayName: 'd', help: '', key: 'Software\\Policies\\Bare', valueName: 'On', elements: [] };
    expect(json(encodePolicyState(bare, 'enabled'))).to.deep.equal([{ key: 'Software\\Policies\\Bare', value: 'On', type: 'REG_DWORD', data: 1 }]);
    expect(json(encodePolicyState(bare, 'disabled'))).to.deep.equal([{ key: 'Software\\Policies\\Bare', value: '**del.On', type: 'REG_SZ', data: ' ' }]);
  });

  it('a non-additive list is preceded by **delvals.; an additive list is not', () => {
    const tse = json(encodePolicyState(policy('TemporarySessionElevation'), 'enabled', { Groups: ['S-1-5-32-544', 'CORP\\Helpdesk'] }));
    const groups = tse.filter((e) => e.key === `${TSE}\\Groups`);
    expect(groups).to.deep.equal([
      { key: `${TSE}\\Groups`, value: '**delvals.', type: 'REG_SZ', data: ' ' },
      { key: `${TSE}\\Groups`, value: 'S-1-5-32-544', type: 'REG_SZ', data: 'S-1-5-32-544' },
      { key: `${TSE}\\Groups`, value: 'CORP\\Helpdesk', type: 'REG_SZ', data: 'CORP\\Helpdesk' },
    ]);
    const rules = json(encodePolicyState(policy('ElevationRules'), 'enabled', { Rules: [{ name: 'npp', value: '{"action":"allow"}' }] }));
    expect(rules).to.deep.equal([{ key: `${POLICY_ROOT}\\ElevationRules`, value: 'npp', type: 'REG_SZ', data: '{"action":"allow"}' }]);
  });

  it('an enum writes the chosen item value; the default item when none is given', () => {
    expect(json(encodePolicyState(policy('TemporarySessionElevation'), 'enabled'))).to.deep.include({ key: TSE, value: 'IntegrityLevel', type: 'REG_SZ', data: 'High' });
    expect(json(encodePolicyState(policy('TemporarySessionElevation'), 'enabled', { IntegrityLevel: 'system' }))).to.deep.include({
      key: TSE,
      value: 'IntegrityLevel',
      type: 'REG_SZ',
      data: 'System',
    });
  });

  it('Not Configured writes nothing', () => {
    expect(encodePolicyState(policy('ClientDataCollection'), 'not-configured')).to.deep.equal([]);
  });

  it('refuses bad values with an error naming the field', () => {
    const dc = policy('ClientDataCollection');
    expectCode(() => encodePolicyState(dc, 'enabled'), 'ASC_POLICY_BAD_VALUE', /ClientDataCollection\.CollectorHost: a value is required/);
    expectCode(() => encodePolicyState(dc, 'enabled', { CollectorHost: 'c', CollectorPort: 70000 }), 'ASC_POLICY_BAD_VALUE', /CollectorPort: 70000 is outside 1\.\.65535/);
    expectCode(() => encodePolicyState(dc, 'enabled', { CollectorHost: 'c', Colour: 'red' }), 'ASC_POLICY_UNKNOWN_ELEMENT', /no element "Colour"/);
    expectCode(() => encodePolicyState(dc, 'disabled', { CollectorHost: 'c' }), 'ASC_POLICY_BAD_VALUE', /only taken when the state is enabled/);
    expectCode(() => encodePolicyState(dc, 'maybe' as never), 'ASC_POLICY_BAD_STATE');
    const tse = policy('TemporarySessionElevation');
    expectCode(() => encodePolicyState(tse, 'enabled', { IntegrityLevel: 'Root' }), 'ASC_POLICY_BAD_VALUE', /"Root" is not one of Medium, High, System/);
    expectCode(() => encodePolicyState(tse, 'enabled', { Groups: ['**del.Everything'] }), 'ASC_POLICY_BAD_VALUE', /delete instruction/);
    expectCode(() => encodePolicyState(tse, 'enabled', { Groups: ['a', 'A'] }), 'ASC_POLICY_BAD_VALUE', /listed twice/);
  });
});

describe('setting a policy in existing entries', () => {
  const other1 = polEntry.dword('Software\\Policies\\Contoso', 'Keep', 7);
  const other2 = polEntry.sz('Software\\Policies\\Contoso', '**del.Gone', ' ');

  it('replaces what the policy wrote before in place and keeps other products untouched', () => {
    const dc = policy('ClientDataCollection');
    const first = applyPolicyState([other1, other2], dc, 'enabled', { CollectorHost: 'one' });
    expect(first.slice(0, 2)).to.deep.equal([other1, other2]);
    const withTail = [...first, polEntry.dword('Software\\Policies\\Contoso', 'After', 1)];
    const second = applyPolicyState(withTail, dc, 'enabled', { CollectorHost: 'two' });
    expect(second.length).to.equal(withTail.length);
    expect(second[0]).to.equal(other1);
    expect(second[1]).to.equal(other2);
    expect(entryToJson(second[3] as PolEntry)).to.deep.equal({ key: DC, value: 'CollectorHost', type: 'REG_SZ', data: 'two' });
    expect(entryToJson(second.at(-1) as PolEntry).value).to.equal('After');
  });

  it('Not Configured removes every entry the policy had, markers included', () => {
    const tse = policy('TemporarySessionElevation');
    const disabled = applyPolicyState([other1], tse, 'disabled');
    expect(disabled.length).to.be.greaterThan(1);
    expect(applyPolicyState(disabled, tse, 'not-configured')).to.deep.equal([other1]);
  });

  it('keeps the bytes of other entries identical through read, edit and write', () => {
    const original = writeRegistryPol([other1, other2]);
    const edited = writeRegistryPol(applyPolicyState(readRegistryPol(original), policy('OfflinePasscodes'), 'enabled'));
    expect(Buffer.from(edited.subarray(0, original.length)).equals(Buffer.from(original))).to.equal(true);
  });
});
