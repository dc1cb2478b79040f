import { expect } from 'chai';
import fc from 'fast-check';
import {
  dnsDomainFromDn,
  escapeDnValue,
  escapeFilterBytes,
  escapeFilterValue,
  filterToString,
  parentDn,
  parseFilter,
  sidToBytes,
  splitDn,
  splitRdn,
  unescapeDnValue,
  type FilterNode,
} from '../../src/directory/index.js';
import { codeOf } from '../support/errors.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('directory: filter escaping (RFC 4515)', () => {
  it('escapes * ( ) \\ and NUL', () => {
    expect(escapeFilterValue('a*b(c)d\\e\0f')).to.equal('a\\2ab\\28c\\29d\\5ce\\00f');
    expect(escapeFilterValue('*')).to.equal('\\2a');
    expect(escapeFilterValue('\\2a')).to.equal('\\5c2a');
  });

  it('leaves ordinary and non-ASCII characters alone', () => {
    expect(escapeFilterValue('Grüße, 東京 = ok & | !')).to.equal('Grüße, 東京 = ok & | !');
    expect(escapeFilterValue('')).to.equal('');
  });

  it('escapes every byte of a binary value', () => {
    expect(escapeFilterBytes(sidToBytes('S-1-5-11'))).to.equal('\\01\\01\\00\\00\\00\\00\\00\\05\\0b\\00\\00\\00');
  });

  it('never leaves a special character unescaped (property)', () => {
    const specialsHeavy = fc.string({ unit: fc.constantFrom('*', '(', ')', '\\', '\0', 'a', 'é', '2', 'f', ' ') });
    for (const arb of [fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), specialsHeavy]) {
      fc.assert(
        fc.property(arb, (value) => {
          const escaped = escapeFilterValue(value);
          expect(escaped).to.not.match(/[*()\0]/);
          // every backslash starts a \xx escape
          expect(escaped.replace(/\\[0-9a-f]{2}/g, '')).to.not.include('\\');
        }),
        { numRuns: 300 },
      );
    }
  });

  it('an escaped value parses back to an equality match on exactly its UTF-8 bytes (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const node = parseFilter(`(description=${escapeFilterValue(value)})`);
        if (value === '') {
          expect(node).to.deep.equal({ kind: 'equal', attribute: 'description', value: Buffer.alloc(0) });
        } else {
          expect(node.kind).to.equal('equal');
          expect(node.kind === 'equal' && node.value.equals(b(value))).to.equal(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('directory: filter parsing', () => {
  it('parses equality, presence, substrings and the comparison kinds', () => {
    expect(parseFilter('(cn=abc)')).to.deep.equal({ kind: 'equal', attribute: 'cn', value: b('abc') });
    expect(parseFilter('(objectClass=*)')).to.deep.equal({ kind: 'present', attribute: 'objectClass' });
    expect(parseFilter('(cn=a*b*c)')).to.deep.equal({ kind: 'substrings', attribute: 'cn', initial: b('a'), any: [b('b')], final: b('c') });
    expect(parseFilter('(cn=*x*)')).to.deep.equal({ kind: 'substrings', attribute: 'cn', any: [b('x')] });
    expect(parseFilter('(cn=x*)')).to.deep.equal({ kind: 'substrings', attribute: 'cn', initial: b('x'), any: [] });
    expect(parseFilter('(n>=5)')).to.deep.equal({ kind: 'greater-or-equal', attribute: 'n', value: b('5') });
    expect(parseFilter('(n<=5)')).to.deep.equal({ kind: 'less-or-equal', attribute: 'n', value: b('5') });
    expect(parseFilter('(cn~=abc)')).to.deep.equal({ kind: 'approx', attribute: 'cn', value: b('abc') });
  });

  it('parses and, or, not, nested', () => {
    const node = parseFilter('(&(objectClass=computer)(|(cn=a)(!(cn=b))))');
    const expected: FilterNode = {
      kind: 'and',
      children: [
        { kind: 'equal', attribute: 'objectClass', value: b('computer') },
        { kind: 'or', children: [{ kind: 'equal', attribute: 'cn', value: b('a') }, { kind: 'not', child: { kind: 'equal', attribute: 'cn', value: b('b') } }] },
      ],
    };
    expect(node).to.deep.equal(expected);
  });

  it('parses the AD bitwise matching rule and other extensible matches', () => {
    expect(parseFilter('(userAccountControl:1.2.840.113556.1.4.803:=2)')).to.deep.equal({
      kind: 'extensible',
      attribute: 'userAccountControl',
      rule: '1.2.840.113556.1.4.803',
      dnAttributes: false,
      value: b('2'),
    });
    expect(parseFilter('(ou:dn:=Sales)')).to.deep.equal({ kind: 'extensible', attribute: 'ou', dnAttributes: true, value: b('Sales') });
    expect(parseFilter('(:caseExactMatch:=x)')).to.deep.equal({ kind: 'extensible', rule: 'caseExactMatch', dnAttributes: false, value: b('x') });
  });

  it('turns \\xx escapes into the bytes they name (binary SIDs, UTF-8 sequences)', () => {
    const sid = sidToBytes('S-1-5-21-1411096885-3378867476-1883896783-512');
    const node = parseFilter(`(objectSid=${escapeFilterBytes(sid)})`);
    expect(node.kind === 'equal' && node.value.equals(sid)).to.equal(true);
    const e = parseFilter('(cn=caf\\c3\\a9)');
    expect(e.kind === 'equal' && e.value.equals(b('café'))).to.equal(true);
    const star = parseFilter('(description=a\\2ab*)');
    expect(star).to.deep.equal({ kind: 'substrings', attribute: 'description', initial: b('a*b'), any: [] });
  });

  it('accepts attribute options and numeric OIDs as attribute names', () => {
    expect(parseFilter('(userCertificate;binary=*)')).to.deep.equal({ kind: 'present', attribute: 'userCertificate;binary' });
    expect(parseFilter('(2.5.4.3=x)')).to.deep.equal({ kind: 'equal', attribute: '2.5.4.3', value: b('x') });
  });

  it('accepts a filter without its outer parentheses', () => {
    expect(parseFilter('cn=x')).to.deep.equal({ kind: 'equal', attribute: 'cn', value: b('x') });
  });

  it('refuses malformed filters with ASC_LDAP_BAD_FILTER', () => {
    for (const bad of ['', '()', '(cn=x', '(cn=x))', '(=x)', '(cn)', '(c n=x)', '(cn=\\2)', '(cn=\\zz)', '(cn=a(b)', '(&(cn=x)', '(n>=a*)', '(cn=x\0)', '(!)', '(:=x)', '(cn:a:b:c:=x)', '(cn=x)(cn=y)']) {
      expect(codeOf(() => parseFilter(bad)), JSON.stringify(bad)).to.equal('ASC_LDAP_BAD_FILTER');
    }
  });

  it('names the position of the problem', () => {
    expect(() => parseFilter('(cn=ab\\zz)')).to.throw(/character 6/);
  });

  it('writes a parsed filter back as a string that parses to the same tree (property)', () => {
    const attr = fc.constantFrom('cn', 'description', 'objectClass', 'sAMAccountName');
    const value = fc.uint8Array({ maxLength: 12 }).map((u) => Buffer.from(u));
    const nonEmpty = fc.uint8Array({ minLength: 1, maxLength: 12 }).map((u) => Buffer.from(u));
    const leaf: fc.Arbitrary<FilterNode> = fc.oneof(
      fc.record({ kind: fc.constantFrom('equal' as const, 'greater-or-equal' as const, 'less-or-equal' as const, 'approx' as const), attribute: attr, value }),
      fc.record({ kind: fc.constant('present' as const), attribute: attr }),
      fc.record({ kind: fc.constant('substrings' as const), attribute: attr, initial: nonEmpty, any: fc.array(nonEmpty, { maxLength: 3 }), final: nonEmpty }),
    );
    const tree = fc.letrec<{ node: FilterNode }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), children: fc.array(tie('node'), { maxLength: 3 }) }),
        fc.record({ kind: fc.constant('not' as const), child: tie('node') }),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (node) => {
        expect(parseFilter(filterToString(node))).to.deep.equal(node);
      }),
      { numRuns: 300 },
    );
  });
});

describe('directory: DN escaping and splitting (RFC 4514)', () => {
  it('escapes the RFC 4514 specials', () => {
    expect(escapeDnValue('Sales, EMEA')).to.equal('Sales\\, EMEA');
    expect(escapeDnValue('a+b"c\\d<e>f;g')).to.equal('a\\+b\\"c\\\\d\\<e\\>f\\;g');
    expect(escapeDnValue('#1')).to.equal('\\#1');
    expect(escapeDnValue(' lead and trail ')).to.equal('\\ lead and trail\\ ');
    expect(escapeDnValue('mid#dle=ok')).to.equal('mid#dle=ok');
    expect(escapeDnValue('nul\0')).to.equal('nul\\00');
    expect(escapeDnValue('')).to.equal('');
  });

  it('splits a DN at unescaped commas only', () => {
    expect(splitDn('OU=a\\,b,OU=c\\\\,DC=x')).to.deep.equal(['OU=a\\,b', 'OU=c\\\\', 'DC=x']);
    expect(splitDn('CN="quoted, name",DC=x')).to.deep.equal(['CN="quoted, name"', 'DC=x']);
    expect(splitDn('OU=a, DC=x')).to.deep.equal(['OU=a', 'DC=x']);
    expect(splitDn('')).to.deep.equal([]);
    expect(parentDn('OU=a\\,b,DC=corp,DC=test')).to.equal('DC=corp,DC=test');
  });

  it('unescapes RDN values, hex pairs included', () => {
    expect(splitRdn('OU=a\\,b')).to.deep.equal(['OU', 'a,b']);
    expect(unescapeDnValue('caf\\C3\\A9 \\3B')).to.equal('café ;');
  });

  it('round-trips any value through escape, DN split and unescape (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (value) => {
        const dn = `OU=${escapeDnValue(value)},DC=corp,DC=test`;
        const rdns = splitDn(dn);
        expect(rdns.length).to.equal(3);
        expect(splitRdn(rdns[0] as string)).to.deep.equal(['OU', value]);
      }),
      { numRuns: 300 },
    );
  });

  it('derives the DNS domain from a naming context', () => {
    expect(dnsDomainFromDn('DC=corp,DC=example,DC=test')).to.equal('corp.example.test');
    expect(dnsDomainFromDn('dc=Corp, dc=Example')).to.equal('corp.example');
    expect(dnsDomainFromDn('CN=Configuration,DC=corp,DC=test')).to.equal('corp.test');
  });
});
