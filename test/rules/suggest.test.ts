/**
 * Issue 19, Deliver 3: the pure core of `ascend rules suggest` (src/rules/suggest.ts).
 */
import { expect } from 'chai';
import { compileRules, decide, normalizeArgs, parseRule, ELEVATION_RULES_POLICY, lintRules } from '../../src/rules/index.js';
import { argTokens, patternToken, RuleSuggester, splitSubcommand, suggestRules, type DiscoveredRun } from '../../src/rules/suggest.js';

const H1 = '1'.repeat(64);
const H2 = '2'.repeat(64);
let clock = Date.parse('2026-11-01T00:00:00Z');

function run(processPath: string, args: string, user = 'CORP\\ann', more: Partial<DiscoveredRun> = {}): DiscoveredRun {
  clock += 1000;
  return { time: new Date(clock).toISOString(), computer: 'PC1', user, processPath, args, result: 'no-rule', publisher: null, sha256: H1, ...more };
}

/** Whether the suggested rule allows this program and command line (the real engine). */
function allows(value: string, path: string, args: string, extra: { sha256?: string; debPublisher?: string } = {}): boolean {
  const rule = parseRule('r', value, ELEVATION_RULES_POLICY);
  const d = decide(compileRules([rule]), { user: 'CORP\\ann', computer: 'PC1', path, args, ...extra } as Parameters<typeof decide>[1]);
  return d.decision === 'allow';
}

describe('rules suggest: subcommands', () => {
  it('splits at the first non-option word; options before it stay in the head; a path is not a subcommand', () => {
    expect(splitSubcommand(['restart', 'nginx'])).to.deep.equal({ head: ['restart'], tail: ['nginx'] });
    expect(splitSubcommand(['-u', 'nginx', '-f'])).to.deep.equal({ head: ['-u', 'nginx'], tail: ['-f'] });
    expect(splitSubcommand(['/etc/hosts'])).to.deep.equal({ head: [], tail: ['/etc/hosts'] });
    expect(splitSubcommand(['--no-pager', 'status', 'x'])).to.deep.equal({ head: ['--no-pager', 'status'], tail: ['x'] });
    expect(splitSubcommand([])).to.deep.equal({ head: [], tail: [] });
  });

  it('quotes a token so that normalizeArgs reads it back', () => {
    for (const t of ['', 'a"b', 'x\\"y', 'end\\', 'plain', 'c:\\dir\\']) {
      const tokens = ['a', t, 'z'];
      expect(normalizeArgs(tokens.map(patternToken).join(' ')), JSON.stringify(t)).to.equal(tokens.join(' ').toLowerCase());
    }
    expect(argTokens('  Restart   "My Unit" ')).to.deep.equal(['restart', 'my', 'unit']);
  });
});

describe('rules suggest: rules from runs', () => {
  it('generalises arguments within a subcommand, never across one (restart x, restart y -> restart *; mask -> its own rule)', () => {
    const runs = [run('/usr/bin/systemctl', 'restart nginx'), run('/usr/bin/systemctl', 'restart ssh', 'CORP\\bob'), run('/usr/bin/systemctl', 'mask cups')];
    const r = suggestRules(runs);
    const args = r.suggestions.map((s) => s.rule.match.args).sort();
    expect(args).to.deep.equal(['mask cups', 'restart *']);
    const restart = r.suggestions.find((s) => s.subcommand === 'restart');
    expect(restart).to.include({ runs: 2, users: 2, computers: 1, commandLines: 2, generalised: true, basis: 'sha256' });
    expect(allows(restart?.value as string, '/usr/bin/systemctl', 'restart cron', { sha256: H1 })).to.equal(true);
    expect(allows(restart?.value as string, '/usr/bin/systemctl', 'mask nginx', { sha256: H1 })).to.equal(false);
    const mask = r.suggestions.find((s) => s.subcommand === 'mask');
    expect(mask?.generalised).to.equal(false);
    expect(allows(mask?.value as string, '/usr/bin/systemctl', 'mask cups', { sha256: H1 })).to.equal(true);
    expect(allows(mask?.value as string, '/usr/bin/systemctl', 'mask cron', { sha256: H1 })).to.equal(false);
  });

  it('keeps the positions that did not vary, and gives a subcommand run bare a rule of its own', () => {
    const r = suggestRules([run('/usr/sbin/ip', 'link set dev eth0 up'), run('/usr/sbin/ip', 'link set dev eth1 up'), run('/usr/sbin/ip', 'link'), run('/usr/bin/journalctl', '-u nginx -n 50'), run('/usr/bin/journalctl', '-u nginx -n 10')]);
    const args = r.suggestions.map((s) => s.rule.match.args).sort();
    expect(args).to.deep.equal(['-u nginx -n *', 'link', 'link set dev * up']);
    // Options before the first word stay literal: -u sshd is not folded into -u nginx.
    const j = suggestRules([run('/usr/bin/journalctl', '-u nginx'), run('/usr/bin/journalctl', '-u sshd')]);
    expect(j.suggestions.map((s) => s.rule.match.args).sort()).to.deep.equal(['-u nginx', '-u sshd']);
  });

  it('command lines of different lengths under one subcommand: everything after it is *', () => {
    const r = suggestRules([run('/usr/bin/apt-get', 'install jq'), run('/usr/bin/apt-get', 'install -y curl wget')]);
    expect(r.suggestions.map((s) => s.rule.match.args)).to.deep.equal(['install *']);
  });

  it('names the package when every run says dpkg matched it; else the latest hash, saying when there were several', () => {
    const pub = suggestRules([run('/usr/bin/systemctl', 'restart a', 'u1', { publisher: 'deb:systemd' }), run('/usr/bin/systemctl', 'restart b', 'u2', { publisher: 'deb:systemd', sha256: H2 })]);
    expect(pub.suggestions[0]?.basis).to.equal('publisher');
    expect(pub.suggestions[0]?.rule.match).to.deep.equal({ path: '/usr/bin/systemctl', publisher: 'deb:systemd', args: 'restart *' });
    // The package's file allows; a modified copy (dpkg's checksum fails: no debPublisher) does not.
    expect(allows(pub.suggestions[0]?.value as string, '/usr/bin/systemctl', 'restart cron', { debPublisher: 'deb:systemd', sha256: H2 })).to.equal(true);
    expect(allows(pub.suggestions[0]?.value as string, '/usr/bin/systemctl', 'restart cron', { sha256: H2 })).to.equal(false);
    const mixed = suggestRules([run('/usr/local/bin/tool', 'go', 'u1', { publisher: 'deb:tool', sha256: H1 }), run('/usr/local/bin/tool', 'go', 'u2', { sha256: H2 })]);
    const s = mixed.suggestions[0];
    expect(s?.basis).to.equal('sha256');
    expect(s?.rule.match.sha256).to.equal(H2);
    expect(s?.hashes).to.equal(2);
    expect(s?.notes.join(' ')).to.match(/2 different SHA-256/);
    const none = suggestRules([run('/usr/local/bin/tool', 'go', 'u1', { sha256: null })]);
    expect(none.suggestions[0]?.basis).to.equal('path');
    expect(none.suggestions[0]?.rule.match).to.deep.equal({ path: '/usr/local/bin/tool', args: 'go' });
  });

  it('counts users and computers, honours --min-users and --computer, and leaves out what the rules already allowed every time', () => {
    const runs = [
      run('/usr/bin/systemctl', 'restart a', 'CORP\\ann', { computer: 'WEB-1' }),
      run('/usr/bin/systemctl', 'restart b', 'corp\\ANN', { computer: 'web-2' }),
      run('/usr/bin/systemctl', 'restart c', 'CORP\\bob', { computer: 'DB-1' }),
      run('/usr/bin/id', '', 'CORP\\ann', { result: 'would-allow' }),
      run('/usr/bin/whoami', '', 'CORP\\ann'),
    ];
    const all = suggestRules(runs);
    expect(all.suggestions.find((s) => s.subcommand === 'restart')).to.include({ users: 2, computers: 3, runs: 3 });
    expect(all.skippedCovered).to.equal(1);
    expect(all.suggestions.map((s) => s.program)).to.not.include('/usr/bin/id');
    expect(suggestRules(runs, { includeCovered: true }).suggestions.map((s) => s.program)).to.include('/usr/bin/id');
    const two = suggestRules(runs, { minUsers: 2 });
    expect(two.suggestions.map((s) => s.program)).to.deep.equal(['/usr/bin/systemctl']);
    expect(two.skippedMinUsers).to.equal(1);
    const web = suggestRules(runs, { computer: 'WEB-*' });
    expect(web.runs).to.equal(2);
    expect(web.suggestions[0]).to.include({ users: 1, computers: 2, runs: 2 });
  });

  it('never suggests a path that holds * or ?, or a program that is not an absolute path', () => {
    const r = suggestRules([run('/home/eve/bin/*', 'x'), run('/tmp/a?b', ''), run('relative/tool', ''), run('', '')]);
    expect(r.suggestions).to.deep.equal([]);
    expect(r.skippedRuns).to.equal(4);
    expect(r.skipped.join('\n')).to.match(/wildcard/).and.match(/absolute/);
  });

  it('flags programs that start a shell or write any file, with the findings rules lint gives', () => {
    const r = suggestRules([run('/usr/bin/vim', '/etc/hosts'), run('/usr/bin/find', '/ -name x'), run('/usr/bin/find', '/ -name y'), run('/usr/bin/env', 'a=b /usr/bin/id'), run('/usr/bin/whoami', '')]);
    const by = (p: string) => r.suggestions.filter((s) => s.program === p);
    expect(by('/usr/bin/vim')[0]?.risky).to.equal(true);
    expect(by('/usr/bin/vim')[0]?.riskKinds).to.include('shell');
    expect(by('/usr/bin/find')[0]?.risky).to.equal(true); // generalised: find / -name * can carry -exec
    expect(by('/usr/bin/whoami')[0]?.risky).to.equal(false);
    expect(by('/usr/bin/whoami')[0]?.rule.match.args).to.equal('');
    // Pinned, yet an editor, a pager or a package file: systemctl edit, systemctl status, crontab -e, dpkg -i.
    const pinned = suggestRules([run('/usr/bin/systemctl', 'edit nginx'), run('/usr/bin/systemctl', 'status nginx'), run('/usr/bin/crontab', '-e'), run('/usr/bin/dpkg', '-i /srv/x.deb'), run('/usr/bin/systemctl', 'restart nginx')]);
    expect(pinned.suggestions.map((s) => [s.rule.match.args, s.risky]).sort()).to.deep.equal([
      ['-e', true],
      ['-i /srv/x.deb', true],
      ['edit nginx', true],
      ['restart nginx', false],
      ['status nginx', true],
    ]);
    for (const s of r.suggestions) {
      const rule = parseRule(s.rule.name, s.value, ELEVATION_RULES_POLICY);
      expect(lintRules([rule]).some((f) => f.severity === 'high'), s.rule.name).to.equal(s.risky);
    }
  });

  it('gives unique, valid rule names, most runs first, and a description with the counts', () => {
    const r = suggestRules([run('/usr/bin/systemctl', 'restart a'), run('/usr/bin/systemctl', 'restart a'), run('/usr/sbin/systemctl', 'restart b'), run('/usr/bin/id', '')]);
    expect(r.suggestions.map((s) => s.index)).to.deep.equal([1, 2, 3]);
    expect(r.suggestions[0]?.runs).to.equal(2);
    const names = r.suggestions.map((s) => s.rule.name);
    expect(new Set(names).size).to.equal(3);
    expect(names).to.include.members(['discovered-systemctl-restart', 'discovered-systemctl-restart-2', 'discovered-id']);
    expect(r.suggestions[0]?.rule.description).to.match(/2 runs by 1 user on 1 computer/);
  });
});

describe('rules suggest: runs added page by page', () => {
  it('gives the same suggestions as all runs at once (the CLI lets each page go)', () => {
    const runs = [run('/usr/bin/systemctl', 'restart a', 'u1', { sha256: H2 }), run('/usr/bin/systemctl', 'restart b', 'u2'), run('/usr/bin/apt-get', 'install x', 'u1', { publisher: 'deb:apt' }), run('/usr/bin/systemctl', 'mask c', 'u3', { time: null })];
    const s = new RuleSuggester({});
    for (const page of [runs.slice(0, 1), runs.slice(1, 3), runs.slice(3)]) for (const r of page) s.add(r);
    expect(s.finish()).to.deep.equal(suggestRules(runs));
    // The latest hash by sudo's time, whatever order the runs came in.
    expect(suggestRules([...runs].reverse()).suggestions.find((x) => x.subcommand === 'restart')?.rule.match.sha256).to.equal(H1);
  });
});

describe('rules suggest: what is never written unless chosen (review of issue 19)', () => {
  it('a generalised rule is risky: its * matches any words, options included (iptables --modprobe, logrotate -f)', () => {
    const r = suggestRules([run('/usr/sbin/iptables', '-A INPUT -s 1.2.3.4 -j DROP'), run('/usr/sbin/iptables', '-A INPUT -s 5.6.7.8 -j DROP', 'CORP\\bob'), run('/usr/bin/uptime', '-p')]);
    const ipt = r.suggestions.find((s) => s.rule.match.path === '/usr/sbin/iptables');
    expect(ipt).to.include({ generalised: true, risky: true });
    // Why it must be chosen by hand: the * lets an option through that runs a program as root.
    expect(allows(ipt?.value as string, '/usr/sbin/iptables', '-A INPUT -s 1.2.3.4 --modprobe=/home/mallory/x -j DROP', { sha256: H1 })).to.equal(true);
    expect(ipt?.notes.join(' ')).to.match(/options included/);
    const uptime = r.suggestions.find((s) => s.rule.match.path === '/usr/bin/uptime');
    expect(uptime).to.include({ generalised: false, risky: false });
  });

  it('programs that run what their arguments or files name are risky even pinned to one command line (logrotate, iptables, nft, ssh-keygen, systemd-tmpfiles)', () => {
    for (const [path, args] of [
      ['/usr/sbin/logrotate', '/etc/logrotate.d/nginx'],
      ['/usr/sbin/iptables', '-L'],
      ['/usr/sbin/nft', 'list ruleset'],
      ['/usr/bin/ssh-keygen', '-A'],
      ['/usr/bin/systemd-tmpfiles', '--create'],
    ] as const) {
      const s = suggestRules([run(path, args)]).suggestions[0];
      expect(s?.riskKinds.length, path).to.be.above(0);
    }
  });
});
