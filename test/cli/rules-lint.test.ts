/**
 * Issue 12, finding 7 (and the parent part of 9): `ascend rules lint` on a Registry.pol
 * file, text and --json, --fail-on for CI; `rules add` warns about the rule it added,
 * `rules list` marks flagged rules, `rules test` shows the findings of the rules that
 * decided; the agent logs the findings when it loads a policy. The built CLI runs as a
 * child process, as a user runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ascend, bin, cliEnv, expectOneLineError, requireBuiltCli, root, type Run } from '../passcode-cli/support.js';
import { requireComponent } from '../support/components.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';

describe('ascend rules lint (CLI), issue 12 finding 7', function () {
  this.timeout(120_000);
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]): Run => ascend(args, env, tmp);
  const ok = (...args: string[]): Run => {
    const r = run(...args);
    expect(r.status, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).to.equal(0);
    return r;
  };
  // Registry.pol list values: "Rules=name=json", commas escaped as pol set takes them.
  const value = (name: string, json: object): string[] => ['--value', `Rules=${name}=${JSON.stringify(json).replace(/,/g, '\\,')}`];

  before(() => requireBuiltCli());
  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-h5-lint-'));
    env = cliEnv(tmp);
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('prints every finding of a Registry.pol, as text and as --json; --fail-on sets exit 3; bad input exits 1', () => {
    ok(
      'pol', 'set', 'a.pol', 'ElevationRules', '--state', 'enabled',
      ...value('find-any', { action: 'allow', match: { path: '/usr/bin/find' } }),
      ...value('make-install', { action: 'allow', match: { path: '/usr/bin/make', args: 'install' } }),
      ...value('usr-bin', { action: 'allow', match: { path: '/usr/bin/*' } }),
      ...value('perl', { action: 'allow', match: { path: '/usr/bin/perl5.36', args: '-e *' } }),
      ...value('from-launcher', { action: 'allow', match: { path: '/usr/bin/tool', parent: '/usr/bin/launcher' } }),
      ...value('nginx', { action: 'allow', match: { path: '/usr/bin/systemctl', args: 'restart nginx' } }),
      ...value('broken', { action: 'allow', match: { pth: 'x' } }),
    );
    ok('pol', 'set', 'a.pol', 'BlacklistRules', '--state', 'enabled', ...value('no-sudo-group', { action: 'deny', match: { path: '/usr/sbin/usermod', args: '*sudo*' } }));

    const text = ok('rules', 'lint', '--policy', 'a.pol');
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^Rules of Registry\.pol a\.pol .*: 7 rule\(s\), 7 finding\(s\) \(high 6, medium 1, low 0\)$/);
    expect(lines.slice(1).map((l) => l.split(':')[0])).to.deep.equal([
      'high RULE_INVALID',
      'high RISK_SHELL_ESCAPE',
      'high RISK_WORKING_FOLDER',
      'high RISK_WILDCARD_PROGRAM',
      'high RISK_SHELL_ESCAPE',
      'high RISK_DENY_NAME_NOT_ID',
      'medium RULE_PARENT_NEVER_ALLOWS',
    ]);
    expect(text.stdout).to.match(/rule "make-install" \(a\.pol\) allows make, .*user's folder/);
    expect(text.stdout).to.match(/rule "no-sudo-group" .*numeric ids/);
    expect(text.stdout).to.not.match(/"nginx"/);

    const json = ok('rules', 'lint', '--policy', 'a.pol', '--json').json;
    expect(json).to.include({ rules: 7, failed: false });
    expect(json.counts).to.deep.equal({ high: 6, medium: 1, low: 0 });
    expect(json.findings[1]).to.have.all.keys('severity', 'code', 'rule', 'list', 'source', 'message', 'suggestion');
    expect(json.findings.map((f: any) => [f.rule, f.code])).to.deep.include.members([
      ['find-any', 'RISK_SHELL_ESCAPE'],
      ['perl', 'RISK_SHELL_ESCAPE'],
      ['usr-bin', 'RISK_WILDCARD_PROGRAM'],
      ['from-launcher', 'RULE_PARENT_NEVER_ALLOWS'],
      ['broken', 'RULE_INVALID'],
    ]);

    const failing = run('rules', 'lint', '--policy', 'a.pol', '--fail-on', 'high', '--json');
    expect(failing.status, failing.stderr).to.equal(3);
    expect(failing.json).to.include({ failed: true });
    const medium = run('rules', 'lint', '--policy', 'a.pol', '--fail-on', 'medium');
    expect(medium.status).to.equal(3);

    const missing = run('rules', 'lint', '--policy', 'missing.pol');
    expectOneLineError(missing, /missing\.pol: no such file/);
    expect(missing.status).to.equal(1);
  });

  it('rules add warns about the rule it adds (and adds it), rules list marks it, rules test shows it', () => {
    const added = ok('rules', 'add', '--policy', 'a.pol', '--name', 'tar-any', '--action', 'allow', '--path', '/bin/tar', '--args', '-czf /backup/x.tgz *');
    expect(added.stdout).to.match(/added allow rule "tar-any"/);
    expect(added.stderr).to.match(/^Warning: high RISK_SHELL_ESCAPE: ElevationRules rule "tar-any" allows tar, .*can carry further arguments/m);
    const parent = ok('rules', 'add', '--policy', 'a.pol', '--name', 'only-parent', '--action', 'allow', '--path', '/usr/bin/tool', '--parent', '/usr/bin/launcher', '--json');
    expect(parent.json.findings.map((f: any) => f.code)).to.deep.equal(['RULE_PARENT_NEVER_ALLOWS']);
    expect(parent.stderr).to.match(/Warning: medium RULE_PARENT_NEVER_ALLOWS: .*allows nothing on its own/);
    const clean = ok('rules', 'add', '--policy', 'a.pol', '--name', 'nginx', '--action', 'allow', '--path', '/usr/bin/systemctl', '--args', 'restart nginx', '--json');
    expect(clean.json.findings).to.deep.equal([]);
    expect(clean.stderr).to.equal('');

    const list = ok('rules', 'list', '--policy', 'a.pol');
    expect(list.stdout).to.match(/NAME\s+ACTION\s+MATCH\s+TARGET\s+CONTROLS\s+RISK\s+SOURCE/);
    expect(list.stdout).to.match(/tar-any\s.*high:RISK_SHELL_ESCAPE\s+a\.pol/);
    expect(list.stdout).to.match(/nginx\s.*\s-\s+a\.pol/);
    expect(list.stdout).to.match(/2 rule\(s\) flagged/);

    const tested = ok('rules', 'test', '--policy', 'a.pol', '--user', 'bob', '--computer', 'pc', '--app', '/bin/tar', '--args', '-czf /backup/x.tgz --to-command=sh x', '--json');
    expect(tested.json).to.deep.include({ decision: 'allow', matchedRules: ['tar-any'] });
    expect(tested.json.findings.map((f: any) => f.code)).to.deep.equal(['RISK_SHELL_ESCAPE']);
    expect(tested.stderr).to.match(/Warning: high RISK_SHELL_ESCAPE/);

    // An allow rule with a parent condition allows nothing on its own, from the right parent too.
    const fromParent = ok('rules', 'test', '--policy', 'a.pol', '--user', 'bob', '--computer', 'pc', '--app', '/usr/bin/tool', '--parent', '/usr/bin/launcher', '--json');
    expect(fromParent.json).to.deep.equal({ decision: 'not-elevated', controls: [], matchedRules: [], reason: 'no-match' });
  });
});

describe('the agent logs the findings of the policy it loads (root), issue 12 finding 7', function () {
  this.timeout(120_000);
  let tmp: string;
  let agent: ChildProcess | undefined;

  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent runs as root)', 'run the tests as root');
    requireBuiltCli();
  });
  after(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent?.once('exit', r));
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('one escaped warn line per finding, at start-up', async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-h5-agent-'));
    chmodSync(tmp, 0o755);
    const policyFile = path.join(tmp, 'Registry.pol');
    const rule = (name: string, json: object) => ({ name, value: JSON.stringify(json) });
    writeFileSync(
      policyFile,
      writeRegistryPol([
        ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
          Rules: [
            rule('perl for helpdesk', { action: 'allow', match: { path: '/usr/bin/perl' } }),
            rule('make install', { action: 'allow', match: { path: '/usr/bin/make', args: 'install' } }),
            rule('id', { action: 'allow', match: { path: '/usr/bin/id', args: '-u' } }),
          ],
        }),
        ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: `h5${randomBytes(2).toString('hex')}_`, MaxLifetimeMinutes: 60, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
      ]),
      { mode: 0o644 },
    );
    const log = { text: '' };
    agent = spawn(process.execPath, [bin, 'agent', 'run', '--state-dir', path.join(tmp, 'state'), '--socket', path.join(tmp, 'agent.sock'), '--policy', policyFile, '--computer', 'H5-PC'], {
      cwd: root,
      env: cliEnv(tmp),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stderr?.on('data', (d: Buffer) => (log.text += d.toString()));
    const exited = new Promise<void>((r) => agent?.once('exit', () => r()));
    // Poll for the condition (the agent is up, or it stopped), not for a time.
    await Promise.race([
      exited,
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (/agent listening on/.test(log.text)) resolve();
        };
        agent?.stderr?.on('data', check);
        check();
      }),
    ]);
    expect(log.text, log.text).to.match(/agent listening on/);
    const risky = log.text.split('\n').filter((l) => l.includes('rule risk:'));
    expect(risky, log.text).to.have.length(2);
    expect(risky[0]).to.match(/warn.*rule risk: high RISK_SHELL_ESCAPE: ElevationRules rule .*perl for helpdesk.* allows perl/);
    expect(risky[1]).to.match(/warn.*rule risk: high RISK_WORKING_FOLDER: ElevationRules rule .*make install/);
    expect(log.text).to.not.match(/rule risk:.*"id"/);
  });
});
