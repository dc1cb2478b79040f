/**
 * Review R2 of issue 12 (finding 7): risky allow rules the risk findings let through as
 * "pinned" although the literal command line still hands out a shell or arbitrary code,
 * and obvious escapes the catalog did not know.
 */
import { expect } from 'chai';
import { parseRule, riskyProgram, ruleFindings, type Rule } from '../../src/rules/index.js';

const allow = (path: string, args?: string): Rule =>
  parseRule('r', JSON.stringify({ action: 'allow', match: { path, ...(args !== undefined ? { args } : {}) } }), 'ElevationRules');
const codes = (r: Rule): string[] => ruleFindings(r).map((f) => f.code);

describe('rules: review R2 — literal command lines that still give a shell (issue 12, finding 7)', () => {
  const flagged: [string, Rule][] = [
    // an option's value taken for the "absolute script"
    ['perl -I /usr/lib -de 0 (the debugger is a prompt)', allow('/usr/bin/perl', '-I /usr/lib -de 0')],
    ['bash --rcfile /etc/bash.bashrc -i', allow('/bin/bash', '--rcfile /etc/bash.bashrc -i')],
    ['python3 -X /x -c code', allow('/usr/bin/python3', '-X /x -c "import pty;pty.spawn(\'/bin/sh\')"')],
    ['python3 -W /x -c code', allow('/usr/bin/python3', '-W /x -c "import os"')],
    ['bash -s /opt/x (reads commands from stdin)', allow('/bin/bash', '-s /opt/x')],
    ['su -s /bin/bash root', allow('/bin/su', '-s /bin/bash root')],
    // a program that runs commands, handed a shell
    ['env bash', allow('/usr/bin/env', 'bash')],
    ['sudo -u root /bin/bash', allow('/usr/bin/sudo', '-u root /bin/bash')],
    ['sudo su', allow('/usr/bin/sudo', 'su')],
    ['find / -exec sh ;', allow('/usr/bin/find', '/ -exec sh ;')],
    ['screen /bin/bash', allow('/usr/bin/screen', '/bin/bash')],
    ['nice -n 5 /bin/sh', allow('/usr/bin/nice', '-n 5 /bin/sh')],
    ['tar --to-command=sh', allow('/bin/tar', '-xf /srv/a.tar --to-command=sh')],
    // every invocation is a shell or an editor
    ['newgrp sudo', allow('/usr/bin/newgrp', 'sudo')],
    ['sg sudo', allow('/usr/bin/sg', 'sudo')],
    ['sudoedit /etc/hosts', allow('/usr/bin/sudoedit', '/etc/hosts')],
    ['editor /etc/motd (Debian alternative)', allow('/usr/bin/editor', '/etc/motd')],
    ['pager /var/log/syslog', allow('/usr/bin/pager', '/var/log/syslog')],
    ['xterm', allow('/usr/bin/xterm', '')],
    // escapes the catalog did not know
    ['apt-get without a pinned command line', allow('/usr/bin/apt-get', 'update *')],
    ['apt', allow('/usr/bin/apt')],
    ['dpkg -i *', allow('/usr/bin/dpkg', '-i *')],
    ['passwd *', allow('/usr/bin/passwd', '*')],
    ['chsh', allow('/usr/bin/chsh')],
    ['ip netns exec *', allow('/usr/sbin/ip', 'netns exec *')],
    ['openssl', allow('/usr/bin/openssl')],
    ['socat', allow('/usr/bin/socat')],
    ['tcpdump -i any *', allow('/usr/bin/tcpdump', '-i any *')],
    ['gcc', allow('/usr/bin/gcc-12')],
    ['modprobe *', allow('/sbin/modprobe', '*')],
    ['sysctl -w *', allow('/sbin/sysctl', '-w *')],
    ['run-parts *', allow('/bin/run-parts', '*')],
    ['sort -o *', allow('/usr/bin/sort', '-o *')],
    ['psql (prompt, \\!)', allow('/usr/bin/psql', '-d app')],
    ['java -cp . (classes of the working folder)', allow('/usr/bin/java', 'Main')],
    ['hg pull', allow('/usr/bin/hg', 'pull')],
  ];
  for (const [what, r] of flagged) {
    it(`flags ${what}`, () => {
      const found = codes(r);
      expect(found, JSON.stringify(r.match)).to.have.length(1);
      expect(found[0]).to.match(/^RISK_(SHELL_ESCAPE|WRITE_ANY_FILE|WORKING_FOLDER)$/);
      expect(ruleFindings(r)[0]?.severity).to.equal('high');
    });
  }

  const pinned: [string, Rule][] = [
    ['python3 -u /opt/tools/task.py --daily', allow('/usr/bin/python3', '-u /opt/tools/task.py --daily')],
    ['bash /opt/tools/rotate.sh', allow('/bin/bash', '/opt/tools/rotate.sh')],
    ['pwsh -NoProfile -File C:\\Scripts\\task.ps1', allow('pwsh.exe', '-NoProfile -File C:\\Scripts\\task.ps1')],
    ['java -jar /opt/app/tool.jar', allow('/usr/bin/java', '-jar /opt/app/tool.jar')],
    ['sudo -u www-data /opt/app/reindex', allow('/usr/bin/sudo', '-u www-data /opt/app/reindex')],
    ['find pinned', allow('/usr/bin/find', '/var/log -name old.gz -mtime +30 -delete')],
    ['apt-get install nginx', allow('/usr/bin/apt-get', 'install nginx')],
    ['systemctl restart nginx', allow('/usr/bin/systemctl', 'restart nginx')],
  ];
  for (const [what, r] of pinned) it(`still takes ${what} as pinned`, () => expect(codes(r)).to.deep.equal([]));

  it('catalogues the names by file name, versions and suffixes included', () => {
    expect(riskyProgram('apt-get')?.name).to.equal('apt-get');
    expect(riskyProgram('gcc-12')?.name).to.equal('gcc');
    expect(riskyProgram('newgrp')?.program.when).to.equal('always');
    expect(riskyProgram('sudoedit')?.program.when).to.equal('always');
    expect(riskyProgram('sudo')?.program.when).to.equal('unpinned');
  });
});
