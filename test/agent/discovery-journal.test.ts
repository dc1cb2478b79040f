/**
 * Discovery's journal follower against a real journal: a journald namespace instance
 * (`systemd-journald NS`: no systemd as PID 1 is needed) receives what the real sudo logs
 * through syslog (sudo runs in a mount namespace whose private /dev/log is the instance's),
 * and the follower reads it through `journalctl --namespace=NS -o json -f`, resuming after
 * its saved cursor. A line `logger -t sudo` writes is not reported.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { commandWorks, requireComponent } from '../support/components.js';
import { Discovery } from '../../agent/discovery/discovery.js';
import { compileRules, parseRule } from '../../src/rules/index.js';
import type { EventFields } from '../../src/collector-api/events.js';

const USER = 'ascdisc_j2';
const JOURNALD = '/usr/lib/systemd/systemd-journald';
const NS = `ascdisc${process.pid}`;
const SUDOERS = `/etc/sudoers.d/ascdisc-journal-${process.pid}`;
const logged: string[] = [];

async function until<T>(what: string | (() => string), probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('discovery: the journal follower on a real journald and the real sudo (root)', function () {
  this.timeout(120_000);
  let tmp: string;
  let journald: ChildProcess | undefined;
  const sock = `/run/systemd/journal.${NS}/dev-log`;

  /** Runs `command` as USER with /dev/log leading to the journald instance (a private /dev in a mount namespace). */
  function asUserLogging(command: string[]): void {
    const old = path.join(tmp, 'olddev');
    mkdirSync(old, { recursive: true });
    const script = [
      'set -e',
      'mount --make-rprivate /',
      `mount --rbind /dev ${old}`,
      'mount -t tmpfs -o mode=755 ascdisc /dev',
      `for n in null zero full random urandom tty; do touch /dev/$n; mount --bind ${old}/$n /dev/$n; done`,
      'mkdir /dev/pts; mount --rbind ' + `${old}/pts /dev/pts`,
      `touch /dev/log; mount --bind ${sock} /dev/log`,
      `cd ${tmp}`,
      `exec setpriv --reuid ${USER} --regid ${USER} --init-groups -- "$@"`,
    ].join('\n');
    const r = spawnSync('unshare', ['-m', 'bash', '-c', script, 'bash', ...command], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    expect(r.status, `${command.join(' ')}: ${r.stderr}`).to.equal(0);
  }

  function discovery(events: { fields: EventFields; id: string }[]): Discovery {
    return new Discovery({
      spoolDir: tmp,
      computer: 'J-PC',
      collections: [],
      rules: () => compileRules([parseRule('id', JSON.stringify({ action: 'allow', match: { path: '/usr/bin/id' } }), 'ElevationRules')]),
      denyGroups: () => [],
      record: async (fields, id) => {
        events.push({ fields, id });
        return true;
      },
      log: (level, message) => logged.push(`${level} ${message}`),
      journalArgs: [`--namespace=${NS}`],
      publisherOf: null,
    });
  }

  before(async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (journald instance, mount namespace, test account)', 'run the tests as root');
    requireComponent(this, existsSync('/usr/bin/sudo') && commandWorks('/usr/bin/sudo', ['-V']), 'sudo', 'apt-get install sudo');
    requireComponent(this, existsSync(JOURNALD) && commandWorks('journalctl', ['--version']) && commandWorks('unshare', ['--version']), 'systemd-journald, journalctl and unshare', 'apt-get install systemd util-linux');
    tmp = mkdtempSync(path.join(tmpdir(), 'ascdisc-j-'));
    chmodSync(tmp, 0o755);
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    expect(spawnSync('useradd', ['--no-create-home', '--shell', '/bin/sh', USER]).status).to.equal(0);
    writeFileSync(SUDOERS, `${USER} ALL=(root) NOPASSWD: /usr/bin/id\n`, { mode: 0o440 });
    expect(spawnSync('visudo', ['-cf', SUDOERS]).status).to.equal(0);
    journald = spawn(JOURNALD, [NS], { stdio: 'ignore' });
    await until('the journald instance', () => (existsSync(sock) ? true : undefined));
  });

  after(async () => {
    if (journald && journald.exitCode === null) {
      const exited = new Promise((r) => journald?.once('exit', r));
      journald.kill('SIGTERM');
      await exited;
    }
    rmSync(SUDOERS, { force: true });
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    const machine = existsSync('/etc/machine-id') ? spawnSync('cat', ['/etc/machine-id'], { encoding: 'utf8' }).stdout.trim() : '';
    if (machine) rmSync(`/var/log/journal/${machine}.${NS}`, { recursive: true, force: true });
    rmSync(`/run/systemd/journal.${NS}`, { recursive: true, force: true });
    rmSync(`/run/log/journal/${machine}.${NS}`, { recursive: true, force: true });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("reports sudo's commands from the journal once each, not a logger line, and resumes after its cursor", async () => {
    asUserLogging(['/usr/bin/sudo', '-n', '/usr/bin/id', '-u']);
    asUserLogging(['logger', '-t', 'sudo', `${USER} : PWD=/ ; USER=root ; COMMAND=/usr/bin/forged`]);
    asUserLogging(['/usr/bin/sudo', '-n', '/usr/bin/id', '-g']);
    const first: { fields: EventFields; id: string }[] = [];
    const d = discovery(first);
    d.configure({ enabled: true, source: 'journal', logFile: '/unused' });
    // journalctl's own match (_COMM=sudo) already leaves the logger line out; the follower's check is unit-tested (discovery-parse).
    await until(() => `two commands from the journal (${JSON.stringify(first)} ${JSON.stringify(d.stats)} ${logged.join('; ')} journal: ${spawnSync('journalctl', [`--namespace=${NS}`, '-o', 'cat', '--no-pager'], { encoding: 'utf8' }).stdout.slice(0, 1500)})`, () => (first.length >= 2 ? true : undefined));
    await d.stop();
    expect(first.map((e) => [e.fields.user, e.fields.processPath, e.fields.args, e.fields.result, (e.fields.data as { runAs?: string; source?: string }).runAs])).to.deep.equal([
      [USER, '/usr/bin/id', '-u', 'would-allow', 'root'],
      [USER, '/usr/bin/id', '-g', 'would-allow', 'root'],
    ]);
    expect((first[0]?.fields.data as { cwd?: string; source?: string })).to.include({ cwd: tmp, source: 'journal' });
    expect(first.map((e) => e.fields.processPath)).to.not.include('/usr/bin/forged');

    // Stopped, one more command, started again: only the new one (after the saved cursor).
    asUserLogging(['/usr/bin/sudo', '-n', '/usr/bin/id', '-G']);
    const second: { fields: EventFields; id: string }[] = [];
    const again = discovery(second);
    again.configure({ enabled: true, source: 'journal', logFile: '/unused' });
    await until('the new command', () => (second.some((e) => e.fields.args === '-G') ? true : undefined));
    await again.stop();
    expect(second.map((e) => e.fields.args)).to.deep.equal(['-G']);
    expect(new Set([...first, ...second].map((e) => e.id)).size).to.equal(3);
  });
});
