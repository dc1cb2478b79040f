/**
 * compileRules + decide against the oracle linearDecide on random rule sets and requests,
 * drawn from small alphabets so that rules and requests collide often (exact names,
 * folder wildcards, name prefixes and suffixes, hashes, publishers, args, targets).
 * Also the two wildcard matchers against each other.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { compileRules, compileWildcard, decide, linearDecide, matchWildcard, normalizeArgs, parseRule, plainWildcard, type DecisionRequest, type Rule } from '../../src/rules/index.js';
import { normalizeArgsByTokens } from '../../src/rules/normalize.js';

const letters = fc.constantFrom('a', 'b', 'A', '.', '\\', '*', '?', 'é', '😀');
const text = fc.array(fc.constantFrom('a', 'b', 'A', '.', '\\', 'é', '😀'), { maxLength: 8 }).map((xs) => xs.join(''));
const patternText = fc.array(letters, { maxLength: 8 }).map((xs) => xs.join(''));

const seg = fc.constantFrom('C:', 'c:', 'Tools', 'tools', 'Win', 'sub', 'a.exe', 'A.EXE', 'b.exe', 'net.exe', 'setup-1.msi');
const patSeg = fc.constantFrom('C:', 'Tools', 'Win', 'sub', 'a.exe', 'b.exe', 'net.exe', '*', '*.exe', 'a*', '?.exe', 'setup-?.msi', 's*', '*1.msi', '..', '');
const pathPattern = fc.oneof(
  fc.array(patSeg, { minLength: 1, maxLength: 4 }).map((xs) => xs.join('\\')),
  fc.array(patSeg, { minLength: 1, maxLength: 3 }).map((xs) => xs.join('/')),
  patSeg.filter((s) => s !== ''),
);
const requestPath = fc.array(seg, { minLength: 1, maxLength: 4 }).map((xs) => xs.join('\\'));
const hash = fc.constantFrom('a'.repeat(64), 'B'.repeat(64), 'c'.repeat(64));
const publisher = fc.constantFrom('Contoso', 'contoso ltd', 'Fabrikam');
const pubPattern = fc.constantFrom('Contoso', 'contoso*', '*ltd', 'Fab?ikam', '*');
const argsText = fc.constantFrom('', 'user bob', 'USER  "bob"', 'localgroup administrators x', 'localgroup users', '/s');
const argsPattern = fc.constantFrom('', 'user *', 'localgroup administrators*', '*', '/?', 'user bob');
const users = fc.constantFrom('CORP\\bob', 'bob', 'alice', 'OTHER\\bob', 'S-1-5-21-1-2-3-500', 'bob@corp.example');
const groups = fc.constantFrom('CORP\\Helpdesk', 'Helpdesk', 'S-1-5-32-544', 'Staff');
const computers = fc.constantFrom('PC-1', 'pc-2', 'PC-1.corp.example', 'SRV', 'CORP\\PC-1$');
const computerPatterns = fc.constantFrom('PC-?', 'pc-*', '*.corp.example', 'SRV', 'PC-1.corp.example', '*');
const collections = fc.constantFrom('Lab', 'lab', 'Office');
const controls = fc.subarray(['mfa', 'justify', 'approval']);

const ruleJson = fc.record(
  {
    action: fc.constantFrom('allow', 'deny'),
    match: fc
      .record({ path: pathPattern, sha256: hash, publisher: pubPattern, args: argsPattern, parent: pathPattern }, { requiredKeys: [] })
      .filter((m) => Object.keys(m).length > 0),
    target: fc.record(
      {
        users: fc.array(users, { maxLength: 2 }),
        groups: fc.array(groups, { maxLength: 2 }),
        computers: fc.array(computerPatterns, { maxLength: 2 }),
        collections: fc.array(collections, { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
    controls,
  },
  { requiredKeys: ['action', 'match'] },
);

const rules = fc.array(fc.tuple(ruleJson, fc.boolean()), { maxLength: 25 }).map((xs) =>
  xs
    .map(([json, blacklist], i): Rule | undefined => {
      const j: Record<string, unknown> = { ...json };
      if (j.action === 'deny') delete j.controls;
      try {
        return parseRule(`r${i % 7}`, JSON.stringify(j), blacklist && j.action === 'deny' ? 'BlacklistRules' : 'ElevationRules');
      } catch {
        return undefined; // e.g. an empty pattern: refused by the parser, not a rule
      }
    })
    .filter((r): r is Rule => r !== undefined),
);

const request: fc.Arbitrary<DecisionRequest> = fc.record(
  {
    user: users,
    userSid: fc.constant('S-1-5-21-1-2-3-500'),
    groups: fc.array(groups, { maxLength: 2 }),
    computer: computers,
    collections: fc.array(collections, { maxLength: 2 }),
    path: requestPath,
    args: argsText,
    sha256: hash,
    publisher,
    parentPath: requestPath,
    tseActive: fc.boolean(),
  },
  { requiredKeys: ['user', 'computer', 'path'] },
);

describe('rules: compileRules + decide equals linearDecide (property)', () => {
  it('on random rule sets and requests', () => {
    fc.assert(
      fc.property(rules, fc.array(request, { minLength: 1, maxLength: 8 }), (rs, reqs) => {
        const index = compileRules(rs);
        for (const req of reqs) expect(decide(index, req)).to.deep.equal(linearDecide(rs, req));
      }),
      { numRuns: 1500 },
    );
  });

  it('the piece matcher and the dynamic programme agree on every pattern', () => {
    fc.assert(
      fc.property(patternText, text, (p, v) => {
        const pl = p.toLowerCase();
        const vl = v.toLowerCase();
        expect(matchWildcard(compileWildcard(pl), vl), `${JSON.stringify(pl)} ~ ${JSON.stringify(vl)}`).to.equal(plainWildcard(pl, vl));
      }),
      { numRuns: 20000 },
    );
  });

  it('on command-line rules: argument keys, long and astral command lines', () => {
    // Tokens long enough that keys cross ARGS_KEY (64), with wildcards, quotes and astral text.
    const token = fc.constantFrom('user', 'USER', 'bob', 'x', '😀', 'é', '/add', 'y'.repeat(30), 'z'.repeat(70), '"a b"');
    const patToken = fc.oneof(token, fc.constantFrom('*', 'b?b', 'us*', '?', '😀*'));
    const sep = fc.constantFrom(' ', ' ', ' ', '  ', '\t');
    const joined = (t: fc.Arbitrary<string>) =>
      fc.array(fc.tuple(t, sep), { minLength: 1, maxLength: 5 }).map((xs) => xs.map(([a, b], i) => (i === xs.length - 1 ? a : a + b)).join(''));
    const cmdRule = fc.record({
      action: fc.constantFrom('allow', 'deny'),
      path: fc.constantFrom('net.exe', 'C:\\Windows\\net.exe', '*.exe', 'C:\\Windows\\*'),
      args: joined(patToken),
      users: fc.array(users, { maxLength: 1 }),
    });
    const cmdRules = fc.array(cmdRule, { maxLength: 30 }).map((xs) =>
      xs.flatMap((x, i): Rule[] => {
        const json = { action: x.action, match: { path: x.path, args: x.args }, ...(x.users.length ? { target: { users: x.users } } : {}) };
        try {
          return [parseRule(`c${i % 9}`, JSON.stringify(json), 'ElevationRules')];
        } catch {
          return [];
        }
      }),
    );
    const cmdRequest = fc.record({
      user: users,
      computer: computers,
      path: fc.constantFrom('C:\\Windows\\net.exe', 'D:\\net.exe', 'C:\\Windows\\sc.exe'),
      args: joined(token),
    });
    fc.assert(
      fc.property(cmdRules, fc.array(cmdRequest, { minLength: 1, maxLength: 8 }), (rs, reqs) => {
        const index = compileRules(rs);
        for (const req of reqs) expect(decide(index, req)).to.deep.equal(linearDecide(rs, req));
      }),
      { numRuns: 1500 },
    );
  });

  it('normalizeArgs (with its shortcut) equals the full command-line split', () => {
    const ch = fc.constantFrom('a', 'B', ' ', ' ', '\t', '\n', '\r', '"', '\\', '*', '😀');
    fc.assert(
      fc.property(fc.array(ch, { maxLength: 12 }).map((xs) => xs.join('')), (x) => {
        expect(normalizeArgs(x), JSON.stringify(x)).to.equal(normalizeArgsByTokens(x));
      }),
      { numRuns: 20000 },
    );
  });
});
