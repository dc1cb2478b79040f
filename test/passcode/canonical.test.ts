import { expect } from 'chai';
import fc from 'fast-check';
import { readCanonicalTerms, serializeTerms, termsProblem, termsTextProblem, type PasscodeTerms } from '../../src/passcode/index.js';
import { terms } from './helpers.js';

/** The fast path's verdict: the reader accepts the syntax and termsProblem the values. */
function fastAccepts(text: string): PasscodeTerms | undefined {
  const t = readCanonicalTerms(text);
  return t !== undefined && termsProblem(t) === undefined ? t : undefined;
}

/** Random valid terms, including texts that need escapes (quotes, backslashes) and non-ASCII. */
const textArb = fc
  .string({ unit: fc.constantFrom('a', 'Z', ' ', '"', '\\', 'é', '😀', '/', '\u007e', '<', '}', ',', ':'), minLength: 1, maxLength: 20 })
  .map((s) => s.trim())
  .filter((s) => s.length > 0);
const termsArb = fc
  .record({
    title: textArb,
    issuer: textArb,
    maxUses: fc.integer({ min: 1, max: 1_000_000 }),
    duration: fc.integer({ min: 1, max: 366 * 86400 }),
    endProcesses: fc.boolean(),
    computers: fc.array(textArb.map((s) => s.replace(/^s-1-/i, 'x')), { maxLength: 3 }),
    users: fc.array(textArb.map((s) => s.replace(/^s-1-/i, 'x')), { maxLength: 3 }),
    window: fc.option(fc.tuple(fc.integer({ min: 1_800_000_000, max: 1_900_000_000 }), fc.nat({ max: 1_000_000 })), { nil: undefined }),
    weekdays: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1 }), { nil: undefined }),
    hours: fc.option(fc.constantFrom('08:00-18:00', '22:00-06:00', '00:00-23:59'), { nil: undefined }),
    utcOffsetMinutes: fc.option(fc.integer({ min: -840, max: 840 }), { nil: undefined }),
    groups: fc.constantFrom([], ['S-1-5-32-544'], ['S-1-5-21-1004336348-1177238915-682003330-512', 'S-1-5-32-551']),
    privileges: fc.constantFrom([], ['SeDebugPrivilege'], ['SeBackupPrivilege', 'SeRestorePrivilege']),
    integrity: fc.constantFrom('Medium', 'High', 'System'),
  })
  .map((r) =>
    terms({
      title: r.title,
      issuer: r.issuer,
      maxUses: r.maxUses,
      duration: r.duration,
      endProcesses: r.endProcesses,
      computers: r.computers,
      users: r.users,
      ...(r.window ? { notBefore: new Date(r.window[0] * 1000), notAfter: new Date((r.window[0] + r.window[1]) * 1000) } : {}),
      ...(r.weekdays ? { weekdays: r.weekdays } : {}),
      ...(r.hours ? { hours: r.hours } : {}),
      ...(r.utcOffsetMinutes !== undefined ? { utcOffsetMinutes: r.utcOffsetMinutes } : {}),
      groups: r.groups,
      privileges: r.privileges,
      integrity: r.integrity,
    }),
  );

const significant = [' ', '\n', '"', '\\', ',', ':', '{', '}', '[', ']', '0', '1', '9', '-', '+', '.', 'e', 'E', 'u', 'n', 't', 'f', 'a', 'l', 's', 'x', '\u0000', '\u001f', 'é'];
const editArb = fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.constantFrom(...significant));

function edit(text: string, [at, kind, ch]: [number, 'insert' | 'delete' | 'replace', string]): string {
  const i = at % (text.length + 1);
  if (kind === 'insert') return text.slice(0, i) + ch + text.slice(i);
  if (kind === 'delete') return text.slice(0, i) + text.slice(i + 1);
  return text.slice(0, i) + ch + text.slice(i + 1);
}

describe('canonical terms reader (the fast path) against JSON.parse + termsProblem + serializeTerms', () => {
  it('reads back every canonical text exactly', () => {
    fc.assert(
      fc.property(termsArb, (t) => {
        const text = serializeTerms(t);
        expect(readCanonicalTerms(text)).to.deep.equal(t);
        expect(termsTextProblem(text)).to.equal(undefined);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts exactly what the reference accepts, after random edits (property)', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(termsArb, fc.array(editArb, { minLength: 1, maxLength: 3 }), (t, edits) => {
        const text = edits.reduce(edit, serializeTerms(t));
        const fast = fastAccepts(text);
        const reference = termsTextProblem(text) === undefined;
        expect(fast !== undefined, `fast ${fast !== undefined}, reference ${reference}: ${text}`).to.equal(reference);
        if (fast !== undefined) {
          expect(fast).to.deep.equal(JSON.parse(text));
          accepted++;
        } else refused++;
      }),
      { numRuns: 4000 },
    );
    expect(refused).to.be.above(1000);
    expect(accepted).to.be.above(10); // edits inside strings and numbers can keep a text canonical
  });

  it('refuses non-canonical JSON of valid terms', () => {
    const t = terms({ title: 'say "hi" \\ bye', hours: '08:00-09:00', utcOffsetMinutes: -60, weekdays: [1] });
    const text = serializeTerms(t);
    expect(fastAccepts(text)).to.deep.equal(t);
    const variants = [
      JSON.stringify(t, null, 1),
      ` ${text}`,
      `${text} `,
      text.replace('"maxUses":3', '"maxUses":3.0'),
      text.replace('"maxUses":3', '"maxUses":3e0'),
      text.replace('"maxUses":3', '"maxUses":03'),
      text.replace('"utcOffsetMinutes":-60', '"utcOffsetMinutes":-060'),
      text.replace('"say', '"\\u0073ay'),
      text.replace('\\"hi', '\\u0022hi'),
      text.replace('"maxUses":3', '"maxUses":3,"maxUses":3'),
      text.replace('"v":1,', '').replace('{', '{"v":1,"x":0,'),
      JSON.stringify(Object.fromEntries([['integrity', t.integrity], ...Object.entries(t)])),
      text.replace('"hours":{"from":"08:00","to":"09:00"}', '"hours":{"to":"09:00","from":"08:00"}'),
      text.replace('"weekdays":[1]', '"weekdays":[ 1]'),
      text.slice(0, -1),
      `${text}}`,
      `[${text}]`,
    ];
    for (const v of variants) {
      expect(fastAccepts(v), v).to.equal(undefined);
      expect(termsTextProblem(v), v).to.not.equal(undefined);
    }
  });

  it('refuses -0 and integers beyond 2^53', () => {
    const text = serializeTerms(terms({ utcOffsetMinutes: 0 }));
    expect(fastAccepts(text.replace('"utcOffsetMinutes":0', '"utcOffsetMinutes":-0'))).to.equal(undefined);
    for (const big of ['9007199254740992', '9007199254740993', '12345678901234567']) {
      const v = text.replace(/"iat":\d+/, `"iat":${big}`);
      expect(fastAccepts(v), big).to.equal(undefined);
      expect(termsTextProblem(v), big).to.not.equal(undefined);
    }
    expect(fastAccepts(text.replace(/"iat":\d+/, '"iat":9007199254740991'))?.iat).to.equal(9007199254740991);
  });
});
