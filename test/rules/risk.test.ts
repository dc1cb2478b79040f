/**
 * Issue 12, findings 7, 9 (parent rules) and the last sentence of 6: the risk catalog and
 * the findings of rules (risk.ts), and the engine's parent semantics (engine.ts against
 * linear.ts): a parent condition only restricts, and an unknown parent fails closed.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  baseNames,
  compileRules,
  decide,
  escapeControls,
  findingLine,
  linearDecide,
  lintRules,
  parseRule,
  riskyProgram,
  ruleFindings,
  severityAtLeast,
  type DecisionRequest,
  type Rule,
  type RuleList,
} from '../../src/rules/index.js';

const rule = (name: string, json: object, list: RuleList = 'ElevationRules'): Rule => parseRule(name, JSON.stringify(json), list);
const allow = (path: string, args?: string, extra: object = {}): Rule => rule('r', { action: 'allow', match: { path, ...(args !== undefined ? { args } : {}) }, ...extra });
const deny = (match: object): Rule => rule('d', { action: 'deny', match }, 'BlacklistRules');
const codes = (r: Rule): string[] => ruleFindings(r).map((f) => f.code);

describe('rules: risk catalog and findings (issue 12, finding 7)', () => {
  describe('the catalog finds programs by file name', () => {
    const table: [string, string | undefined][] = [
      ['bash', 'bash'],
      ['python3.11', 'python'],
      ['python3', 'python3'],
      ['perl5.36', 'perl'],
      ['lua5.4', 'lua'],
      ['tclsh8.6', 'tclsh'],
      ['vim.basic', 'vim'],
      ['PowerShell.EXE', 'powershell'],
      ['cmd.exe', 'cmd'],
      ['pwsh.exe', 'pwsh'],
      ['MSHTA.exe', 'mshta'],
      ['rundll32.exe', 'rundll32'],
      ['pip3.11', 'pip'],
      ['node18', 'node'],
      ['ls', undefined],
      ['systemd-resolve', undefined],
      ['backup-tool', undefined],
      ['net.exe', undefined],
    ];
    for (const [file, name] of table) {
      it(`${file} -> ${name ?? 'not catalogued'}`, () => expect(riskyProgram(file)?.name).to.equal(name));
    }
    it('strips .exe, alternative and version suffixes', () => {
      expect(baseNames('Python3.11.EXE')).to.include.members(['python3.11', 'python']);
    });
  });

  describe('allow rules for each class of program', () => {
    const table: [string, Rule, string[]][] = [
      // shells and interpreters: any args wildcard, no args pattern, or no arguments at all
      ['bash, no args pattern', allow('/bin/bash'), ['RISK_SHELL_ESCAPE']],
      ['bash with no arguments ("")', allow('/bin/bash', ''), ['RISK_SHELL_ESCAPE']],
      ['bash running one fixed script', allow('/bin/bash', '/opt/tools/rotate.sh'), []],
      ['perl5.36 with -e *', allow('/usr/bin/perl5.36', '-e *'), ['RISK_SHELL_ESCAPE']],
      ['bash running a script of the working folder', allow('/bin/bash', './rotate.sh'), ['RISK_SHELL_ESCAPE']],
      ['bash with a relative script', allow('/bin/bash', 'rotate.sh'), ['RISK_SHELL_ESCAPE']],
      ['python -c (the working folder is first on sys.path)', allow('/usr/bin/python3', '-c "import json"'), ['RISK_SHELL_ESCAPE']],
      ['python -m module', allow('/usr/bin/python3', '-m http.server'), ['RISK_SHELL_ESCAPE']],
      ['python running an absolute script', allow('/usr/bin/python3', '-u /opt/tools/task.py --daily'), []],
      ['powershell -File with an absolute script', allow('pwsh.exe', '-NoProfile -File C:\\Scripts\\task.ps1'), []],
      ['python3.11 by full path', allow('/usr/bin/python3.11'), ['RISK_SHELL_ESCAPE']],
      // programs that run a command given in their arguments
      ['find, no args pattern', allow('/usr/bin/find'), ['RISK_SHELL_ESCAPE']],
      ['find with a wildcard', allow('/usr/bin/find', '/var/log -name *'), ['RISK_SHELL_ESCAPE']],
      ['find pinned', allow('/usr/bin/find', '/var/log -name old.gz -mtime +30 -delete'), []],
      ['env', allow('env'), ['RISK_SHELL_ESCAPE']],
      ['awk', allow('/usr/bin/awk', '-f /opt/x.awk *'), ['RISK_SHELL_ESCAPE']],
      ['gawk', allow('gawk'), ['RISK_SHELL_ESCAPE']],
      ['tar', allow('/bin/tar', '-czf /backup/home.tgz *'), ['RISK_SHELL_ESCAPE']],
      ['tar pinned', allow('/bin/tar', '-czf /backup/etc.tgz /etc'), []],
      ['xargs', allow('xargs'), ['RISK_SHELL_ESCAPE']],
      ['sudo', allow('/usr/bin/sudo', '-u * *'), ['RISK_SHELL_ESCAPE']],
      ['systemctl restart *', allow('/usr/bin/systemctl', 'restart *'), ['RISK_SHELL_ESCAPE']],
      ['systemctl pinned', allow('/usr/bin/systemctl', 'restart nginx'), []],
      // pagers and editors: always
      ['less, even pinned', allow('/usr/bin/less', '/var/log/syslog'), ['RISK_SHELL_ESCAPE']],
      ['vim, even pinned', allow('/usr/bin/vim.basic', '/etc/hosts'), ['RISK_SHELL_ESCAPE']],
      // write any file
      ['cp', allow('/bin/cp'), ['RISK_WRITE_ANY_FILE']],
      ['chmod with a wildcard', allow('/bin/chmod', '644 *'), ['RISK_WRITE_ANY_FILE']],
      ['tee pinned', allow('/usr/bin/tee', '/etc/motd'), []],
      ['cp from the working folder, pinned as text', allow('/bin/cp', '../motd /etc/motd'), ['RISK_WRITE_ANY_FILE']],
      ['cp pinned with absolute paths', allow('/bin/cp', '/srv/motd /etc/motd'), []],
      // the working folder: always, whatever the arguments
      ['make install', allow('/usr/bin/make', 'install'), ['RISK_WORKING_FOLDER']],
      ['npm', allow('npm', 'ci'), ['RISK_WORKING_FOLDER']],
      ['git pull', allow('/usr/bin/git', 'pull'), ['RISK_WORKING_FOLDER']],
      ['cargo', allow('cargo'), ['RISK_WORKING_FOLDER']],
      // Windows names, any case
      ['cmd.exe', allow('C:\\Windows\\System32\\CMD.EXE', '/c *'), ['RISK_SHELL_ESCAPE']],
      ['PowerShell.exe without arguments', allow('C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\PowerShell.exe', ''), ['RISK_SHELL_ESCAPE']],
      ['mshta', allow('mshta.exe'), ['RISK_SHELL_ESCAPE']],
      ['msiexec /i *', allow('msiexec.exe', '/i *'), ['RISK_SHELL_ESCAPE']],
      ['msbuild', allow('C:\\Tools\\MSBuild.exe', 'build.proj'), ['RISK_WORKING_FOLDER']],
      ['net.exe user * (not catalogued)', allow('net.exe', 'user *'), []],
      // wildcard paths that reach catalogued programs
      ['/usr/bin/*', allow('/usr/bin/*'), ['RISK_WILDCARD_PROGRAM']],
      ['python*', allow('python*'), ['RISK_WILDCARD_PROGRAM']],
      ['C:\\Tools\\*.exe', allow('C:\\Tools\\*.exe'), ['RISK_WILDCARD_PROGRAM']],
      ['*-report (reaches nothing catalogued)', allow('/opt/acme/bin/*-report'), []],
      // rules that name no program
      ['args only', rule('r', { action: 'allow', match: { args: '--version' } }), ['RISK_ANY_PROGRAM']],
      ['publisher only', rule('r', { action: 'allow', match: { publisher: 'Microsoft Windows' } }), ['RISK_PUBLISHER_ONLY']],
      ['hash only', rule('r', { action: 'allow', match: { sha256: 'ab'.repeat(32) } }), []],
    ];
    for (const [what, r, expected] of table) it(what, () => expect(codes(r)).to.deep.equal(expected));

    it('a flagged allow rule is high, with a message naming the program and a suggestion', () => {
      const [f] = ruleFindings(allow('/usr/bin/find'));
      expect(f).to.include({ severity: 'high', code: 'RISK_SHELL_ESCAPE', rule: 'r', list: 'ElevationRules' });
      expect(f?.message).to.match(/find.*-exec/);
      expect(f?.suggestion).to.match(/args pattern without \* or \?/);
    });
  });

  describe('deny rules on argument text (finding 6: usermod -a -G 27 user)', () => {
    it('a deny naming a group in the args of usermod is flagged: the numeric id gets past it', () => {
      const r = deny({ path: '/usr/sbin/usermod', args: '*sudo*' });
      const [f] = ruleFindings(r);
      expect(f).to.include({ severity: 'high', code: 'RISK_DENY_NAME_NOT_ID' });
      expect(f?.message).to.match(/sudo/).and.to.match(/numeric ids/);
      // and indeed the engine lets the numeric spelling through: the honest answer is the finding
      const req: DecisionRequest = { user: 'bob', computer: 'pc', path: '/usr/sbin/usermod', args: '-a -G 27 bob', tseActive: true };
      expect(decide(compileRules([r]), req).decision).to.equal('allow');
    });
    it('a deny on args for any program that names a group is flagged the same way', () => {
      expect(codes(deny({ args: '*sudo*' }))).to.deep.equal(['RISK_DENY_NAME_NOT_ID']);
      expect(codes(deny({ path: '*', args: '-a -G sudo *' }))).to.deep.equal(['RISK_DENY_NAME_NOT_ID']);
    });
    it('other deny rules on args are flagged as bypassable; deny rules without args are not', () => {
      expect(codes(deny({ path: 'C:\\Windows\\System32\\net.exe', args: 'localgroup administrators*' }))).to.deep.equal(['RISK_DENY_ARGS']);
      expect(codes(deny({ path: '/usr/sbin/usermod', args: '-G 27*' }))).to.deep.equal(['RISK_DENY_ARGS']);
      expect(codes(deny({ path: '/usr/bin/sudo' }))).to.deep.equal([]);
      expect(ruleFindings(deny({ path: 'net.exe', args: 'user *' }))[0]?.severity).to.equal('medium');
    });
  });

  describe('parent conditions', () => {
    it('an allow rule with a parent is flagged: it allows nothing on its own', () => {
      const bare = rule('p', { action: 'allow', match: { parent: '/usr/bin/launcher' } });
      expect(ruleFindings(bare).map((f) => [f.code, f.severity])).to.deep.equal([['RULE_PARENT_NEVER_ALLOWS', 'medium']]);
      const withMfa = rule('p', { action: 'allow', match: { path: '/usr/bin/tool', parent: '/usr/bin/launcher' }, controls: ['mfa'] });
      expect(ruleFindings(withMfa).map((f) => [f.code, f.severity])).to.deep.equal([['RULE_PARENT_NEVER_ALLOWS', 'low']]);
    });
  });

  describe('lintRules, severities and lines', () => {
    it('most severe first, invalid stored values as RULE_INVALID', () => {
      const rs = [deny({ path: 'net.exe', args: 'user *' }), allow('/usr/bin/find'), rule('ok', { action: 'allow', match: { path: '/opt/x/tool' } })];
      const all = lintRules(rs, [{ name: 'bad', list: 'BlacklistRules', message: 'not JSON' }]);
      expect(all.map((f) => [f.code, f.severity])).to.deep.equal([
        ['RULE_INVALID', 'high'],
        ['RISK_SHELL_ESCAPE', 'high'],
        ['RISK_DENY_ARGS', 'medium'],
      ]);
    });
    it('severityAtLeast', () => {
      expect(severityAtLeast('high', 'medium')).to.equal(true);
      expect(severityAtLeast('low', 'medium')).to.equal(false);
      expect(severityAtLeast('medium', 'medium')).to.equal(true);
    });
    it('a finding line never holds a raw control character', () => {
      const f = { ...ruleFindings(allow('/usr/bin/find'))[0]!, source: 'x\n\u001b[31mfake\u2028line' };
      const line = findingLine(f);
      expect(line).to.not.match(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      expect(line).to.include('\\u000a').and.to.include('\\u001b');
      expect(escapeControls('a\u0085b')).to.equal('a\\u0085b');
    });
  });
});

describe('rules: parent conditions only restrict (issue 12, finding 9)', () => {
  const base: DecisionRequest = { user: 'bob', computer: 'pc', path: '/usr/bin/tool', parentPath: '/usr/bin/launcher' };
  const both = (rules: Rule[], req: DecisionRequest) => {
    const d = decide(compileRules(rules), req);
    expect(linearDecide(rules, req), 'linearDecide agrees').to.deep.equal(d);
    return d;
  };
  const fromLauncher = rule('from-launcher', { action: 'allow', match: { path: '/usr/bin/tool', parent: '/usr/bin/launcher' } });
  const mfaFromLauncher = rule('mfa-from-launcher', { action: 'allow', match: { path: '/usr/bin/tool', parent: '/usr/bin/launcher' }, controls: ['mfa'] });
  const plain = rule('tool', { action: 'allow', match: { path: '/usr/bin/tool' }, controls: ['justify'] });
  const noShellFromTool = rule('no-shell-from-tool', { action: 'deny', match: { path: '/bin/bash', parent: '/usr/bin/tool' } }, 'BlacklistRules');

  it('an allow rule with a parent condition alone allows nothing', () => {
    expect(both([fromLauncher], base)).to.deep.equal({ decision: 'not-elevated', controls: [], matchedRules: [], reason: 'no-match' });
    expect(both([mfaFromLauncher], base).decision).to.equal('not-elevated');
  });

  it('with an allow from another rule, its controls stack on', () => {
    expect(both([plain, mfaFromLauncher], base)).to.deep.equal({ decision: 'allow', controls: ['justify', 'mfa'], matchedRules: ['mfa-from-launcher', 'tool'], reason: 'allow-rule' });
    // another parent: only the plain rule
    expect(both([plain, mfaFromLauncher], { ...base, parentPath: '/usr/bin/other' })).to.deep.equal({ decision: 'allow', controls: ['justify'], matchedRules: ['tool'], reason: 'allow-rule' });
  });

  it('an unknown parent meets every parent condition: the deny denies, the controls apply', () => {
    const unknown: DecisionRequest = { user: 'bob', computer: 'pc', path: '/bin/bash' };
    expect(both([noShellFromTool], unknown)).to.deep.equal({ decision: 'deny', controls: [], matchedRules: ['no-shell-from-tool'], reason: 'deny-rule' });
    expect(both([noShellFromTool], { ...unknown, parentPath: '' }).decision).to.equal('deny');
    expect(both([noShellFromTool], { ...unknown, tseActive: true }).decision).to.equal('deny');
    expect(both([noShellFromTool], { ...unknown, parentPath: '/usr/bin/other', tseActive: true }).reason).to.equal('tse');
    const { parentPath: _p, ...noParent } = base;
    expect(both([plain, mfaFromLauncher], noParent).controls).to.deep.equal(['justify', 'mfa']);
  });

  it('a deny rule with a parent condition denies as before', () => {
    expect(both([noShellFromTool, rule('bash', { action: 'allow', match: { path: '/bin/bash' } })], { ...base, path: '/bin/bash', parentPath: '/usr/bin/tool' }).decision).to.equal('deny');
  });
});

describe('rules: parent conditions only restrict (property)', () => {
  const paths = fc.constantFrom('/usr/bin/tool', '/bin/bash', '/usr/bin/launcher', '/usr/bin/other');
  const patterns = fc.constantFrom('/usr/bin/tool', '/bin/bash', 'launcher', '/usr/bin/*', '*', 'oth?r');
  const ruleArb = fc
    .record({
      deny: fc.boolean(),
      path: fc.option(patterns, { nil: undefined }),
      parent: fc.option(patterns, { nil: undefined }),
      args: fc.option(fc.constantFrom('', 'x', '*'), { nil: undefined }),
      controls: fc.subarray(['mfa', 'justify', 'approval']),
    })
    .filter((r) => r.path !== undefined || r.parent !== undefined || r.args !== undefined);
  const rulesArb = fc.array(ruleArb, { maxLength: 8 }).map((xs) =>
    xs.map((x, i) =>
      rule(`r${i}`, {
        action: x.deny ? 'deny' : 'allow',
        match: { ...(x.path !== undefined ? { path: x.path } : {}), ...(x.parent !== undefined ? { parent: x.parent } : {}), ...(x.args !== undefined ? { args: x.args } : {}) },
        ...(x.deny ? {} : { controls: x.controls }),
      }),
    ),
  );
  const requestArb = fc.record({ path: paths, parentPath: paths, args: fc.constantFrom('', 'x', 'y z'), tseActive: fc.boolean() });

  it('allow rules with a parent never change the decision, only add controls; an unknown parent denies whenever a known one does', () => {
    fc.assert(
      fc.property(rulesArb, requestArb, (rules, q) => {
        const req: DecisionRequest = { user: 'bob', computer: 'pc', ...q };
        const { parentPath: _known, ...unknownReq } = req;
        const withParentAllows = decide(compileRules(rules), req);
        const without = decide(compileRules(rules.filter((r) => r.action === 'deny' || r.match.parent === undefined)), req);
        expect(withParentAllows.decision).to.equal(without.decision);
        expect(withParentAllows.controls).to.include.members(without.controls);
        const unknown = decide(compileRules(rules), unknownReq);
        expect(linearDecide(rules, unknownReq)).to.deep.equal(unknown);
        if (withParentAllows.decision === 'deny') expect(unknown.decision).to.equal('deny');
        if (withParentAllows.decision === 'allow' && unknown.decision === 'allow') expect(unknown.controls).to.include.members(withParentAllows.controls);
      }),
      { numRuns: 600 },
    );
  });
});
