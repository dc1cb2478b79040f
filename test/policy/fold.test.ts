import { expect } from 'chai';
import fc from 'fast-check';
import { ASCEND_CATALOG, requirePolicy, type ElementValue, type PolicyDefinition, type PolicyElement } from '../../src/catalog/index.js';
import { encodeSz, polEntry, RegType, type PolEntry } from '../../src/formats/registry-pol/index.js';
import { encodePolicyState, foldRegistryPol, readPolicyState, resolveEffectivePolicies, resolveEnabledValues } from '../../src/policy/index.js';

const policy = (id: string) => requirePolicy(ASCEND_CATALOG, id);
const effective = (files: { source: string; entries: PolEntry[] }[], id: string) => {
  const found = resolveEffectivePolicies(ASCEND_CATALOG, files).find((p) => p.id === id);
  if (!found) throw new Error(`no ${id}`);
  return found;
};
const dcEnabled = (host: string) => encodePolicyState(policy('ClientDataCollection'), 'enabled', { CollectorHost: host });

describe('folding Registry.pol files in precedence order', () => {
  it('Not Configured in a child GPO lets the parent value through', () => {
    const result = effective(
      [
        { source: 'parent', entries: dcEnabled('parent.corp.example') },
        { source: 'child', entries: encodePolicyState(policy('ClientDataCollection'), 'not-configured') },
      ],
      'ClientDataCollection',
    );
    expect(result.state).to.equal('enabled');
    expect(result.source).to.equal('parent');
    expect(result.values.CollectorHost).to.equal('parent.corp.example');
    expect(result.values.CollectorPort).to.equal(8003);
  });

  it('Disabled in a child overrides the parent Enabled, and names the child', () => {
    const result = effective(
      [
        { source: 'parent', entries: dcEnabled('parent.corp.example') },
        { source: 'child', entries: encodePolicyState(policy('ClientDataCollection'), 'disabled') },
      ],
      'ClientDataCollection',
    );
    expect(result).to.deep.equal({ id: 'ClientDataCollection', state: 'disabled', values: {}, source: 'child' });
  });

  it('a later Enabled wins over an earlier one', () => {
    const result = effective(
      [
        { source: 'domain', entries: dcEnabled('domain') },
        { source: 'ou', entries: dcEnabled('ou') },
      ],
      'ClientDataCollection',
    );
    expect(result.values.CollectorHost).to.equal('ou');
    expect(result.source).to.equal('ou');
  });

  it('an additive list from two GPOs merges', () => {
    const rules = (name: string) => encodePolicyState(policy('ElevationRules'), 'enabled', { Rules: [{ name, value: `{"rule":"${name}"}` }] });
    const result = effective(
      [
        { source: 'domain', entries: rules('from-domain') },
        { source: 'ou', entries: rules('from-ou') },
      ],
      'ElevationRules',
    );
    expect(result.state).to.equal('enabled');
    expect(result.values.Rules).to.deep.equal([
      { name: 'from-domain', value: '{"rule":"from-domain"}' },
      { name: 'from-ou', value: '{"rule":"from-ou"}' },
    ]);
    expect(result.source).to.equal('ou');
  });

  it('a non-additive list is replaced by the GPO of higher precedence', () => {
    const groups = (g: string[]) => encodePolicyState(policy('TemporarySessionElevation'), 'enabled', { Groups: g });
    const result = effective(
      [
        { source: 'domain', entries: groups(['S-1-5-32-544', 'CORP\\Old']) },
        { source: 'ou', entries: groups(['CORP\\Helpdesk']) },
      ],
      'TemporarySessionElevation',
    );
    expect(result.values.Groups).to.deep.equal(['CORP\\Helpdesk']);
  });

  it('a policy no file mentions is Not Configured with no source', () => {
    expect(effective([{ source: 'a', entries: dcEnabled('x') }], 'Approvals')).to.deep.equal({ id: 'Approvals', state: 'not-configured', values: {}, source: null });
  });

  it('a list-only policy reads Disabled when its key was emptied and Enabled when it holds values', () => {
    expect(effective([{ source: 'a', entries: encodePolicyState(policy('BlacklistRules'), 'disabled') }], 'BlacklistRules').state).to.equal('disabled');
    const on = encodePolicyState(policy('BlacklistRules'), 'enabled', { Rules: [{ name: 'x', value: '{}' }] });
    expect(effective([{ source: 'a', entries: on }], 'BlacklistRules').state).to.equal('enabled');
  });

  it('applies the special value names the way the registry extension does', () => {
    const k = 'Software\\Policies\\Contoso';
    const registry = foldRegistryPol([
      {
        source: 'low',
        entries: [
          polEntry.dword(k, 'A', 1),
          polEntry.dword(k, 'B', 2),
          polEntry.dword(k, 'C', 3),
          polEntry.dword(`${k}\\Sub`, 'D', 4),
          polEntry.dword(`${k}\\Sub\\Deeper`, 'E', 5),
          polEntry.dword(k, 'Soft', 1),
        ],
      },
      {
        source: 'high',
        entries: [
          polEntry.deleteValue(k, 'a'), // case-insensitive
          { key: k, valueName: '**DeleteValues', type: RegType.REG_SZ, data: encodeSz('B;Missing') },
          { key: k, valueName: '**DeleteKeys', type: RegType.REG_SZ, data: encodeSz('Sub') },
          { key: k, valueName: '**soft.Soft', type: RegType.REG_DWORD, data: polEntry.dword(k, 'x', 9).data },
          { key: k, valueName: '**soft.New', type: RegType.REG_DWORD, data: polEntry.dword(k, 'x', 9).data },
          { key: k, valueName: '**SecureKey', type: RegType.REG_DWORD, data: polEntry.dword(k, 'x', 1).data },
        ],
      },
    ]);
    expect(registry.getValue(k, 'A')).to.equal(undefined);
    expect(registry.getDeletion(k, 'A')?.source).to.equal('high');
    expect(registry.getValue(k, 'B')).to.equal(undefined);
    expect(registry.getValue(k.toUpperCase(), 'c')?.source, 'names compare case-insensitively').to.equal('low');
    expect(registry.getValue(`${k}\\Sub`, 'D')).to.equal(undefined);
    expect(registry.getValue(`${k}\\Sub\\Deeper`, 'E')).to.equal(undefined);
    expect(registry.getValue(k, 'Soft')?.source).to.equal('low');
    expect(registry.getValue(k, 'New')?.source).to.equal('high');
    expect(registry.getValue(k, 'SecureKey')).to.equal(undefined);
  });

  it('**delvals. in any spelling clears only what came before it', () => {
    const k = 'Software\\Policies\\Contoso\\List';
    for (const marker of ['**delvals.', '**DelVals', '**DelVals.', '**DELVALS.']) {
      const registry = foldRegistryPol([
        { source: 'low', entries: [polEntry.sz(k, 'old', 'old')] },
        { source: 'high', entries: [{ key: k, valueName: marker, type: RegType.REG_SZ, data: encodeSz(' ') }, polEntry.sz(k, 'new', 'new')] },
      ]);
      expect(registry.values(k).map((v) => v.name), marker).to.deep.equal(['new']);
      expect(registry.keyClearedBy(k)?.source).to.equal('high');
    }
  });
});

/** A random valid value for an element, within its range. */
function arbitraryValue(element: PolicyElement): fc.Arbitrary<ElementValue> {
  const name = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.startsWith('**') && !s.includes('\0'));
  switch (element.type) {
    case 'boolean':
      return fc.boolean();
    case 'decimal':
      return fc.integer({ min: element.minValue, max: element.maxValue });
    case 'text':
      return fc.string({ minLength: element.required ? 1 : 0, maxLength: Math.min(element.maxLength, 40) }).filter((s) => !s.includes('\0'));
    case 'enum':
      return fc.constantFrom(...element.items.map((i) => (i.value.kind === 'decimal' || i.value.kind === 'string' ? i.value.value : '')));
    case 'list':
      return element.explicitValue
        ? fc.uniqueArray(fc.record({ name, value: fc.string({ maxLength: 30 }).filter((s) => !s.includes('\0')) }), { maxLength: 5, selector: (v) => v.name.toLowerCase() })
        : fc.uniqueArray(name, { maxLength: 5, selector: (v) => v.toLowerCase() });
  }
}

describe('encode then fold reads every Ascend policy back (property)', () => {
  for (const p of ASCEND_CATALOG.policies) {
    it(`${p.id}: Enabled with random values reads back Enabled with the same values`, () => {
      fc.assert(
        fc.property(fc.record(Object.fromEntries(p.elements.map((e) => [e.id, arbitraryValue(e)]))), (values) => {
          const registry = foldRegistryPol([{ source: 'gpo', entries: encodePolicyState(p, 'enabled', values) }]);
          const read = readPolicyState(registry, p as PolicyDefinition);
          const expected = resolveEnabledValues(p, values);
          // An empty additive list writes nothing at all, which GPMC reads back as Not Configured.
          const writesNothing = p.elements.every((e) => e.type === 'list' && e.additive && (expected[e.id] as unknown[]).length === 0) && p.valueName === undefined;
          if (writesNothing) expect(read.state).to.equal('not-configured');
          else expect(read).to.deep.equal({ id: p.id, state: 'enabled', values: expected, source: 'gpo' });
        }),
        { numRuns: 60 },
      );
    });
  }
});
