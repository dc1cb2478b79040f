/**
 * Issue 20, "the first hour" (items 1-4), through the built CLI as a new admin meets it:
 * `keys init` without a desktop session, `pol set` starting from the policy's current values,
 * `server start` writing one log format, `policy list` / `policy show` and the flag help.
 * `gpo set` against the real DC is in first-hour-gpo.test.ts; the log formatter's pure parts
 * in server-log.test.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { commandWorks, requireComponent } from '../support/components.js';
import { polEntry, writeRegistryPol } from '../../src/formats/registry-pol/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(root, 'bin', 'run.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

function parse(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function ascend(args: string[], env: NodeJS.ProcessEnv = {}, cwd = root): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: parse(r.stdout) };
}

/** A user error: non-zero, one line on stderr, no stack trace. */
function oneLineError(r: Run): string {
  expect(r.status, r.stderr).to.not.equal(0);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(r.stderr).to.not.match(/\n\s+at /);
  return lines[0] ?? '';
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}

async function until(what: string, check: () => boolean, ms: number, detail: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function get(url: string): Promise<number> {
  return new Promise((done, fail) => {
    http.get(url, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    }).on('error', fail);
  });
}

describe('issue 20, the first hour (built CLI)', function () {
  this.timeout(120_000);
  let tmp: string;

  before(() => {
    if (!existsSync(path.join(root, 'dist', 'src', 'cli', 'commands'))) throw new Error('the CLI is not built: run "npm run build"');
    tmp = mkdtempSync(path.join(tmpdir(), 'h20a-first-hour-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  describe('1. keys init without a desktop session', () => {
    const noBus: [string, (home: string) => NodeJS.ProcessEnv][] = [
      ['DBUS_SESSION_BUS_ADDRESS unset', (home) => ({ ASCEND_HOME: home, DBUS_SESSION_BUS_ADDRESS: undefined, DISPLAY: undefined })],
      ['DBUS_SESSION_BUS_ADDRESS pointing nowhere', (home) => ({ ASCEND_HOME: home, DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(home, '..', 'no-bus')}`, DISPLAY: undefined })],
    ];
    for (const [name, envOf] of noBus) {
      it(`says in one line that no keychain is available and what to do, not a raw D-Bus error (${name}); nothing is stored anywhere`, () => {
        const home = path.join(tmp, `keys-${name.replace(/\W+/g, '-')}`);
        const env = envOf(home);
        const r = ascend(['keys', 'init'], env);
        const line = oneLineError(r);
        expect(r.status).to.equal(1);
        expect(line).to.match(/^Error: no OS keychain is available to keep the private key in: no D-Bus session bus \(not a desktop session/);
        expect(line).to.include(`--key-file ${path.join(home, 'signing-key.pem')}`);
        // The library's words stay out of the line a new admin reads.
        expect(line).to.not.match(/DBus error|dbus-daemon|autolaunch|Platform failure|X11|Failed to connect/i);
        const j = ascend(['keys', 'init', '--json'], env);
        expect(j.json.error.code).to.equal('ASC_KEYCHAIN_UNAVAILABLE');
        // No silent fallback: no key file and no key in the index.
        expect(existsSync(path.join(home, 'signing-key.pem'))).to.equal(false);
        expect(ascend(['keys', 'list', '--json'], env).json.keys ?? []).to.deep.equal([]);
        // With ASCEND_DEBUG=1 the raw reason is there for whoever debugs it.
        expect(oneLineError(ascend(['keys', 'init'], { ...env, ASCEND_DEBUG: '1' }))).to.match(/no D-Bus session bus \(.*\): .*\S/);
        // The command the line suggests works as it is printed.
        const made = ascend(['keys', 'init', '--key-file', path.join(home, 'signing-key.pem'), '--json'], env);
        expect(made.status, made.stderr).to.equal(0);
        expect(made.json.key.storage).to.equal('file');
        expect(statSync(path.join(home, 'signing-key.pem')).mode & 0o777).to.equal(0o600);
      });
    }
  });

  describe('2. pol set starts from the current values of an Enabled policy', () => {
    const values = (file: string): Record<string, unknown> => {
      const r = ascend(['pol', 'effective', file, '--json']);
      expect(r.status, r.stderr).to.equal(0);
      return r.json.policies.find((p: any) => p.id === 'ClientDataCollection').values;
    };

    it('changes only the value named, keeps the others, and --reset starts from the defaults', () => {
      const file = path.join(tmp, 'keep.pol');
      const first = ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorHost=collector.h20a.example', '--value', 'UploadIntervalSeconds=120', '--value', 'UseTls=false']);
      expect(first.status, first.stderr).to.equal(0);
      // The command of the issue: only the port, on a policy Enabled already.
      const port = ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorPort=9000']);
      expect(port.status, port.stderr).to.equal(0);
      expect(port.stdout).to.match(/kept as they were: CollectorHost, UseTls, UploadIntervalSeconds/);
      expect(values(file)).to.deep.include({ CollectorHost: 'collector.h20a.example', CollectorPort: 9000, UploadIntervalSeconds: 120, UseTls: false });

      const reset = ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--reset', '--value', 'CollectorHost=other.h20a.example', '--json']);
      expect(reset.status, reset.stderr).to.equal(0);
      expect(reset.json.kept).to.deep.equal([]);
      expect(values(file)).to.deep.include({ CollectorHost: 'other.h20a.example', CollectorPort: 8003, UploadIntervalSeconds: 60, UseTls: true });
      // --reset needs the required value again; it is not taken from the file.
      expect(oneLineError(ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--reset']))).to.match(/CollectorHost: a value is required/);
      expect(oneLineError(ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'disabled', '--reset']))).to.match(/--reset goes with --state enabled/);

      // A list named is replaced whole; the enum not named stays.
      const tse = path.join(tmp, 'tse.pol');
      expect(ascend(['pol', 'set', tse, 'TemporarySessionElevation', '--state', 'enabled', '--value', 'Groups=S-1-5-32-544,CORP\\Helpdesk', '--value', 'IntegrityLevel=System']).status).to.equal(0);
      expect(ascend(['pol', 'set', tse, 'TemporarySessionElevation', '--state', 'enabled', '--value', 'Groups=S-1-5-32-555']).status).to.equal(0);
      const t = ascend(['pol', 'effective', tse, '--json']).json.policies.find((p: any) => p.id === 'TemporarySessionElevation');
      expect(t.values).to.deep.include({ Groups: ['S-1-5-32-555'], IntegrityLevel: 'System' });

      // A policy that is not Enabled starts from the defaults: its required value must be given.
      const off = path.join(tmp, 'disabled.pol');
      expect(ascend(['pol', 'set', off, 'ClientDataCollection', '--state', 'disabled']).status).to.equal(0);
      expect(oneLineError(ascend(['pol', 'set', off, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorPort=9000']))).to.match(
        /^Error: ClientDataCollection\.CollectorHost: a value is required \(no default\)/,
      );
    });

    it('reports every invalid or missing value at once, in one line, and writes nothing', () => {
      const file = path.join(tmp, 'all-at-once.pol');
      const r = ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorPort=99999', '--value', 'UseTls=maybe', '--value', 'UploadIntervalSeconds=soon', '--value', 'Nope=1', '--value', '__proto__=x']);
      const line = oneLineError(r);
      for (const part of [
        'ClientDataCollection has no element "Nope"',
        'ClientDataCollection has no element "__proto__"',
        'ClientDataCollection.CollectorHost: a value is required (no default)',
        'ClientDataCollection.CollectorPort: 99999 is outside 1..65535',
        'ClientDataCollection.UseTls: "maybe" is not true or false',
        'ClientDataCollection.UploadIntervalSeconds: "soon" is not a whole number',
      ]) {
        expect(line).to.include(part);
      }
      expect(existsSync(file)).to.equal(false);

      // On an Enabled policy a bad value is refused and the file stays as it was, byte for byte.
      expect(ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorHost=h']).status).to.equal(0);
      const before = readFileSync(file);
      const bad = oneLineError(ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorPort=99999', '--value', 'CollectElevations=perhaps']));
      expect(bad).to.match(/CollectorPort: 99999 is outside 1\.\.65535; ClientDataCollection\.CollectElevations: "perhaps" is not true or false/);
      expect(bad).to.not.match(/CollectorHost/);
      expect(readFileSync(file).equals(before)).to.equal(true);

      // Items of an explicit-value list that are not name=value, with another problem.
      const k = oneLineError(ascend(['pol', 'set', path.join(tmp, 'k.pol'), 'TemporarySessionElevation', '--state', 'enabled', '--value', 'TrustedKeys=nokey', '--value', 'IntegrityLevel=Root']));
      expect(k).to.include('TemporarySessionElevation.IntegrityLevel: "Root" is not one of Medium, High, System');
      expect(k).to.include('TemporarySessionElevation.TrustedKeys: item "nokey" is not name=value');
    });

    it('a value the file holds that is out of range is named as the current value', () => {
      // Written by another tool: CollectorPort 70000 (a REG_DWORD past the element's range).
      const file = path.join(tmp, 'foreign.pol');
      const key = 'SOFTWARE\\Policies\\Ascend\\PrivilegeManager\\ClientDataCollection';
      writeFileSync(file, writeRegistryPol([polEntry.dword(key, 'Enabled', 1), polEntry.sz(key, 'CollectorHost', 'h'), polEntry.dword(key, 'CollectorPort', 70000)]));
      const line = oneLineError(ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--value', 'UseTls=false']));
      expect(line).to.match(/CollectorPort: 70000 is outside 1\.\.65535 \(the value the policy has now: give another or --reset\)/);
      expect(ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorPort=8080']).status).to.equal(0);
    });
  });

  describe('3. server start writes one log format', () => {
    const started: ChildProcess[] = [];
    afterEach(async () => {
      for (const p of started.splice(0)) {
        if (p.exitCode === null && p.signalCode === null) {
          p.kill('SIGKILL');
          await new Promise((r) => p.once('exit', r));
        }
      }
    });

    /** Starts the collector with pipes, makes one request, stops it; its stdout and stderr. */
    async function pipedRun(extra: string[]): Promise<{ stdout: string; stderr: string }> {
      const data = mkdtempSync(path.join(tmp, 'collector-'));
      const env: NodeJS.ProcessEnv = { ...process.env, ASCEND_LOG_LEVEL: 'info' };
      delete env.JOURNAL_STREAM;
      const proc = spawn(process.execPath, [bin, 'server', 'start', '--port', '0', '--insecure-http', '--data', data, ...extra], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      started.push(proc);
      let stdout = '';
      let stderr = '';
      proc.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
      proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
      await until('the collector to listen', () => /Stop with Ctrl\+C/.test(stdout) || proc.exitCode !== null, 60_000, () => stdout + stderr);
      expect(proc.exitCode, stderr).to.equal(null);
      const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
      expect(await get(`http://127.0.0.1:${port}/api/v1/health`)).to.equal(200);
      await until('the request in the log', () => /request completed/.test(stderr), 30_000, () => stderr);
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      expect(proc.exitCode, stderr).to.equal(0);
      return { stdout, stderr };
    }

    function expectAllJson(text: string): any[] {
      return lines(text).map((l) => {
        const record = parse(l);
        expect(record, `not a JSON line: ${l}`).to.be.an('object');
        expect(record).to.include.keys('level', 'time', 'msg');
        return record;
      });
    }

    it('writes JSON lines only, on stdout and stderr, when they are not a terminal (default) and with --log-format json', async () => {
      for (const extra of [[], ['--log-format', 'json']]) {
        const { stdout, stderr } = await pipedRun(extra);
        const out = expectAllJson(stdout);
        const err = expectAllJson(stderr);
        const listening = out.find((r) => /^Ascend collector listening on/.test(r.msg));
        expect(listening).to.deep.include({ level: 30, storage: 'sqlite' });
        expect(listening.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(out.find((r) => /^Bootstrap admin token written to/.test(r.msg)).bootstrapTokenFile).to.match(/bootstrap-admin-token$/);
        expect(out.at(-1)).to.deep.include({ msg: 'Stopped (SIGTERM).', signal: 'SIGTERM' });
        expect(err.find((r) => r.level === 40).msg).to.match(/^serving plain HTTP on 127\.0\.0\.1/);
        expect(err.find((r) => r.msg === 'request completed').res).to.deep.equal({ statusCode: 200 });
      }
    });

    it('writes human lines only with --log-format human: the request log too', async () => {
      const { stdout, stderr } = await pipedRun(['--log-format', 'human']);
      for (const l of [...lines(stdout), ...lines(stderr)]) expect(parse(l), `a JSON line: ${l}`).to.equal(undefined);
      expect(stdout).to.match(/^Ascend collector listening on http:\/\/127\.0\.0\.1:\d+ \(storage: sqlite\)$/m);
      expect(stderr).to.match(/^Warning: serving plain HTTP on 127\.0\.0\.1/m);
      expect(stderr).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  request completed \(reqId=req-\d+\) \(status 200\) \(\d+\.\d ms\)$/m);
    });

    /** Runs the collector on a pseudo-terminal (script from util-linux); `prefix` runs in its shell first. */
    async function ptyRun(prefix: string): Promise<string> {
      const data = mkdtempSync(path.join(tmp, 'collector-pty-'));
      const pidFile = path.join(data, 'pid');
      const env: NodeJS.ProcessEnv = { ...process.env, ASCEND_LOG_LEVEL: 'info', H20A_BIN: bin, H20A_DATA: data, H20A_PID: pidFile, H20A_NODE: process.execPath };
      delete env.JOURNAL_STREAM;
      const inner = `${prefix} echo $$ > "$H20A_PID"; exec "$H20A_NODE" "$H20A_BIN" server start --port 0 --insecure-http --data "$H20A_DATA"`;
      const proc = spawn('script', ['-qefc', inner, '/dev/null'], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
      started.push(proc);
      let output = '';
      proc.stdout?.on('data', (b: Buffer) => (output += b.toString()));
      proc.stderr?.on('data', (b: Buffer) => (output += b.toString()));
      await until('the collector to listen on the terminal', () => /Stop with Ctrl\+C/.test(output) || proc.exitCode !== null, 60_000, () => output);
      expect(proc.exitCode, output).to.equal(null);
      const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
      expect(await get(`http://127.0.0.1:${port}/api/v1/health`)).to.equal(200);
      await until('the request in the log', () => /request completed/.test(output), 30_000, () => output);
      const exited = new Promise((r) => proc.once('exit', r));
      process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
      await exited;
      return output;
    }

    it('writes human lines on a terminal, and JSON lines when stderr is the journal stream (JOURNAL_STREAM)', async function () {
      requireComponent(this, commandWorks('script', ['-qc', 'true', '/dev/null']), 'script (util-linux)', 'apt-get install util-linux');
      const human = await ptyRun('');
      for (const l of lines(human)) expect(parse(l), `a JSON line on the terminal: ${l}`).to.equal(undefined);
      expect(human).to.match(/^Ascend collector listening on http:\/\/127\.0\.0\.1:\d+ \(storage: sqlite\)\r?$/m);
      expect(human).to.match(/ INFO  request completed \(reqId=req-\d+\) \(status 200\)/);
      expect(human).to.match(/^Stopped \(SIGTERM\)\.\r?$/m);

      // systemd's JOURNAL_STREAM names the device and inode of the stream it connected to the journal.
      const journal = await ptyRun('JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2); export JOURNAL_STREAM;');
      const records = lines(journal).map((l) => parse(l));
      expect(records.every((r) => r !== undefined && typeof r.msg === 'string'), journal).to.equal(true);
      expect(records.some((r) => r.msg === 'request completed')).to.equal(true);

      // A JOURNAL_STREAM inherited from elsewhere (not this stderr) does not turn the terminal's lines into JSON.
      const inherited = await ptyRun('JOURNAL_STREAM=1:1; export JOURNAL_STREAM;');
      for (const l of lines(inherited)) expect(parse(l), `a JSON line on the terminal: ${l}`).to.equal(undefined);
    });

    it('refuses an unknown --log-format', () => {
      const r = ascend(['server', 'start', '--log-format', 'xml', '--insecure-http', '--port', '0', '--data', path.join(tmp, 'never')]);
      expect(oneLineError(r)).to.match(/^Error: Expected --log-format=xml to be one of: human, json/);
      expect(r.status).to.equal(2);
      expect(existsSync(path.join(tmp, 'never'))).to.equal(false);
    });
  });

  describe('4. policy list, policy show and the help', () => {
    it('policy list shows the registry key, ranges and defaults of every policy', () => {
      const r = ascend(['policy', 'list']);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.include('ClientDataCollection  Client data collection [Client Data Collection]\n  key: HKLM\\SOFTWARE\\Policies\\Ascend\\PrivilegeManager\\ClientDataCollection\n');
      expect(r.stdout).to.match(/^ {2}CollectorHost +text up to 255 characters, required \(no default\)$/m);
      expect(r.stdout).to.match(/^ {2}CollectorPort +decimal 1\.\.65535, default 8003$/m);
      expect(r.stdout).to.match(/^ {2}UseTls +boolean, default true$/m);
      expect(r.stdout).to.match(/^ {2}IntegrityLevel +one of Medium \| High \| System, default High$/m);
      expect(r.stdout).to.match(/^ {2}AccountPrefix +text up to 12 characters, default "ascend_"$/m);
      expect(r.stdout).to.match(/^ {2}Rules +list of name=value items, default empty \(additive/m);
      expect(r.stdout).to.include('  key: HKLM\\SOFTWARE\\Policies\\Ascend\\PrivilegeManager\\Blacklist\n');
    });

    it('policy show ID gives one policy in full, any case, and --json its definition', () => {
      const r = ascend(['policy', 'show', 'temporarysessionelevation']);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^TemporarySessionElevation: Instant On Demand Privilege Elevation$/m);
      expect(r.stdout).to.include('  key: HKLM\\SOFTWARE\\Policies\\Ascend\\PrivilegeManager\\TemporarySessionElevation\n');
      expect(r.stdout).to.include('  state: value Enabled: Enabled = REG_DWORD 1, Disabled = REG_DWORD 0\n');
      expect(r.stdout).to.include('    value IntegrityLevel: Medium = REG_SZ "Medium", High = REG_SZ "High", System = REG_SZ "System"\n');
      expect(r.stdout).to.include('    values in HKLM\\SOFTWARE\\Policies\\Ascend\\PrivilegeManager\\TemporarySessionElevation\\Groups: each item is its own value name, REG_SZ; the key is emptied first (**delvals.)\n');
      expect(r.stdout).to.match(/^Explain text:\n {2}Configures Temporary Session Elevation/m);
      const j = ascend(['policy', 'show', 'ClientDataCollection', '--json']);
      expect(j.status, j.stderr).to.equal(0);
      expect(j.json.policy).to.deep.equal(ascend(['policy', 'list', '--json']).json.policies.find((p: any) => p.id === 'ClientDataCollection'));
      const unknown = ascend(['policy', 'show', 'NoSuchPolicy', '--json']);
      expect(unknown.json.error.code).to.equal('ASC_POLICY_UNKNOWN');
      expect(oneLineError(ascend(['policy', 'show', 'NoSuchPolicy']))).to.match(/no policy "NoSuchPolicy"/);
    });

    it('no flag help shows "[default: ]": no command defines a list flag with an empty default', () => {
      const manifest = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, { flags: Record<string, { default?: unknown }> }> };
      const empty = Object.entries(manifest.commands).flatMap(([id, c]) => Object.entries(c.flags).filter(([, f]) => Array.isArray(f.default) && f.default.length === 0).map(([name]) => `${id} --${name}`));
      expect(empty).to.deep.equal([]);
      for (const cmd of [['pol', 'set'], ['gpo', 'set'], ['rules', 'add'], ['passcode', 'new'], ['keys', 'publish']]) {
        const help = ascend([...cmd, '--help']);
        expect(help.status).to.equal(0);
        expect(help.stdout, cmd.join(' ')).to.not.include('[default: ]');
      }
    });

    it('every help example keeps its backslashes when pasted into a POSIX shell (CORP\\Helpdesk quoted)', () => {
      const manifest = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, { examples?: (string | { command: string })[] }> };
      const lost: string[] = [];
      for (const [id, c] of Object.entries(manifest.commands)) {
        for (const ex of c.examples ?? []) {
          const text = typeof ex === 'string' ? ex : ex.command;
          if (shellEatsBackslash(text)) lost.push(`${id}: ${text}`);
        }
      }
      expect(lost).to.deep.equal([]);
      const help = ascend(['pol', 'set', '--help']).stdout;
      expect(help).to.include('"Groups=S-1-5-32-544,CORP\\Helpdesk"');
      // And the quoted example, run through a real shell, hands the backslash over.
      const words = spawnSync('sh', ['-c', `printf '%s\\n' --value "Groups=S-1-5-32-544,CORP\\Helpdesk"`], { encoding: 'utf8' }).stdout;
      expect(words).to.include('Groups=S-1-5-32-544,CORP\\Helpdesk\n');
    });
  });
});

/**
 * Whether a POSIX shell would take a backslash of this command line away: one outside quotes,
 * or one inside double quotes before $ ` " \ (which it then escapes).
 */
export function shellEatsBackslash(line: string): boolean {
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = '';
    } else if (quote === '"') {
      if (c === '"') quote = '';
      else if (c === '\\' && '$`"\\'.includes(line[i + 1] ?? '')) return true;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '\\') return true;
  }
  return false;
}
