/**
 * `ascend rules add|list|remove|test` run as a user runs them (the built bin/run.js as a
 * child process) against temporary Registry.pol files, and with --gpo / --rsop-computer
 * against the real Samba DC of the test run (test/support/samba-dc.ts).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { requireTestDc, sambaTool, sambaToolOk, type TestDc } from '../support/samba-dc.js';
import { ascend, cliEnv, expectOneLineError, requireBuiltCli, type Run } from '../passcode-cli/support.js';

const NET = 'C:\\Windows\\System32\\net.exe';

describe('ascend rules (CLI) on Registry.pol files', function () {
  this.timeout(120_000);
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]): Run => ascend(args, env, tmp);
  const ok = (...args: string[]): Run => {
    const r = run(...args);
    expect(r.status, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).to.equal(0);
    return r;
  };
  const decision = (pols: string[], ...req: string[]): any => ok('rules', 'test', ...pols.flatMap((p) => ['--policy', p]), '--user', 'CORP\\bob', '--computer', 'PC-042', ...req, '--json').json;

  before(() => requireBuiltCli());
  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-rules-cli-'));
    env = cliEnv(tmp);
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('add, list, test and remove round trip', () => {
    const add = ok('rules', 'add', '--policy', 'a.pol', '--name', 'net-user', '--action', 'allow', '--path', 'net.exe', '--args', 'user *', '--group', 'CORP\\Helpdesk', '--control', 'mfa', '--json');
    expect(add.json).to.deep.include({ target: 'file a.pol', policy: 'ElevationRules', stateBefore: 'not-configured' });
    expect(JSON.parse(add.json.value)).to.deep.equal({ action: 'allow', match: { path: 'net.exe', args: 'user *' }, target: { groups: ['CORP\\Helpdesk'] }, controls: ['mfa'] });
    const deny = ok('rules', 'add', '--policy', 'a.pol', '--name', 'net-admins', '--action', 'deny', '--path', NET, '--args', 'localgroup administrators*', '--json');
    expect(deny.json.policy).to.equal('BlacklistRules');

    // The rules are list values of the two policies, as "pol effective" reads them.
    const eff = ok('pol', 'effective', 'a.pol', '--json').json.policies;
    const values = (id: string) => eff.find((p: any) => p.id === id);
    expect(values('ElevationRules').state).to.equal('enabled');
    expect(values('ElevationRules').values.Rules.map((v: any) => v.name)).to.deep.equal(['net-user']);
    expect(values('BlacklistRules').values.Rules.map((v: any) => v.name)).to.deep.equal(['net-admins']);

    const list = ok('rules', 'list', '--policy', 'a.pol', '--json').json;
    expect(list.rules.map((r: any) => [r.name, r.list, r.action, r.source])).to.deep.equal([
      ['net-user', 'ElevationRules', 'allow', 'a.pol'],
      ['net-admins', 'BlacklistRules', 'deny', 'a.pol'],
    ]);
    expect(list.problems).to.deep.equal([]);
    const text = ok('rules', 'list', '--policy', 'a.pol').stdout;
    expect(text).to.match(/NAME\s+ACTION\s+MATCH/).and.to.match(/net-admins\s+deny/);

    expect(decision(['a.pol'], '--app', NET, '--args', 'user alice /add', '--group', 'corp\\helpdesk')).to.deep.equal({ decision: 'allow', controls: ['mfa'], matchedRules: ['net-user'], reason: 'allow-rule' });
    const denied = decision(['a.pol'], '--app', NET, '--args', 'localgroup Administrators alice /add', '--group', 'CORP\\Helpdesk');
    expect(denied).to.deep.include({ decision: 'deny', controls: [], matchedRules: ['net-admins'], reason: 'deny-rule' });
    expect(denied.findings.map((f: any) => f.code), 'a deny on argument text is flagged (test/cli/rules-lint.test.ts)').to.deep.equal(['RISK_DENY_ARGS']);
    expect(decision(['a.pol'], '--app', NET, '--args', 'user alice', '--group', 'CORP\\Sales')).to.deep.equal({ decision: 'not-elevated', controls: [], matchedRules: [], reason: 'no-match' });
    const human = ok('rules', 'test', '--policy', 'a.pol', '--user', 'bob', '--computer', 'PC-1', '--app', NET, '--args', 'localgroup administrators x');
    expect(human.stdout).to.match(/^DENY: denied by net-admins/);

    const removed = ok('rules', 'remove', '--policy', 'a.pol', '--name', 'NET-USER', '--json').json;
    expect(removed).to.deep.equal({ target: 'file a.pol', name: 'NET-USER', policy: 'ElevationRules', remaining: 0 });
    const after = ok('rules', 'list', '--policy', 'a.pol', '--json').json;
    expect(after.rules.map((r: any) => r.name)).to.deep.equal(['net-admins']);
    expect(after.states).to.deep.equal({ ElevationRules: 'not-configured', BlacklistRules: 'enabled' });
  });

  it('stacks the rules of several files: MFA from one, APPROVAL from another; the blacklist beats TSE', () => {
    ok('rules', 'add', '--policy', 'domain.pol', '--name', 'tool-mfa', '--action', 'allow', '--path', 'C:\\Tools\\tool.exe', '--control', 'mfa');
    ok('rules', 'add', '--policy', 'domain.pol', '--name', 'no-psexec', '--action', 'deny', '--path', '*\\psexec*.exe');
    ok('rules', 'add', '--policy', 'ou.pol', '--name', 'tool-approval', '--action', 'allow', '--path', 'tool.exe', '--computer', 'PC-0*', '--control', 'approval');
    expect(decision(['domain.pol', 'ou.pol'], '--app', 'c:\\tools\\TOOL.EXE')).to.deep.equal({ decision: 'allow', controls: ['approval', 'mfa'], matchedRules: ['tool-approval', 'tool-mfa'], reason: 'allow-rule' });
    expect(decision(['domain.pol'], '--app', 'c:\\tools\\TOOL.EXE')).to.deep.equal({ decision: 'allow', controls: ['mfa'], matchedRules: ['tool-mfa'], reason: 'allow-rule' });
    expect(decision(['domain.pol', 'ou.pol'], '--app', 'D:\\x\\PsExec64.exe', '--tse-active')).to.deep.equal({ decision: 'deny', controls: [], matchedRules: ['no-psexec'], reason: 'deny-rule' });
    expect(decision(['domain.pol', 'ou.pol'], '--app', 'D:\\x\\notepad.exe', '--tse-active')).to.deep.equal({ decision: 'allow', controls: [], matchedRules: [], reason: 'tse' });
    const list = ok('rules', 'list', '--policy', 'domain.pol', '--policy', 'ou.pol', '--json').json;
    expect(list.rules.map((r: any) => `${r.name}@${r.source}`)).to.deep.equal(['tool-mfa@domain.pol', 'tool-approval@ou.pol', 'no-psexec@domain.pol']);

    // A later file that disables the Blacklist clears the earlier file's blacklist rules.
    ok('pol', 'set', 'ou.pol', 'BlacklistRules', '--state', 'disabled');
    expect(decision(['domain.pol', 'ou.pol'], '--app', 'D:\\x\\PsExec64.exe').decision).to.equal('not-elevated');
    // ... and a rule is not added to a list that is Disabled there.
    const before = readFileSync(path.join(tmp, 'ou.pol'));
    expectOneLineError(run('rules', 'add', '--policy', 'ou.pol', '--name', 'x', '--action', 'deny', '--path', 'x.exe'), /BlacklistRules is Disabled in file ou\.pol/);
    expect(readFileSync(path.join(tmp, 'ou.pol')).equals(before)).to.equal(true);
  });

  it('user by SID, collections and a SHA-256 through the CLI', () => {
    const sid = 'S-1-5-21-1004336348-1177238915-682003330-1131';
    const hash = 'ab'.repeat(32);
    ok('rules', 'add', '--policy', 'a.pol', '--name', 'by-sid', '--action', 'allow', '--sha256', hash.toUpperCase(), '--user', sid, '--collection', 'Lab');
    expect(decision(['a.pol'], '--app', 'D:\\y.exe', '--sha256', hash, '--collection', 'lab').decision, 'the user is a name, not the SID').to.equal('not-elevated');
    const r = ok('rules', 'test', '--policy', 'a.pol', '--user', sid, '--computer', 'WS-1', '--collection', 'LAB', '--app', 'D:\\y.exe', '--sha256', hash, '--json').json;
    expect(r).to.deep.equal({ decision: 'allow', controls: [], matchedRules: ['by-sid'], reason: 'allow-rule' });
  });

  it('refuses bad input with one line and the right exit code, changing nothing', () => {
    ok('rules', 'add', '--policy', 'a.pol', '--name', 'keep', '--action', 'allow', '--path', 'a.exe');
    const file = path.join(tmp, 'a.pol');
    const bytes = readFileSync(file);
    const cases: [string[], number, RegExp][] = [
      [['rules', 'add', '--policy', 'a.pol', '--name', 'keep', '--action', 'allow', '--path', 'b.exe'], 1, /has a rule named "keep" already.*remove it first/],
      [['rules', 'add', '--policy', 'a.pol', '--name', 'KEEP', '--action', 'deny', '--path', 'b.exe'], 1, /has a rule named "KEEP" already \(in ElevationRules\)/],
      [['rules', 'add', '--policy', 'a.pol', '--name', 'n', '--action', 'allow'], 2, /at least one application matcher/],
      [['rules', 'add', '--policy', 'a.pol', '--name', 'n', '--action', 'allow', '--sha256', 'xyz'], 2, /--sha256: expected 64 hex digits/],
      [['rules', 'add', '--policy', 'a.pol', '--name', 'n', '--action', 'deny', '--path', 'x', '--control', 'mfa'], 2, /--control: a deny rule takes no controls/],
      [['rules', 'add', '--policy', 'a.pol', '--name', 'n', '--action', 'allow', '--path', 'x', '--control', 'sms'], 2, /control/i],
      [['rules', 'add', '--policy', 'a.pol', '--name', 'n', '--action', 'maybe', '--path', 'x'], 2, /action/],
      [['rules', 'add', '--policy', 'a.pol', '--name', '**del.x', '--action', 'allow', '--path', 'x'], 2, /--name: .*"\*\*"/],
      [['rules', 'add', '--policy', 'a.pol', '--gpo', 'G', '--name', 'n', '--action', 'allow', '--path', 'x'], 2, /policy|gpo/],
      [['rules', 'remove', '--policy', 'a.pol', '--name', 'nope'], 1, /has no rule named "nope" \(its rules: keep\)/],
      [['rules', 'test', '--policy', 'a.pol', '--user', 'bob', '--computer', 'PC'], 2, /app/],
      [['rules', 'list', '--policy', 'missing.pol'], 1, /missing\.pol: no such file/],
    ];
    for (const [args, status, pattern] of cases) {
      const r = run(...args);
      expectOneLineError(r, pattern);
      expect(r.status, args.join(' ')).to.equal(status);
      expect(readFileSync(file).equals(bytes), `${args.join(' ')} left the file alone`).to.equal(true);
    }
    expect(existsSync(path.join(tmp, 'missing.pol'))).to.equal(false);
    const j = run('rules', 'remove', '--policy', 'a.pol', '--name', 'nope', '--json');
    expect(j.status).to.equal(1);
    expect(j.json.error.code).to.equal('ASC_RULE_NOT_FOUND');
  });

  it('reports stored values that are not valid rules, and decides with the others', () => {
    ok('pol', 'set', 'a.pol', 'ElevationRules', '--state', 'enabled', '--value', 'Rules=good={"action":"allow"\\,"match":{"path":"a.exe"}}', '--value', 'Rules=bad={"action":"allow"\\,"match":{"pth":"a.exe"}}');
    const r = run('rules', 'test', '--policy', 'a.pol', '--user', 'bob', '--computer', 'PC', '--app', 'C:\\a.exe', '--json');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.json).to.deep.equal({ decision: 'allow', controls: [], matchedRules: ['good'], reason: 'allow-rule' });
    expect(r.stderr).to.match(/rule "bad": match\.pth: unknown field/);
    const list = ok('rules', 'list', '--policy', 'a.pol', '--json').json;
    expect(list.problems.map((p: any) => p.name)).to.deep.equal(['bad']);
  });
});

describe('ascend rules (CLI) against GPOs on a real DC', function () {
  this.timeout(240_000);
  const tag = randomBytes(3).toString('hex');
  const gpoA = `Ascend Rules A ${tag}`;
  const gpoB = `Ascend Rules B ${tag}`;
  const ouName = `RulesOU${tag}`;
  const pc = `PCR${tag}`.toUpperCase();
  let dc: TestDc;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let ouDn: string;
  let guidA: string;
  const run = (...args: string[]): Run => ascend(args, env, tmp);
  const ok = (...args: string[]): Run => {
    const r = run(...args);
    expect(r.status, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).to.equal(0);
    return r;
  };
  const version = (guid: string): string => sambaToolOk(dc, ['gpo', 'show', guid], { local: true }).match(/version\s+:\s+(\d+)/)?.[1] ?? '?';

  before(async function () {
    dc = await requireTestDc(this);
    requireBuiltCli();
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-rules-gpo-'));
    const pw = path.join(tmp, 'password');
    writeFileSync(pw, dc.password);
    chmodSync(pw, 0o600);
    env = cliEnv(tmp);
    Object.assign(env, { ASCEND_LDAP_URL: dc.url, ASCEND_LDAP_USER: dc.bindDn, ASCEND_LDAP_PASSWORD_FILE: pw, ASCEND_LDAP_TLS_INSECURE: '1', ASCEND_SYSVOL: dc.smbUrl });
    delete env.ASCEND_LDAP_PASSWORD;
    guidA = ok('gpo', 'create', gpoA, '--json').json.gpo.guid;
    ok('gpo', 'create', gpoB, '--json');
    ouDn = `OU=${ouName},${dc.baseDn}`;
    sambaToolOk(dc, ['ou', 'create', `OU=${ouName}`], { local: true });
    sambaToolOk(dc, ['computer', 'create', pc, `--computerou=OU=${ouName}`], { local: true });
  });

  after(() => {
    if (!dc || !tmp) return;
    run('gpo', 'delete', gpoA);
    run('gpo', 'delete', gpoB);
    sambaTool(dc, ['computer', 'delete', pc], { local: true });
    sambaTool(dc, ['ou', 'delete', `OU=${ouName}`, '--force-subtree-delete'], { local: true });
    rmSync(tmp, { recursive: true, force: true });
  });

  it('adds, lists, tests and removes rules in a GPO; the RSoP of a computer stacks two GPOs', () => {
    const v0 = version(guidA);
    const add = ok('rules', 'add', '--gpo', gpoA, '--name', 'tool-mfa', '--action', 'allow', '--path', 'C:\\Tools\\tool.exe', '--control', 'mfa', '--json');
    expect(add.json).to.deep.include({ target: `GPO "${gpoA}"`, policy: 'ElevationRules', stateBefore: 'not-configured' });
    ok('rules', 'add', '--gpo', gpoA, '--name', 'net-admins', '--action', 'deny', '--path', NET, '--args', 'localgroup administrators*');
    expect(Number(version(guidA))).to.be.greaterThan(Number(v0));

    // What is in SYSVOL, read from the DC's own folder.
    const pol = path.join(dc.sysvolPath, dc.dnsDomain, 'Policies', guidA, 'Machine', 'Registry.pol');
    const onDisk = ok('rules', 'list', '--policy', pol, '--json').json;
    expect(onDisk.rules.map((r: any) => r.name)).to.deep.equal(['tool-mfa', 'net-admins']);
    const listed = ok('rules', 'list', '--gpo', gpoA, '--json').json;
    expect(listed.rules.map((r: any) => [r.name, r.source])).to.deep.equal([
      ['tool-mfa', `GPO "${gpoA}"`],
      ['net-admins', `GPO "${gpoA}"`],
    ]);

    const test = (...extra: string[]): any => ok('rules', 'test', '--user', 'CORP\\bob', '--computer', pc, ...extra, '--json').json;
    expect(test('--gpo', gpoA, '--app', 'C:\\Tools\\tool.exe')).to.deep.equal({ decision: 'allow', controls: ['mfa'], matchedRules: ['tool-mfa'], reason: 'allow-rule' });
    expect(test('--gpo', gpoA, '--app', NET, '--args', 'localgroup administrators bob /add', '--tse-active')).to.deep.include({ decision: 'deny', controls: [], matchedRules: ['net-admins'], reason: 'deny-rule' });

    // A duplicate name changes nothing, not even the version.
    const v1 = version(guidA);
    expectOneLineError(run('rules', 'add', '--gpo', gpoA, '--name', 'TOOL-MFA', '--action', 'allow', '--path', 'x.exe'), /has a rule named "TOOL-MFA" already/);
    expect(version(guidA)).to.equal(v1);

    // Two GPOs linked to the computer's OU: their rules stack in its RSoP.
    ok('rules', 'add', '--gpo', gpoB, '--name', 'tool-approval', '--action', 'allow', '--path', 'tool.exe', '--computer', `${pc.slice(0, 3)}*`, '--control', 'approval');
    ok('gpo', 'link', gpoA, ouDn);
    ok('gpo', 'link', gpoB, ouDn);
    expect(test('--rsop-computer', pc, '--app', 'C:\\Tools\\tool.exe')).to.deep.equal({ decision: 'allow', controls: ['approval', 'mfa'], matchedRules: ['tool-approval', 'tool-mfa'], reason: 'allow-rule' });

    const removed = ok('rules', 'remove', '--gpo', gpoA, '--name', 'tool-mfa', '--json').json;
    expect(removed).to.deep.equal({ target: `GPO "${gpoA}"`, name: 'tool-mfa', policy: 'ElevationRules', remaining: 0 });
    expect(test('--rsop-computer', pc, '--app', 'C:\\Tools\\tool.exe').controls).to.deep.equal(['approval']);
  });
});
