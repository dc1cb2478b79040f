import { expect } from 'chai';
import {
  addExtension,
  bumpHalf,
  formatGpLink,
  gpcFileSysPath,
  normalizeGpoGuid,
  parseExtensionNames,
  parseGpLink,
  createGptIni,
  parseGptIni,
  setGptIniVersion,
  splitVersion,
  APPLY_GROUP_POLICY_RIGHT,
} from '../../gpo-extension/layout.js';
import { gpoAccess } from '../../gpo-extension/security-filter.js';
import { orderLinks, type DomainSnapshot } from '../../gpo-extension/rsop.js';
import type { Ace } from '../../src/directory/index.js';
import { AscendError } from '../../src/errors.js';

const G1 = '{11111111-1111-1111-1111-111111111111}';
const G2 = '{22222222-2222-2222-2222-222222222222}';
const G3 = '{33333333-3333-3333-3333-333333333333}';
const D = 'DC=corp,DC=example,DC=test';
const dnOf = (g: string) => `cn=${g},cn=policies,cn=system,${D}`;

describe('GPO layout (pure)', () => {
  it('GUIDs: braces added, upper-cased, anything else refused before it reaches a path', () => {
    expect(normalizeGpoGuid('31b2f340-016d-11d2-945f-00c04fb984f9')).to.equal('{31B2F340-016D-11D2-945F-00C04FB984F9}');
    for (const bad of ['..', '{..}', 'x/y', '{31B2F340-016D-11D2-945F-00C04FB984F9}/..']) expect(() => normalizeGpoGuid(bad), bad).to.throw(AscendError);
    expect(gpcFileSysPath(G1, 'Corp.Example.Test')).to.equal(`\\\\corp.example.test\\SysVol\\corp.example.test\\Policies\\${G1}`);
  });

  it('version halves: computer low 16 bits, user high 16; a wrapping half becomes 1', () => {
    expect(splitVersion(0x00030005)).to.deep.equal({ user: 3, machine: 5 });
    expect(bumpHalf(0x00030005, 'machine')).to.equal(0x00030006);
    expect(bumpHalf(0x00030005, 'user')).to.equal(0x00040005);
    expect(bumpHalf(0x0003ffff, 'machine')).to.equal(0x00030001);
    expect(bumpHalf(0xffff0002, 'user')).to.equal(0x00010002);
  });

  it('GPT.INI: reads Version case-insensitively, edits only its digits (line ends and key kept); a new one is CRLF', () => {
    const b = (t: string): Buffer => Buffer.from(t, 'latin1');
    const ini = parseGptIni(b('[General]\nversion=65537\ndisplayName=New Group Policy Object\n'));
    expect(ini.version).to.equal(65537);
    expect(Buffer.from(setGptIniVersion(ini, 65538)).toString('latin1')).to.equal('[General]\nversion=65538\ndisplayName=New Group Policy Object\n');
    expect(Buffer.from(createGptIni(0)).toString('latin1')).to.equal('[General]\r\nVersion=0\r\n');
    expect(() => parseGptIni(b('[General]\r\nVersion=abc\r\n'))).to.throw(/Version "abc"/);
    expect(() => parseGptIni(b('[Other]\r\n'))).to.throw(/no \[General\] Version/);
  });

  it('gPLink: parses and formats the string; the last link is link order 1', () => {
    const text = `[LDAP://${dnOf(G1)};0][LDAP://${dnOf(G2)};2]`;
    const links = parseGpLink(text);
    expect(links).to.deep.equal([
      { gpoDn: dnOf(G1), options: 0 },
      { gpoDn: dnOf(G2), options: 2 },
    ]);
    expect(formatGpLink(links)).to.equal(text);
    expect(parseGpLink(' ')).to.deep.equal([]);
    expect(() => parseGpLink('[cn=x;0]')).to.throw(/malformed/);
  });

  it('extension names: one group per CSE, sorted, tools sorted, others kept', () => {
    const registry = ['{35378EAC-683F-11D2-A89A-00C04FBBCFA2}', '{D02B1F72-3407-48AE-BA88-E8213C6761F1}'] as const;
    const security = '[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]';
    const scripts = '[{00000000-0000-0000-0000-000000000000}{0F6B957D-509E-11D1-A7CC-0000F87571E3}]';
    expect(addExtension(`${security}${scripts}`, ...registry)).to.equal(`${scripts}[${registry[0]}${registry[1]}]${security}`);
    expect(addExtension(`[${registry[0]}{ZZ}]`.replace('{ZZ}', '{FFFFFFFF-0000-0000-0000-000000000000}'), ...registry)).to.equal(
      `[${registry[0]}${registry[1]}{FFFFFFFF-0000-0000-0000-000000000000}]`,
    );
    const once = addExtension('', ...registry);
    expect(addExtension(once, registry[0].toLowerCase(), registry[1])).to.equal(once);
    expect(parseExtensionNames(once)).to.deep.equal([[...registry]]);
  });
});

describe('security filtering (Read + Apply Group Policy, deny wins)', () => {
  const AU = 'S-1-5-11';
  const G = 'S-1-5-21-1-2-3-1105';
  const read: Ace = { type: 'allow', typeCode: 0, flags: 0, mask: 0x20094, sid: AU };
  const apply = (sid: string, type: 'allow-object' | 'deny-object' = 'allow-object'): Ace => ({ type, typeCode: type === 'allow-object' ? 5 : 6, flags: 0, mask: 0x100, sid, objectType: APPLY_GROUP_POLICY_RIGHT });
  const token = new Set(['S-1-1-0', AU, G]);

  it('Read and Apply for Authenticated Users: applies', () => {
    expect(gpoAccess({ control: 0, dacl: [read, apply(AU)] }, token)).to.deep.equal({ read: true, apply: true });
  });
  it('Apply only for a group the account is not in: no Apply', () => {
    expect(gpoAccess({ control: 0, dacl: [read, apply('S-1-5-21-9-9-9-1')] }, token)).to.deep.equal({ read: true, apply: false });
  });
  it('a deny ACE wins whatever its place', () => {
    expect(gpoAccess({ control: 0, dacl: [read, apply(AU), apply(G, 'deny-object')] }, token).apply).to.equal(false);
  });
  it('inherit-only ACEs and ACEs for another right do not count', () => {
    const inheritOnly: Ace = { ...apply(AU), flags: 0x08 };
    const otherRight: Ace = { ...apply(AU), objectType: '00299570-246d-11d0-a768-00aa006e0529' };
    expect(gpoAccess({ control: 0, dacl: [read, inheritOnly, otherRight] }, token).apply).to.equal(false);
  });
  it('full control (GENERIC_ALL or all rights) includes Apply', () => {
    expect(gpoAccess({ control: 0, dacl: [{ type: 'allow', typeCode: 0, flags: 0, mask: 0x10000000, sid: G }] }, token)).to.deep.equal({ read: true, apply: true });
  });
});

describe('link ordering (pure)', () => {
  const ou = `OU=Top,${D}`;
  const sub = `OU=Sub,${ou}`;
  const snapshot = (blockSub: boolean): DomainSnapshot => ({
    domainDn: D,
    domainSid: 'S-1-5-21-1-2-3',
    gpos: new Map(),
    soms: new Map([
      [D.toLowerCase(), { dn: D, links: [{ gpoDn: dnOf(G1), options: 0 }], blocksInheritance: false }],
      [ou.toLowerCase(), { dn: ou, links: [{ gpoDn: dnOf(G2), options: 2 }, { gpoDn: dnOf(G3), options: 0 }], blocksInheritance: false }],
      [sub.toLowerCase(), { dn: sub, links: [], blocksInheritance: blockSub }],
    ]),
  });

  it('non-enforced from the domain down, then enforced from the bottom up', () => {
    const { candidates } = orderLinks(`CN=PC,${sub}`, snapshot(false));
    expect(candidates.map((c) => [c.guid, c.enforced])).to.deep.equal([
      [G1, false],
      [G3, false],
      [G2, true],
    ]);
  });

  it('Block Inheritance below stops non-enforced links above it, never enforced ones', () => {
    const { candidates, denied } = orderLinks(`CN=PC,${sub}`, snapshot(true));
    expect(candidates.map((c) => c.guid)).to.deep.equal([G2]);
    expect(denied.map((d) => [d.guid, d.reason])).to.deep.equal([
      [G1, `Block Inheritance on ${sub}`],
      [G3, `Block Inheritance on ${sub}`],
    ]);
  });
});

describe('DN comparison', () => {
  it('ignores case and spaces between RDNs, but not an escaped comma with its spaces', async () => {
    const { normDn } = await import('../../gpo-extension/rsop.js');
    expect(normDn('OU=Team , DC=Corp,  DC=Test')).to.equal('ou=team,dc=corp,dc=test');
    expect(normDn('OU=Asc\\, Esc,DC=x')).to.equal('ou=asc\\, esc,dc=x');
    expect(normDn('OU=Asc\\, Esc,DC=x')).to.not.equal(normDn('OU=Asc\\,Esc,DC=x'));
  });
});
