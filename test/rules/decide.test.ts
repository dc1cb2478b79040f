import { expect } from 'chai';
import {
  compileRules,
  decide,
  linearDecide,
  parseRule,
  rulesFromSources,
  type DecisionRequest,
  type Rule,
  type RuleList,
} from '../../src/rules/index.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';

const rule = (name: string, json: object, list: RuleList = 'ElevationRules'): Rule => parseRule(name, JSON.stringify(json), list);

/** Decides with the index and checks the oracle agrees. */
function both(rules: Rule[], req: DecisionRequest) {
  const d = decide(compileRules(rules), req);
  expect(linearDecide(rules, req), 'linearDecide agrees').to.deep.equal(d);
  return d;
}

const NET = 'C:\\Windows\\System32\\net.exe';
const base: DecisionRequest = { user: 'CORP\\bob', computer: 'PC-042', path: NET };

describe('rules: decisions', () => {
  describe('command-line granularity (net.exe user allowed, localgroup administrators denied)', () => {
    const rules = [
      rule('net-user', { action: 'allow', match: { path: 'net.exe', args: 'user *' } }),
      rule('net-admins', { action: 'deny', match: { path: NET, args: 'localgroup administrators*' } }, 'BlacklistRules'),
    ];
    const table: [string | undefined, string, string[]][] = [
      ['user bob P@ss /add', 'allow', ['net-user']],
      ['USER alice', 'allow', ['net-user']],
      ['localgroup administrators bob /add', 'deny', ['net-admins']],
      ['LocalGroup  "Administrators"   bob /add', 'deny', ['net-admins']], // blanks and quotes cannot slip past
      ['localgroup administrators', 'deny', ['net-admins']],
      ['localgroup users bob /add', 'not-elevated', []],
      ['user', 'not-elevated', []], // "user *" needs something after "user "
      [undefined, 'not-elevated', []],
      ['share', 'not-elevated', []],
    ];
    for (const [args, decision, matched] of table) {
      it(`net.exe ${args ?? '(no arguments)'} -> ${decision}`, () => {
        const d = both(rules, { ...base, ...(args !== undefined ? { args } : {}) });
        expect(d.decision).to.equal(decision);
        expect(d.matchedRules).to.deep.equal(matched);
      });
    }
    it('matches the program by file name anywhere, and by full path only there', () => {
      expect(both(rules, { ...base, path: 'D:\\copy\\NET.EXE', args: 'user x' }).decision).to.equal('allow');
      expect(both(rules, { ...base, path: 'D:\\copy\\net.exe', args: 'localgroup administrators x' }).decision).to.equal('not-elevated');
      expect(both(rules, { ...base, path: 'c:/windows//system32/../System32/NET.exe', args: 'localgroup administrators x' }).decision).to.equal('deny');
    });
  });

  describe('controls stack across policies', () => {
    // One GPO requires MFA for the tool, another requires APPROVAL for it: both are required.
    const pol = (name: string, json: object) => encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', { Rules: [{ name, value: JSON.stringify(json) }] });
    const loaded = rulesFromSources([
      { source: 'domain.pol', entries: pol('tool-mfa', { action: 'allow', match: { path: 'C:\\Tools\\tool.exe' }, controls: ['mfa'] }) },
      { source: 'ou.pol', entries: pol('tool-approval', { action: 'allow', match: { path: 'tool.exe' }, target: { groups: ['CORP\\Helpdesk'] }, controls: ['approval', 'justify'] }) },
    ]);

    it('loads the rules of both files', () => {
      expect(loaded.problems).to.deep.equal([]);
      expect(loaded.rules.map((r) => [r.name, r.source])).to.deep.equal([
        ['tool-mfa', 'domain.pol'],
        ['tool-approval', 'ou.pol'],
      ]);
    });
    it('MFA from one policy and APPROVAL from another are both required', () => {
      const d = both(loaded.rules, { ...base, path: 'C:\\Tools\\tool.exe', groups: ['CORP\\Helpdesk'] });
      expect(d).to.deep.equal({ decision: 'allow', controls: ['approval', 'justify', 'mfa'], matchedRules: ['tool-approval', 'tool-mfa'], reason: 'allow-rule' });
    });
    it('only the controls of the rules that match', () => {
      const d = both(loaded.rules, { ...base, path: 'C:\\Tools\\tool.exe', groups: ['CORP\\Sales'] });
      expect(d).to.deep.equal({ decision: 'allow', controls: ['mfa'], matchedRules: ['tool-mfa'], reason: 'allow-rule' });
    });
  });

  describe('deny beats allow and TSE', () => {
    const rules = [
      rule('allow-all-tools', { action: 'allow', match: { path: 'C:\\Tools\\*' }, controls: ['mfa'] }),
      rule('no-psexec', { match: { path: '*\\psexec*.exe' } }, 'BlacklistRules'),
      rule('deny-in-elevation-list', { action: 'deny', match: { path: 'C:\\Tools\\regedit.exe' } }),
    ];
    it('a blacklist rule beats an allow rule', () => {
      expect(both(rules, { ...base, path: 'C:\\Tools\\PsExec64.exe' })).to.deep.equal({ decision: 'deny', controls: [], matchedRules: ['no-psexec'], reason: 'deny-rule' });
    });
    it('a blacklist rule beats an active TSE session', () => {
      expect(both(rules, { ...base, path: 'E:\\x\\psexec.exe', tseActive: true })).to.deep.equal({ decision: 'deny', controls: [], matchedRules: ['no-psexec'], reason: 'deny-rule' });
    });
    it('a deny rule in ElevationRules denies too', () => {
      expect(both(rules, { ...base, path: 'C:\\Tools\\regedit.exe', tseActive: true }).decision).to.equal('deny');
    });
    it('TSE allows what no rule matches, with reason "tse" and no controls', () => {
      expect(both(rules, { ...base, path: 'C:\\Windows\\notepad.exe', tseActive: true })).to.deep.equal({ decision: 'allow', controls: [], matchedRules: [], reason: 'tse' });
    });
    it('TSE allows a program an allow rule matches without its controls, naming the rule', () => {
      expect(both(rules, { ...base, path: 'C:\\Tools\\x.exe', tseActive: true })).to.deep.equal({ decision: 'allow', controls: [], matchedRules: ['allow-all-tools'], reason: 'tse' });
    });
    it('without a match and without TSE: not-elevated', () => {
      expect(both(rules, { ...base, path: 'C:\\Windows\\notepad.exe' })).to.deep.equal({ decision: 'not-elevated', controls: [], matchedRules: [], reason: 'no-match' });
    });
    it('no rules at all', () => {
      expect(both([], base).decision).to.equal('not-elevated');
      expect(both([], { ...base, tseActive: true }).reason).to.equal('tse');
    });
  });

  describe('wildcards are literal apart from * and ?', () => {
    const rules = [
      rule('parens', { action: 'allow', match: { path: 'C:\\App (x86)\\a+b[1].exe' } }),
      rule('dots', { action: 'allow', match: { path: 'C:\\v1.2\\*.exe' } }),
      rule('q', { action: 'allow', match: { path: 'setup-?.msi' } }),
      rule('regexish', { action: 'allow', match: { path: '.*' } }),
    ];
    const table: [string, string[]][] = [
      ['C:\\App (x86)\\a+b[1].exe', ['parens']],
      ['C:\\App (x86)\\aab1.exe', []],
      ['C:\\App x86\\a+b[1].exe', []],
      ['C:\\v1.2\\tool.exe', ['dots']],
      ['C:\\v1x2\\tool.exe', []],
      ['C:\\dl\\setup-1.msi', ['q']],
      ['C:\\dl\\setup-12.msi', []],
      ['C:\\dl\\setup-.msi', []],
      ['C:\\dl\\anything.exe', []], // ".*" is a dot and a star: names that start with a dot
      ['C:\\dl\\.hidden', ['regexish']],
    ];
    for (const [path, matched] of table) {
      it(`${path} -> ${matched.join(', ') || 'nothing'}`, () => expect(both(rules, { ...base, path }).matchedRules).to.deep.equal(matched));
    }
    // How fast, and that the time grows linearly with the path, is bench/patterns.bench.ts.
    it('a pathological pattern answers (a backtracking matcher would not finish)', () => {
      const r = [rule('slow?', { action: 'allow', match: { path: `${'*a'.repeat(30)}*b` } })];
      expect(decide(compileRules(r), { ...base, path: 'a'.repeat(5000) }).decision).to.equal('not-elevated');
      expect(decide(compileRules(r), { ...base, path: `${'a'.repeat(5000)}b` }).matchedRules).to.deep.equal(['slow?']);
    });
  });

  describe('case-insensitivity', () => {
    const rules = [
      rule('mixed', { action: 'allow', match: { path: 'C:\\Program Files\\Vendor\\App.EXE', publisher: 'Vendor Inc.' }, target: { users: ['Corp\\Bob'], computers: ['Pc-0*'] } }),
    ];
    it('paths, publishers, users and computers compare ignoring case', () => {
      expect(both(rules, { user: 'CORP\\BOB', computer: 'pc-042', path: 'c:\\PROGRAM FILES\\vendor\\app.exe', publisher: 'VENDOR INC.' }).decision).to.equal('allow');
    });
    it('a publisher rule needs a signed program', () => {
      expect(both(rules, { user: 'CORP\\BOB', computer: 'pc-042', path: 'c:\\PROGRAM FILES\\vendor\\app.exe' }).decision).to.equal('not-elevated');
    });
  });

  describe('targets', () => {
    const SID = 'S-1-5-21-1004336348-1177238915-682003330-1131';
    const HELPDESK = 'S-1-5-21-1004336348-1177238915-682003330-4201';
    const rules = [
      rule('by-sid', { action: 'allow', match: { path: 'a.exe' }, target: { users: [SID] } }),
      rule('by-name', { action: 'allow', match: { path: 'b.exe' }, target: { users: ['CORP\\bob'] } }),
      rule('bare-name', { action: 'allow', match: { path: 'c.exe' }, target: { users: ['bob'] } }),
      rule('group-sid', { action: 'allow', match: { path: 'd.exe' }, target: { groups: [HELPDESK] } }),
      rule('group-name', { action: 'allow', match: { path: 'e.exe' }, target: { groups: ['Helpdesk'] } }),
      rule('user-or-group', { action: 'allow', match: { path: 'f.exe' }, target: { users: ['CORP\\alice'], groups: ['CORP\\Helpdesk'] } }),
      rule('pcs', { action: 'allow', match: { path: 'g.exe' }, target: { computers: ['PC-0??', 'srv-*.corp.example.test'] } }),
      rule('pcs-or-lab', { action: 'allow', match: { path: 'h.exe' }, target: { computers: ['PC-9*'], collections: ['Lab Machines'] } }),
      rule('who-and-where', { action: 'allow', match: { path: 'i.exe' }, target: { users: ['bob'], computers: ['PC-042'] } }),
    ];
    const ok = (path: string, req: Partial<DecisionRequest>) => both(rules, { ...base, path: `C:\\x\\${path}`, ...req }).decision === 'allow';

    it('a user by SID matches the user SID, or a SID given as the user', () => {
      expect(ok('a.exe', { userSid: SID })).to.equal(true);
      expect(ok('a.exe', { user: SID.toLowerCase() })).to.equal(true);
      expect(ok('a.exe', {})).to.equal(false);
      expect(ok('a.exe', { groups: [SID] }), 'a group SID is not the user').to.equal(false);
    });
    it('a user by DOMAIN\\name needs that domain; a bare name matches any domain', () => {
      expect(ok('b.exe', { user: 'corp\\Bob' })).to.equal(true);
      expect(ok('b.exe', { user: 'OTHER\\bob' })).to.equal(false);
      expect(ok('b.exe', { user: 'bob' })).to.equal(false);
      expect(ok('c.exe', { user: 'OTHER\\bob' })).to.equal(true);
      expect(ok('c.exe', { user: 'bob@corp.example.test' })).to.equal(true);
      expect(ok('c.exe', { user: 'bobby' })).to.equal(false);
    });
    it('groups by SID or by name', () => {
      expect(ok('d.exe', { groups: ['S-1-5-32-545', HELPDESK] })).to.equal(true);
      expect(ok('d.exe', { groups: ['CORP\\Helpdesk'] })).to.equal(false);
      expect(ok('e.exe', { groups: ['CORP\\HELPDESK'] })).to.equal(true);
      expect(ok('e.exe', { user: 'CORP\\helpdesk' }), 'a user is not a group').to.equal(false);
    });
    it('users and groups of one rule: either', () => {
      expect(ok('f.exe', { user: 'CORP\\alice' })).to.equal(true);
      expect(ok('f.exe', { groups: ['CORP\\Helpdesk'] })).to.equal(true);
      expect(ok('f.exe', {})).to.equal(false);
    });
    it('computer wildcards, against the host name or the full DNS name', () => {
      expect(ok('g.exe', { computer: 'PC-042' })).to.equal(true);
      expect(ok('g.exe', { computer: 'pc-042.corp.example.test' })).to.equal(true);
      expect(ok('g.exe', { computer: 'CORP\\PC-042$' })).to.equal(true);
      expect(ok('g.exe', { computer: 'PC-0420' })).to.equal(false);
      expect(ok('g.exe', { computer: 'srv-db1.corp.example.test' })).to.equal(true);
      expect(ok('g.exe', { computer: 'srv-db1' })).to.equal(false);
    });
    it('collections are names the request says the computer is in', () => {
      expect(ok('h.exe', { computer: 'PC-901' })).to.equal(true);
      expect(ok('h.exe', { computer: 'WS-1', collections: ['lab machines'] })).to.equal(true);
      expect(ok('h.exe', { computer: 'WS-1', collections: ['Office'] })).to.equal(false);
    });
    it('who and where must both match', () => {
      expect(ok('i.exe', { user: 'bob', computer: 'PC-042' })).to.equal(true);
      expect(ok('i.exe', { user: 'bob', computer: 'PC-043' })).to.equal(false);
      expect(ok('i.exe', { user: 'eve', computer: 'PC-042' })).to.equal(false);
    });
  });

  describe('hash, publisher and parent matchers', () => {
    const H = 'ab'.repeat(32);
    const rules = [
      rule('hash', { action: 'allow', match: { sha256: H.toUpperCase() } }),
      rule('hash-and-path', { action: 'allow', match: { sha256: 'cd'.repeat(32), path: 'x.exe' }, controls: ['justify'] }),
      rule('signed', { action: 'allow', match: { publisher: 'Contoso *' } }),
      rule('from-explorer', { action: 'allow', match: { path: 'y.exe', parent: 'C:\\Windows\\explorer.exe' } }),
      rule('no-office-children', { match: { parent: 'winword.exe', path: '*\\cmd.exe' } }, 'BlacklistRules'),
    ];
    it('a hash matches whatever the path', () => {
      expect(both(rules, { ...base, path: 'D:\\any\\thing.exe', sha256: H }).matchedRules).to.deep.equal(['hash']);
      expect(both(rules, { ...base, path: 'D:\\any\\thing.exe', sha256: 'cd'.repeat(32) }).matchedRules).to.deep.equal([]);
      expect(both(rules, { ...base, path: 'D:\\any\\x.exe', sha256: 'CD'.repeat(32) }).matchedRules).to.deep.equal(['hash-and-path']);
    });
    it('publisher patterns', () => {
      expect(both(rules, { ...base, path: 'D:\\a.exe', publisher: 'Contoso Ltd' }).matchedRules).to.deep.equal(['signed']);
      expect(both(rules, { ...base, path: 'D:\\a.exe', publisher: 'Contoso' }).matchedRules).to.deep.equal([]);
    });
    it('parent process paths (a parent condition only restricts: see test/rules/risk.test.ts)', () => {
      // An allow rule with a parent condition grants nothing on its own (the parent runs as the user).
      expect(both(rules, { ...base, path: 'D:\\y.exe', parentPath: 'c:\\windows\\EXPLORER.EXE' }).decision).to.equal('not-elevated');
      expect(both(rules, { ...base, path: 'D:\\y.exe' }).decision).to.equal('not-elevated');
      // An unknown parent meets the deny rule's parent condition (fail closed).
      expect(both(rules, { ...base, path: 'C:\\Windows\\System32\\cmd.exe' }).decision).to.equal('deny');
      expect(both(rules, { ...base, path: 'C:\\Windows\\System32\\cmd.exe', parentPath: 'C:\\Windows\\explorer.exe' }).decision).to.equal('not-elevated');
      expect(both(rules, { ...base, path: 'C:\\Windows\\System32\\cmd.exe', parentPath: 'C:\\Office\\WINWORD.EXE', tseActive: true }).decision).to.equal('deny');
    });
  });
});
