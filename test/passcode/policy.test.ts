import { expect } from 'chai';
import { ASCEND_CATALOG, requirePolicy, type ElementValues, type PolicyState } from '../../src/catalog/index.js';
import type { PolEntry } from '../../src/formats/registry-pol/index.js';
import { encodePolicyState, resolveEffectivePolicies } from '../../src/policy/index.js';
import { checkPasscode, passcodePolicyFromEffective, signPasscode, type PasscodePolicy } from '../../src/passcode/index.js';
import { newKey, terms } from './helpers.js';

const encode = (id: string, state: PolicyState, values?: ElementValues): PolEntry[] => encodePolicyState(requirePolicy(ASCEND_CATALOG, id), state, values);

/** The passcode policy of GPOs applied lowest precedence first (parent, then child). */
function fold(...gpos: { source: string; entries: PolEntry[] }[]): PasscodePolicy {
  return passcodePolicyFromEffective(resolveEffectivePolicies(ASCEND_CATALOG, gpos));
}

describe('passcodePolicyFromEffective (from the fold of real Registry.pol entries)', () => {
  const key = newKey();
  const rotated = newKey();
  const tseEnabled = (values: ElementValues = {}) =>
    encode('TemporarySessionElevation', 'enabled', { TrustedKeys: [{ name: key.trusted.kid, value: key.trusted.publicKey }], ...values });

  it('nothing configured anywhere: TSE disabled, offline not allowed, no keys, nothing revoked', () => {
    const p = fold({ source: 'empty', entries: [] });
    expect(p).to.deep.include({ tseEnabled: false, offlineAllowed: false, trustedKeys: [], groups: [], privileges: [], integrity: 'High', maxSessionMinutes: 0 });
    expect([...p.revoked]).to.deep.equal([]);
  });

  it('reads TSE values: keys, groups, privileges, integrity, maximum session', () => {
    const p = fold({
      source: 'domain',
      entries: [
        ...encode('TemporarySessionElevation', 'enabled', {
          TrustedKeys: [
            { name: key.trusted.kid, value: key.trusted.publicKey },
            { name: rotated.trusted.kid, value: rotated.trusted.publicKey },
          ],
          Groups: ['S-1-5-32-544', 'S-1-5-32-551'],
          Privileges: ['SeDebugPrivilege'],
          IntegrityLevel: 'System',
          MaxSessionMinutes: 120,
        }),
        ...encode('OfflinePasscodes', 'enabled'),
        ...encode('RevokedPasscodes', 'enabled', { Passcodes: [{ name: 'pc-0001', value: 'lost laptop (helpdesk, 2025-06-01)' }] }),
      ],
    });
    expect(p.tseEnabled).to.equal(true);
    expect(p.offlineAllowed).to.equal(true);
    expect(p.trustedKeys).to.deep.equal([key.trusted, rotated.trusted]);
    expect(p.groups).to.deep.equal(['S-1-5-32-544', 'S-1-5-32-551']);
    expect(p.privileges).to.deep.equal(['SeDebugPrivilege']);
    expect(p.integrity).to.equal('System');
    expect(p.maxSessionMinutes).to.equal(120);
    expect([...p.revoked]).to.deep.equal(['pc-0001']);
  });

  it('Not Configured in a child GPO inherits the parent TSE Enabled, and a passcode checks ok', async () => {
    const p = fold(
      { source: 'parent', entries: [...tseEnabled(), ...encode('OfflinePasscodes', 'enabled')] },
      { source: 'child', entries: [...encode('TemporarySessionElevation', 'not-configured'), ...encode('OfflinePasscodes', 'not-configured')] },
    );
    expect(p.tseEnabled).to.equal(true);
    expect(p.offlineAllowed).to.equal(true);
    expect(p.trustedKeys).to.deep.equal([key.trusted]);
    const r = checkPasscode(await signPasscode(terms(), key.signing), { computer: 'WS-1', user: 'CORP\\alice', at: new Date('2025-06-02T10:00:00Z'), utcOffsetMinutes: 0, usesSoFar: 0, policy: p });
    expect(r.ok, r.ok ? '' : r.message).to.equal(true);
  });

  it('Disabled in a child GPO beats the parent: TSE off, its keys cleared (so passcodes are refused)', async () => {
    const p = fold({ source: 'parent', entries: [...tseEnabled(), ...encode('OfflinePasscodes', 'enabled')] }, { source: 'child', entries: encode('TemporarySessionElevation', 'disabled') });
    expect(p.tseEnabled).to.equal(false);
    expect(p.trustedKeys).to.deep.equal([]);
    expect(p.offlineAllowed).to.equal(true);
    const r = checkPasscode(await signPasscode(terms(), key.signing), { computer: 'WS-1', user: 'alice', at: new Date('2025-06-02T10:00:00Z'), utcOffsetMinutes: 0, usesSoFar: 0, policy: p });
    expect(r.ok).to.equal(false);
    if (!r.ok) {
      expect(r.reason).to.equal('tse-disabled');
      expect(r.message).to.include('not enabled for this computer');
    }
  });

  it('a child replaces the trusted keys (non-additive list) and the TSE values', () => {
    const p = fold(
      { source: 'parent', entries: tseEnabled({ Groups: ['S-1-5-32-551'] }) },
      { source: 'child', entries: encode('TemporarySessionElevation', 'enabled', { TrustedKeys: [{ name: rotated.trusted.kid, value: rotated.trusted.publicKey }] }) },
    );
    expect(p.trustedKeys).to.deep.equal([rotated.trusted]);
    expect(p.groups).to.deep.equal([]);
  });

  it('revocations add up across GPOs (additive list); offline Disabled in a child refuses offline use', () => {
    const p = fold(
      { source: 'domain', entries: [...tseEnabled(), ...encode('OfflinePasscodes', 'enabled'), ...encode('RevokedPasscodes', 'enabled', { Passcodes: [{ name: 'pc-a', value: 'x' }] })] },
      { source: 'ou', entries: [...encode('OfflinePasscodes', 'disabled'), ...encode('RevokedPasscodes', 'enabled', { Passcodes: [{ name: 'pc-b', value: 'y' }] })] },
    );
    expect([...p.revoked].sort()).to.deep.equal(['pc-a', 'pc-b']);
    expect(p.offlineAllowed).to.equal(false);
    expect(p.tseEnabled).to.equal(true);
  });
});
