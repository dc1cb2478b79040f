/**
 * Discovery's pure parts, on byte-literal fixtures: sudo's classic log line, sudo's JSON log
 * (as sudo 1.9.13 on Debian 12 writes it), `journalctl -o json` entries and who the journal
 * says wrote them, the ids derived from positions, the saved position, and the policy.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, chownSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parseSudoLine, parseSudoJson, scanJsonLog, argsOf } from '../../agent/discovery/sudo-record.js';
import { journalEntry } from '../../agent/discovery/journal-entry.js';
import { idOf, loadPosition, savePosition } from '../../agent/discovery/position.js';
import { commandLineOf } from '../../agent/daemon/program.js';
import { agentSettingsOf } from '../../agent/daemon/settings.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { writeAdmx } from '../../src/formats/admx/index.js';
import { encodePolicyState, resolveEffectivePolicies } from '../../src/policy/index.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

/** What sudo 1.9.13p3 wrote for `sudo /usr/bin/id -u "a b;c"` then `sudo id` (runenv shortened). */
const SUDO_JSON_LOG =
  '{\n' +
  '    "accept": {\n' +
  '        "uuid": "bda243809e-3d4a-43bb-75db-b6c2de9a0f",\n' +
  '        "server_time": {\n            "seconds": 1796361949,\n            "nanoseconds": 953232171,\n            "iso8601": "20261204052549Z",\n            "localtime": "Dec  4 05:25:49"\n        },\n' +
  '        "submit_time": {\n            "seconds": 1796361949,\n            "nanoseconds": 936388424,\n            "iso8601": "20261204052549Z",\n            "localtime": "Dec  4 05:25:49"\n        },\n' +
  '        "submituser": "ascdisc_t1",\n        "command": "/usr/bin/id",\n        "runuser": "root",\n        "runcwd": "/tmp",\n        "submithost": "vm",\n        "submitcwd": "/tmp",\n        "runuid": 0,\n        "columns": 80,\n        "lines": 24,\n' +
  '        "runargv": [\n            "/usr/bin/id",\n            "-u",\n            "a b;c"\n        ],\n' +
  '        "runenv": [\n            "TERM=xterm",\n            "SUDO_COMMAND=/usr/bin/id -u a b;c",\n            "SUDO_USER=ascdisc_t1"\n        ]\n' +
  '    },\n' +
  '    "accept": {\n' +
  '        "uuid": "f7abcaafd4-849e-4882-ae99-8274320a0e",\n' +
  '        "submit_time": {\n            "seconds": 1796361950,\n            "nanoseconds": 684730,\n            "iso8601": "20261204052550Z",\n            "localtime": "Dec  4 05:25:50"\n        },\n' +
  '        "submituser": "ascdisc_t1",\n        "command": "/usr/bin/id",\n        "runuser": "root",\n        "runcwd": "/tmp",\n        "ttyname": "/dev/pts/3",\n        "runargv": [\n            "id"\n        ]\n' +
  '    }\n' +
  '}\n';

describe('discovery: sudo records, journal entries, positions (pure)', () => {
  describe("sudo's classic log line", () => {
    it('reads an accepted command: user (padding trimmed), terminal, folder, run-as user, program, arguments', () => {
      const r = parseSudoLine('   alice : TTY=pts/0 ; PWD=/home/alice/src ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx');
      expect(r).to.deep.equal({ ok: true, record: { kind: 'accept', user: 'alice', runAs: 'root', command: '/usr/bin/systemctl', argsText: 'restart nginx', cwd: '/home/alice/src', tty: 'pts/0' } });
    });

    it('reads a line without TTY= (sudo 1.9.13 without a terminal)', () => {
      expect(parseSudoLine('ascdisc_j1 : PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id -u')).to.deep.equal({ ok: true, record: { kind: 'accept', user: 'ascdisc_j1', runAs: 'root', command: '/usr/bin/id', argsText: '-u', cwd: '/tmp' } });
      expect(parseSudoLine('bob : command not allowed ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/cat')).to.deep.include({ ok: true });
    });

    it('reads GROUP and ENV in their places, and a command without arguments', () => {
      const r = parseSudoLine('bob : TTY=unknown ; PWD=/ ; USER=www-data ; GROUP=adm ; ENV=A=1 ; COMMAND=/usr/bin/id');
      expect(r.ok && r.record).to.deep.equal({ kind: 'accept', user: 'bob', runAs: 'www-data', command: '/usr/bin/id', argsText: '', cwd: '/' });
    });

    it('reads a refusal (a reason before TTY=) as kind reject', () => {
      const r = parseSudoLine('bob : command not allowed ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow');
      expect(r.ok && r.record.kind).to.equal('reject');
      expect(r.ok && r.record.reason).to.equal('command not allowed');
    });

    it('keeps " ; " inside the arguments (after the one COMMAND=)', () => {
      const r = parseSudoLine('bob : TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh -c a ; b');
      expect(r.ok && r.record.argsText).to.equal('-c a ; b');
    });

    it('refuses a folder or arguments that forge fields: read two ways is never guessed', () => {
      // cd "/tmp/x ; USER=root ; COMMAND=/usr/bin/true" then sudo /bin/evil
      expect(parseSudoLine('eve : TTY=pts/2 ; PWD=/tmp/x ; USER=root ; COMMAND=/usr/bin/true ; USER=root ; COMMAND=/bin/evil')).to.deep.equal({ ok: false, why: 'ambiguous' });
      expect(parseSudoLine('eve : TTY=pts/2 ; PWD=/tmp/x ; GROUP=adm ; USER=root ; COMMAND=/bin/evil')).to.deep.equal({ ok: false, why: 'ambiguous' });
      expect(parseSudoLine('eve : TTY=pts/2 ; PWD=/tmp/x ; USER=nobody ; USER=root ; COMMAND=/bin/evil')).to.deep.equal({ ok: false, why: 'ambiguous' });
      expect(parseSudoLine('eve : USER=root ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/bin/evil')).to.deep.equal({ ok: false, why: 'ambiguous' });
      expect(parseSudoLine('eve : TTY=pts/2 ; PWD=/tmp\n ; USER=root ; COMMAND=/bin/evil')).to.deep.equal({ ok: false, why: 'ambiguous' });
      // A folder that ends the line early: no USER= before COMMAND=.
      expect(parseSudoLine('eve : TTY=pts/2 ; PWD=/x ; COMMAND=/usr/bin/true')).to.deep.equal({ ok: false, why: 'malformed' });
    });

    it('ignores lines that are not commands (PAM, continuations), and refuses bad names', () => {
      expect(parseSudoLine('pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)')).to.deep.equal({ ok: false, why: 'not-a-command' });
      expect(parseSudoLine('(command continued) more args')).to.deep.equal({ ok: false, why: 'not-a-command' });
      expect(parseSudoLine('a b : TTY=x ; PWD=/ ; USER=root ; COMMAND=/bin/id')).to.deep.equal({ ok: false, why: 'not-a-command' });
      expect(parseSudoLine('alice : TTY=x ; PWD=/ ; USER=ro ot ; COMMAND=/bin/id')).to.deep.equal({ ok: false, why: 'malformed' });
    });
  });

  describe("sudo's JSON log file", () => {
    it('finds each event at the offset of its key, and where reading resumes', () => {
      const buf = bytes(SUDO_JSON_LOG);
      const scan = scanJsonLog(buf, 0);
      expect(scan.foreign).to.equal(false);
      expect(scan.events.map((e) => e.kind)).to.deep.equal(['accept', 'accept']);
      const first = scan.events[0]!;
      const second = scan.events[1]!;
      expect(first.offset).to.equal(6);
      expect(buf.subarray(first.offset, first.offset + 8).toString()).to.equal('"accept"');
      expect(buf.subarray(second.offset, second.offset + 8).toString()).to.equal('"accept"');
      expect(buf[first.end - 1]).to.equal(0x7d);
      expect(scan.next).to.equal(second.end);
      expect(buf.subarray(scan.next).toString()).to.equal('\n}\n');
    });

    it('resumes after the last event as sudo appends over the closing brace, and waits for an event half written', () => {
      const buf = bytes(SUDO_JSON_LOG);
      const next = scanJsonLog(buf, 0).next;
      const appended = Buffer.concat([buf.subarray(0, next), bytes(',\n    "reject": {\n        "submituser": "x}{\\"y",\n        "command": "/usr/bin/cat",\n        "runuser": "root",\n        "reason": "command not allowed"\n    }\n}\n')]);
      const again = scanJsonLog(appended.subarray(next), next);
      expect(again.events.map((e) => [e.kind, e.offset])).to.deep.equal([['reject', next + 6]]);
      expect(parseSudoJson('reject', again.events[0]!.body)).to.deep.equal({ ok: true, record: { kind: 'reject', user: 'x}{"y', runAs: 'root', command: '/usr/bin/cat', argv: [], reason: 'command not allowed' } });
      // Half written: nothing, and the resume point stays.
      const half = scanJsonLog(appended.subarray(next, appended.length - 40), next);
      expect(half).to.deep.equal({ events: [], next, foreign: false });
    });

    it('says when the file is not a JSON log (the classic text format)', () => {
      expect(scanJsonLog(bytes('Dec  4 05:25:49 : alice : TTY=pts/0 ; PWD=/ ; USER=root ;\n    COMMAND=/usr/bin/id\n'), 0).foreign).to.equal(true);
      expect(scanJsonLog(bytes('garbage'), 100).foreign).to.equal(true);
      expect(scanJsonLog(bytes(''), 0)).to.deep.equal({ events: [], next: 0, foreign: false });
    });

    it("reads an accept event: user, program, arguments one by one, folder, terminal, sudo's time", () => {
      const scan = scanJsonLog(bytes(SUDO_JSON_LOG), 0);
      const a = parseSudoJson('accept', scan.events[0]!.body);
      expect(a).to.deep.equal({ ok: true, record: { kind: 'accept', user: 'ascdisc_t1', runAs: 'root', command: '/usr/bin/id', argv: ['-u', 'a b;c'], cwd: '/tmp', time: '2026-12-04T05:25:49.936Z' } });
      expect(a.ok && argsOf(a.record, commandLineOf)).to.equal('-u "a b;c"');
      const b = parseSudoJson('accept', scan.events[1]!.body);
      expect(b.ok && b.record.tty).to.equal('/dev/pts/3');
      expect(b.ok && b.record.argv).to.deep.equal([]);
    });

    it('skips what is not a command, and refuses wrong shapes', () => {
      expect(parseSudoJson('exit', {})).to.deep.equal({ ok: false, why: 'not-a-command' });
      expect(parseSudoJson('accept', [])).to.deep.equal({ ok: false, why: 'malformed' });
      expect(parseSudoJson('accept', { submituser: 'a', command: '/bin/id', runuser: 'root', runargv: [1] })).to.deep.equal({ ok: false, why: 'malformed' });
      expect(parseSudoJson('accept', { submituser: 'a b', command: '/bin/id', runuser: 'root' })).to.deep.equal({ ok: false, why: 'malformed' });
      expect(parseSudoJson('accept', { submituser: 'a', command: '', runuser: 'root' })).to.deep.equal({ ok: false, why: 'malformed' });
    });
  });

  describe('journal entries (journalctl -o json)', () => {
    const SUDO = new Set(['/usr/bin/sudo']);
    // Recorded from a real journald (a namespace instance, Debian 12, systemd 252) that real sudo 1.9.13 logged to: no terminal, so no TTY=; _UID is the user's.
    const RECORDED = "{\"_COMM\":\"sudo\",\"__CURSOR\":\"s=1f7852f2eb07401fb16ffea9860966c1;i=3;b=4047c67d33b34060a823e7ffa3fe340c;m=b68cfe5a8;t=661c8e5580df1;x=ef6ae3bfc2074626\",\"PRIORITY\":\"5\",\"_BOOT_ID\":\"4047c67d33b34060a823e7ffa3fe340c\",\"__REALTIME_TIMESTAMP\":\"1796365329370609\",\"_CMDLINE\":\"sudo -n /usr/bin/id -u\",\"_MACHINE_ID\":\"3d1219c7c4c5404aaa1f6d2a48adfda4\",\"_UID\":\"1002\",\"SYSLOG_FACILITY\":\"10\",\"_GID\":\"1002\",\"_SOURCE_REALTIME_TIMESTAMP\":\"1796365329370356\",\"_RUNTIME_SCOPE\":\"system\",\"__MONOTONIC_TIMESTAMP\":\"49003095464\",\"_HOSTNAME\":\"vm\",\"SYSLOG_IDENTIFIER\":\"sudo\",\"_EXE\":\"/usr/bin/sudo\",\"MESSAGE\":\"ascdisc_j1 : PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id -u\",\"_TRANSPORT\":\"syslog\",\"_PID\":\"5603\",\"_CAP_EFFECTIVE\":\"1fffeffffff\",\"_NAMESPACE\":\"ascdiscj\",\"SYSLOG_TIMESTAMP\":\"Dec  4 06:22:09 \"}";
    const line = (over: Record<string, unknown> = {}): string => JSON.stringify({ ...(JSON.parse(RECORDED) as Record<string, unknown>), ...over });

    it("takes an entry the journal says sudo wrote (sudo's executable, _COMM sudo, through syslog), with the sender's uid and the journal's time", () => {
      const e = journalEntry(RECORDED, SUDO);
      expect(e.cursor).to.equal('s=1f7852f2eb07401fb16ffea9860966c1;i=3;b=4047c67d33b34060a823e7ffa3fe340c;m=b68cfe5a8;t=661c8e5580df1;x=ef6ae3bfc2074626');
      expect(e.outcome).to.deep.equal({ ok: true, record: { kind: 'accept', user: 'ascdisc_j1', runAs: 'root', command: '/usr/bin/id', argsText: '-u', cwd: '/tmp', time: '2026-12-04T06:22:09.370Z' } });
      expect('senderUid' in e && e.senderUid).to.equal(1002);
      const tty = journalEntry(line({ MESSAGE: '   alice : TTY=pts/0 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id -u' }), SUDO);
      expect(tty.outcome.ok && tty.outcome.record.tty).to.equal('pts/0');
    });

    it('refuses a forged entry: logger -t sudo, a copy of sudo, a user process, a repeated field', () => {
      expect(journalEntry(line({ _COMM: 'logger', _EXE: '/usr/bin/logger', _UID: '1001' }), SUDO).outcome).to.deep.equal({ ok: false, why: 'untrusted' });
      expect(journalEntry(line({ _TRANSPORT: 'journal' }), SUDO).outcome).to.deep.equal({ ok: false, why: 'untrusted' });
      expect(journalEntry(line({ _EXE: '/tmp/sudo' }), SUDO).outcome).to.deep.equal({ ok: false, why: 'untrusted' });
      expect(journalEntry(line({ _UID: ['0', '0'] }), SUDO).outcome).to.deep.equal({ ok: false, why: 'untrusted' });
      expect(journalEntry(line({ _EXE: undefined }), SUDO).outcome).to.deep.equal({ ok: false, why: 'untrusted' });
    });

    it('reads a MESSAGE journalctl gives as bytes, and a JSON (@cee) message', () => {
      const msg = [...bytes('al\xffce : PWD=/ ; USER=root ; COMMAND=/usr/bin/id')];
      msg.splice(2, 2, 0xff);
      const e = journalEntry(line({ MESSAGE: msg, _CMDLINE: 'sudo /usr/bin/id' }), SUDO);
      expect(e.outcome.ok && e.outcome.record.user).to.equal('al\ufffdce');
      const cee = journalEntry(line({ MESSAGE: '@cee:{"sudo":{"accept":{"submituser":"bob","command":"/usr/bin/id","runuser":"root","runargv":["id","-u"],"runcwd":"/srv","submit_time":{"seconds":1796361949,"nanoseconds":0}}}}' }), SUDO);
      expect(cee.outcome).to.deep.equal({ ok: true, record: { kind: 'accept', user: 'bob', runAs: 'root', command: '/usr/bin/id', argv: ['-u'], cwd: '/srv', time: '2026-12-04T05:25:49.000Z' } });
      // The PAM lines sudo logs too are not commands.
      const pam = journalEntry(line({ MESSAGE: "pam_limits(sudo:session): Could not set limit for 'core' to soft=0, hard=-1: Operation not permitted; uid=1002,euid=0" }), SUDO);
      expect(pam.outcome).to.deep.equal({ ok: false, why: 'not-a-command' });
    });

    it("refuses a classic record that does not agree with sudo's own command line (_CMDLINE): the split-line forgery", () => {
      // A working folder ending in " ; USER=root ; COMMAND=/bin/bash -p" before a long word: sudo
      // splits the line at that blank, and its first part reads as a record of bash (seen with sudo 1.9.13).
      const head = `alice : PWD=/tmp/w/${'A'.repeat(600)}/x ; USER=root ; COMMAND=/bin/bash -p`;
      expect(journalEntry(line({ MESSAGE: head, _CMDLINE: 'sudo -n /usr/bin/true' }), SUDO).outcome).to.deep.equal({ ok: false, why: 'ambiguous' });
      // The program must be the one sudo was started with: by its path, or by a bare name found on secure_path.
      const id = 'alice : PWD=/ ; USER=root ; COMMAND=/usr/bin/id -u';
      expect(journalEntry(line({ MESSAGE: id, _CMDLINE: 'sudo -n /usr/bin/id -u' }), SUDO).outcome.ok).to.equal(true);
      expect(journalEntry(line({ MESSAGE: id, _CMDLINE: 'sudo id -u' }), SUDO).outcome.ok).to.equal(true);
      expect(journalEntry(line({ MESSAGE: id, _CMDLINE: 'sudo id -g' }), SUDO).outcome.ok).to.equal(false);
      expect(journalEntry(line({ MESSAGE: id, _CMDLINE: 'sudo /home/alice/id -u' }), SUDO).outcome.ok).to.equal(false);
      expect(journalEntry(line({ MESSAGE: 'alice : PWD=/ ; USER=root ; COMMAND=/home/alice/id -u', _CMDLINE: 'sudo id -u' }), SUDO).outcome.ok).to.equal(false);
      expect(journalEntry(line({ MESSAGE: id, _CMDLINE: 'evil /usr/bin/id -u' }), SUDO).outcome.ok).to.equal(false);
      // The command is where sudo's option grammar puts it, not any word with the right arguments after it.
      expect(journalEntry(line({ MESSAGE: 'alice : PWD=/tmp/p ; USER=root ; COMMAND=/usr/bin/bash -p', _CMDLINE: 'sudo /usr/bin/printf %s /usr/bin/bash -p' }), SUDO).outcome.ok).to.equal(false);
      expect(journalEntry(line({ MESSAGE: 'alice : PWD=/tmp/p ; USER=root ; COMMAND=/usr/bin/bash', _CMDLINE: 'sudo /usr/bin/ls /usr/bin/bash' }), SUDO).outcome.ok).to.equal(false);
      // An option whose value may hold blanks makes the line unreadable one way only.
      expect(journalEntry(line({ MESSAGE: 'alice : PWD=/ ; USER=root ; COMMAND=/usr/bin/bash -p /usr/bin/echo hi', _CMDLINE: 'sudo -p x /usr/bin/bash -p /usr/bin/echo hi' }), SUDO).outcome.ok).to.equal(false);
      // The run-as user is the one the options name (root without -u), bundled or not, and -- ends the options.
      expect(journalEntry(line({ MESSAGE: id, _CMDLINE: 'sudo -u bob /usr/bin/id -u' }), SUDO).outcome.ok).to.equal(false);
      const asBob = 'alice : PWD=/ ; USER=bob ; COMMAND=/usr/bin/id -u';
      for (const c of ['sudo -u bob /usr/bin/id -u', 'sudo -nu bob /usr/bin/id -u', 'sudo -nubob /usr/bin/id -u', 'sudo --user=bob -- /usr/bin/id -u', 'sudo -E --user bob /usr/bin/id -u']) {
        expect(journalEntry(line({ MESSAGE: asBob, _CMDLINE: c }), SUDO).outcome.ok, c).to.equal(true);
      }
      // A bare name counts only from the system folders, not /usr/local; a relative path is not verifiable.
      expect(journalEntry(line({ MESSAGE: 'alice : PWD=/ ; USER=root ; COMMAND=/usr/local/bin/id -u', _CMDLINE: 'sudo id -u' }), SUDO).outcome.ok).to.equal(false);
      expect(journalEntry(line({ MESSAGE: id, _CMDLINE: 'sudo ./id -u' }), SUDO).outcome.ok).to.equal(false);
      const noCmdline = JSON.parse(line({ MESSAGE: id })) as Record<string, unknown>;
      delete noCmdline._CMDLINE;
      expect(journalEntry(JSON.stringify(noCmdline), SUDO).outcome).to.deep.equal({ ok: false, why: 'ambiguous' });
    });

    it('gives no cursor for a line that is not an entry', () => {
      expect(journalEntry('not json', SUDO).cursor).to.equal(null);
      expect(journalEntry('{"MESSAGE":"x"}', SUDO).cursor).to.equal(null);
      expect(journalEntry('[1]', SUDO).cursor).to.equal(null);
    });
  });

  describe('positions and ids', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'ascdisc-pos-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('derives the same id from the same position, another from any other', () => {
      expect(idOf('journal', 's=1;i=2')).to.equal(idOf('journal', 's=1;i=2'));
      expect(idOf('journal', 's=1;i=2')).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(idOf('journal', 's=1;i=2')).to.not.equal(idOf('journal', 's=1;i=3'));
      expect(idOf('sudo-json-log', '1:2:0:6')).to.not.equal(idOf('journal', '1:2:0:6'));
    });

    it('saves the position root-only and reads it back; ignores one not owned by root, a link, or a wrong shape', async function () {
      if (process.getuid?.() !== 0) this.skip();
      const file = path.join(dir, 'discovery-position.json');
      const pos = { journal: { cursor: 's=1;i=2' }, log: { file: '/var/log/sudo.json', dev: 2049, ino: 77, birth: 1796361949000, offset: 1234 } };
      await savePosition(file, pos);
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      expect(await loadPosition(file)).to.deep.equal(pos);
      expect(JSON.parse(readFileSync(file, 'utf8'))).to.deep.equal(pos);
      const link = path.join(dir, 'link.json');
      symlinkSync(file, link);
      expect(await loadPosition(link)).to.deep.equal({});
      const other = path.join(dir, 'other.json');
      writeFileSync(other, JSON.stringify(pos));
      chownSync(other, 65534, 65534);
      expect(await loadPosition(other)).to.deep.equal({});
      writeFileSync(other, JSON.stringify({ log: { ...pos.log, offset: -1 }, journal: { cursor: 5 } }));
      chownSync(other, 0, 0);
      expect(await loadPosition(other)).to.deep.equal({});
    });
  });

  describe('the Discovery policy', () => {
    const settingsOf = (state: 'enabled' | 'disabled', values: Record<string, string> = {}) =>
      agentSettingsOf(resolveEffectivePolicies(ASCEND_CATALOG, [{ source: 'gpo', entries: encodePolicyState(requirePolicy(ASCEND_CATALOG, 'Discovery'), state, values) }])).discovery;

    it('is in the ADMX and ADML, with its help and both sources', () => {
      const { admx, adml } = writeAdmx(ASCEND_CATALOG);
      expect(admx).to.include('name="Discovery"').and.include('valueName="Source"').and.include('valueName="LogFile"');
      expect(adml).to.include('<string id="Discovery">Discovery</string>').and.include("sudo's JSON log file");
      expect(adml).to.match(/Discovery_Help">Reports what users run as root today/);
    });

    it('is read from the applied policy: on with its source and file, off when disabled or not configured', () => {
      expect(agentSettingsOf([]).discovery).to.deep.equal({ enabled: false, source: 'journal', logFile: '/var/log/sudo.json' });
      expect(settingsOf('enabled', { Source: 'sudo-json-log', LogFile: '/var/log/sudo/../sudo-json.log' })).to.deep.equal({ enabled: true, source: 'sudo-json-log', logFile: '/var/log/sudo-json.log' });
      expect(settingsOf('enabled', { Source: 'journal', LogFile: 'relative.log' })).to.deep.equal({ enabled: true, source: 'journal', logFile: '/var/log/sudo.json' });
      expect(settingsOf('disabled').enabled).to.equal(false);
    });
  });
});
