import { expect } from 'chai';
import fc from 'fast-check';
import { isSid } from '../../src/directory/sid.js';
import { isSidText, matchesAny, matchPattern } from '../../src/passcode/index.js';

describe('passcode name patterns (matchPattern)', () => {
  it('* and ? are wildcards, case-insensitively', () => {
    expect(matchPattern('WS-*', 'ws-0042')).to.equal(true);
    expect(matchPattern('WS-*', 'WS-')).to.equal(true);
    expect(matchPattern('WS-*', 'XWS-1')).to.equal(false);
    expect(matchPattern('ws-0?', 'WS-01')).to.equal(true);
    expect(matchPattern('ws-0?', 'WS-0')).to.equal(false);
    expect(matchPattern('ws-0?', 'WS-012')).to.equal(false);
    expect(matchPattern('*', '')).to.equal(true);
    expect(matchPattern('?', '')).to.equal(false);
    expect(matchPattern('*a*b*', 'xxAyyBzz')).to.equal(true);
    expect(matchPattern('*a*b', 'xxAyyBzz')).to.equal(false);
    expect(matchPattern('**?**', 'x')).to.equal(true);
    expect(matchPattern('CORP\\*', 'corp\\alice')).to.equal(true);
  });

  it('every other character is literal: no regular expression can be injected', () => {
    expect(matchPattern('a.b', 'a.b')).to.equal(true);
    expect(matchPattern('a.b', 'axb')).to.equal(false);
    expect(matchPattern('(x)+', '(x)+')).to.equal(true);
    expect(matchPattern('(x)+', 'xx')).to.equal(false);
    expect(matchPattern('(x)+', 'x')).to.equal(false);
    expect(matchPattern('[ab]', '[AB]')).to.equal(true);
    expect(matchPattern('[ab]', 'a')).to.equal(false);
    expect(matchPattern('^ws$', '^WS$')).to.equal(true);
    expect(matchPattern('^ws$', 'ws')).to.equal(false);
    expect(matchPattern('a|b', 'a')).to.equal(false);
    expect(matchPattern('\\d', '\\D')).to.equal(true);
    expect(matchPattern('\\d', '1')).to.equal(false);
    expect(matchPattern('.*', 'anything')).to.equal(false);
    expect(matchPattern('.*', '.whatever')).to.equal(true);
    expect(matchPattern('a{2}', 'aa')).to.equal(false);
    // A catastrophic-backtracking shape for regex engines: the right answer here (a backtracking
    // matcher would not finish); how fast, and that it grows linearly, is bench/patterns.bench.ts.
    expect(matchPattern(`${'*a'.repeat(100)}b`, 'a'.repeat(5000))).to.equal(false);
    expect(matchPattern(`${'*a'.repeat(100)}b`, `${'a'.repeat(5000)}b`)).to.equal(true);
  });

  it('? is one character, also outside the BMP', () => {
    expect(matchPattern('pc-?', 'pc-😀')).to.equal(true);
    expect(matchPattern('pc-??', 'pc-😀')).to.equal(false);
    expect(matchPattern('ÉTÉ-*', 'été-1')).to.equal(true);
  });

  it('SIDs compare whole, ignoring case, without wildcards', () => {
    expect(matchPattern('S-1-5-21-1-2-3-1104', 's-1-5-21-1-2-3-1104')).to.equal(true);
    expect(matchPattern('S-1-5-21-1-2-3-1104', 'S-1-5-21-1-2-3-11045')).to.equal(false);
    expect(matchPattern('S-1-5-21-?-2-3-1104', 'S-1-5-21-1-2-3-1104')).to.equal(false);
    expect(matchPattern('S-1-5-*', 'S-1-5-32-544')).to.equal(false);
  });

  it('matchesAny: empty allows all; short names; SIDs against the SID lists', () => {
    expect(matchesAny([], 'anything', undefined, '.')).to.equal(true);
    expect(matchesAny(['ws-00*'], 'WS-0042.corp.example', undefined, '.')).to.equal(true);
    expect(matchesAny(['ws-0042.corp.*'], 'WS-0042.corp.example', undefined, '.')).to.equal(true);
    expect(matchesAny(['ws-0042.other.*'], 'WS-0042.corp.example', undefined, '.')).to.equal(false);
    expect(matchesAny(['alice'], 'CORP\\Alice', undefined, '\\')).to.equal(true);
    expect(matchesAny(['OTHER\\alice'], 'CORP\\Alice', undefined, '\\')).to.equal(false);
    expect(matchesAny(['S-1-5-21-9-9-9-512'], 'CORP\\alice', ['S-1-5-21-9-9-9-1105', 's-1-5-21-9-9-9-512'], '\\')).to.equal(true);
    expect(matchesAny(['S-1-5-21-9-9-9-512'], 'CORP\\alice', ['S-1-5-21-9-9-9-1105'], '\\')).to.equal(false);
  });

  it('agrees with an escaped-regex oracle on random patterns (property)', () => {
    const chars = fc.constantFrom(...'aAbB.()[]+^$|\\{}-_'.split(''));
    const pattern = fc.array(fc.oneof(chars, fc.constant('*'), fc.constant('?')), { maxLength: 10 }).map((a) => a.join(''));
    const value = fc.array(chars, { maxLength: 12 }).map((a) => a.join(''));
    const oracle = (p: string, v: string): boolean => {
      const source = p.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))).join('');
      return new RegExp(`^${source}$`, 'is').test(v);
    };
    fc.assert(fc.property(pattern, value, (p, v) => matchPattern(p, v) === oracle(p, v)), { numRuns: 2000 });
    // Values made from the pattern (wildcards filled in, case flipped) so that most match.
    const filled = pattern.chain((p) =>
      fc.tuple(fc.constant(p), fc.array(fc.tuple(value, chars, fc.boolean()), { minLength: p.length, maxLength: p.length })).map(([pp, fills]) => {
        const v = pp
          .split('')
          .map((c, i) => {
            const [run, one, flip] = fills[i] ?? ['', 'a', false];
            const out = c === '*' ? run : c === '?' ? one : c;
            return flip ? out.toUpperCase() : out;
          })
          .join('');
        return [pp, v] as const;
      }),
    );
    fc.assert(fc.property(filled, ([p, v]) => matchPattern(p, v) === oracle(p, v) && matchPattern(p, v)), { numRuns: 2000 });
  });

  it('isSidText agrees with the directory SID codec', () => {
    for (const sid of ['S-1-5-32-544', 'S-1-5-21-1004336348-1177238915-682003330-512', 'S-1-0', 'S-1-0x0000000000FF-1', 's-1-5-18', `S-1-5${'-4294967295'.repeat(15)}`]) {
      expect(isSidText(sid), sid).to.equal(true);
      expect(isSid(sid), sid).to.equal(true);
    }
    for (const bad of ['S-1-5-01', 'S-2-5-32', 'S-1-', 'S-1-5-', 'S-1-5-4294967296', 'S-1-281474976710656', `S-1-5${'-1'.repeat(16)}`, 'S-1-5-32-544 ', 'S-1-5-3a', 'S-1-0x1234567890123']) {
      expect(isSidText(bad), bad).to.equal(false);
      expect(isSid(bad), bad).to.equal(false);
    }
    const part = fc.oneof(fc.constantFrom('0', '1', '5', '32', '544', '01', '4294967295', '4294967296', '281474976710655', '281474976710656', '0x1F', '0XABCDEF123456', '0x', '0x1234567890abc', '0xg', '00', '4294967295 ', '', 'x'), fc.nat().map(String));
    const text = fc.tuple(fc.constantFrom('S', 's', 'X'), fc.constantFrom('1', '2', '01'), fc.array(part, { minLength: 1, maxLength: 17 })).map(([s, r, parts]) => [s, r, ...parts].join('-'));
    fc.assert(fc.property(text, (t) => isSidText(t) === isSid(t)), { numRuns: 5000 });
    fc.assert(fc.property(fc.string({ maxLength: 30 }).map((x) => `S-1-${x}`), (t) => isSidText(t) === isSid(t)), { numRuns: 3000 });
  });
});
